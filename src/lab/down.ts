// `twill-lab down`: stops the lab's processes (by PID and start time, in reverse order of start)
// and deletes its namespaces by exact name, then its directory — also after a lab whose processes
// were killed or whose bring-up failed half way. Nothing of the machine's own is touched.
import { rmSync } from 'node:fs';
import { delNetns, isAlive, netnsExists, stopProc } from './procs.js';
import { labDir, requireState } from './state.js';
import { removeFrrScratch } from './tor.js';

export interface DownReport {
  name: string;
  stopped: number;
  namespaces: number;
}

export async function labDown(name: string): Promise<DownReport> {
  const s = requireState(name);
  let stopped = 0;
  const order = ['server', 'node', 'tor', 'bridge', 'etcd'];
  // By role in that order; within a role, the last started first (FRR's bgpd before its zebra).
  const procs = s.procs.map((p, i) => ({ p, i })).sort((a, b) => order.indexOf(a.p.role) - order.indexOf(b.p.role) || b.i - a.i).map((x) => x.p);
  // Servers go all at once; the rest in order (nodes before the datastore they talk to).
  const servers = procs.filter((p) => p.role === 'server');
  stopped += servers.filter((p) => isAlive(p)).length;
  await Promise.all(servers.map((p) => stopProc(p, 1000)));
  for (const p of procs.filter((x) => x.role !== 'server')) {
    if (isAlive(p)) stopped++;
    await stopProc(p);
  }
  for (const p of procs.filter((x) => x.role === 'tor')) removeFrrScratch(p);
  let namespaces = 0;
  for (const ns of [...s.namespaces].reverse()) {
    if (netnsExists(ns)) namespaces++;
    delNetns(ns);
  }
  rmSync(labDir(name), { recursive: true, force: true });
  return { name, stopped, namespaces };
}
