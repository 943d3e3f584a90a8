// `twill-lab down`: stops the lab's processes (by PID and start time, in reverse order of start)
// and deletes its namespaces by exact name, then its directory — also after a lab whose processes
// were killed or whose bring-up failed half way. Nothing of the machine's own is touched.
import { rmSync } from 'node:fs';
import { delNetns, isAlive, netnsExists, stopProc } from './procs.js';
import { labDir, loadState, LabStateError } from './state.js';

export interface DownReport {
  name: string;
  stopped: number;
  namespaces: number;
}

export async function labDown(name: string): Promise<DownReport> {
  const s = loadState(name);
  if (!s) throw new LabStateError(`no lab named ${name}`, 'see which labs are up with "twill-lab status"');
  let stopped = 0;
  const order = ['server', 'node', 'tor', 'bridge', 'etcd'];
  const procs = [...s.procs].sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role));
  // Servers go all at once; the rest in order (nodes before the datastore they talk to).
  const servers = procs.filter((p) => p.role === 'server');
  stopped += servers.filter((p) => isAlive(p)).length;
  await Promise.all(servers.map((p) => stopProc(p, 1000)));
  for (const p of procs.filter((x) => x.role !== 'server')) {
    if (isAlive(p)) stopped++;
    await stopProc(p);
  }
  let namespaces = 0;
  for (const ns of [...s.namespaces].reverse()) {
    if (netnsExists(ns)) namespaces++;
    delNetns(ns);
  }
  rmSync(labDir(name), { recursive: true, force: true });
  return { name, stopped, namespaces };
}
