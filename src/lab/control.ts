// `twill-lab stop|start|restart PART`: one process of a running lab — a host's twill-node (the
// host's name), a top-of-rack BIRD (`tor-RACK`) or the datastore (`etcd`) — stopped as an operator
// would (gracefully) or as a crash would (`--kill`: SIGKILL), and started again with the argv it
// was first started with, the state updated to the new PID. `start` returns once the part is back:
// a node answering, ready, every session Established; a ToR's sessions Established and its
// graceful-restart recovery over; etcd healthy.
//
// Graceful stops keep the forwarding plane: twill-node on SIGTERM leaves its routes and rules in
// the kernel (and its peers keep its routes: graceful restart); BIRD is stopped with
// `birdc graceful restart`, which keeps its kernel routes, and started again with `-R` (recovery:
// the kernel table is not touched until every peer has sent End-of-RIB).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TwillError } from '../errors.js';
import { hostReadiness } from './readiness.js';
import { isAlive, killProc, startDetached, stopProc, type ProcRecord } from './procs.js';
import { nodeSessions } from './sessions.js';
import { requireState, updateState, type LabState } from './state.js';
import { until } from './up.js';

export class LabControlError extends TwillError {
  constructor(message: string, hint: string) {
    super('LabControl', message, { hint });
  }
}

export interface ControlOptions {
  /** SIGKILL instead of a graceful stop (a crash). */
  kill?: boolean;
  /** Seconds `start` waits for the part to be back (default 120). */
  timeoutS?: number;
}

/** What a stop or start did, in words. */
export interface ControlResult {
  part: string;
  action: 'stopped' | 'killed' | 'already stopped' | 'started' | 'already running';
  pid?: number;
}

const ROLES = ['node', 'tor', 'etcd'] as const;


/** The process record a part names: a host (its twill-node), tor-RACK (its BIRD), or etcd. */
export function findPart(s: LabState, part: string): ProcRecord {
  const p = s.procs.find((x) => (ROLES as readonly string[]).includes(x.role) && x.name === part);
  if (!p) {
    const parts = s.procs.filter((x) => (ROLES as readonly string[]).includes(x.role)).map((x) => x.name);
    throw new LabControlError(`${part} is not a part of lab ${s.name} that can be stopped or started`, `use a host (its twill-node), a ToR or etcd: ${parts.join(', ')}`);
  }
  return p;
}

async function gone(p: ProcRecord, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(p)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

function birdCtl(s: LabState, p: ProcRecord): string {
  return join(s.dir, `${p.name}.ctl`);
}

export async function labStop(name: string, part: string, o: ControlOptions = {}): Promise<ControlResult> {
  const s = requireState(name);
  const p = findPart(s, part);
  if (!isAlive(p)) return { part, action: 'already stopped' };
  if (o.kill) {
    killProc(p, 'SIGKILL');
    if (!(await gone(p, 5000))) throw new LabControlError(`${part} (pid ${p.pid}) did not die on SIGKILL`, 'look at it with ps; "twill-lab down" stops it too');
    return { part, action: 'killed', pid: p.pid };
  }
  if (p.role === 'tor') {
    // Keeps BIRD's kernel routes and tells its peers to hold its routes (graceful restart).
    const r = spawnSync('birdc', ['-s', birdCtl(s, p), 'graceful', 'restart'], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0 || !(await gone(p, 10_000))) await stopProc(p); // no control socket: SIGTERM (BIRD then removes its routes)
  } else {
    await stopProc(p, 10_000);
  }
  return { part, action: 'stopped', pid: p.pid };
}

async function torBack(s: LabState, p: ProcRecord): Promise<boolean> {
  const ctl = birdCtl(s, p);
  const status = spawnSync('birdc', ['-s', ctl, 'show', 'status'], { encoding: 'utf8', timeout: 5000 });
  if (status.status !== 0 || /recovery in progress/i.test(status.stdout)) return false;
  const protos = spawnSync('birdc', ['-s', ctl, 'show', 'protocols'], { encoding: 'utf8', timeout: 5000 });
  const bgp = protos.stdout.split('\n').filter((l) => /\sBGP\s/.test(l));
  return protos.status === 0 && bgp.length > 0 && bgp.every((l) => /Established/.test(l));
}

async function nodeBack(s: LabState, p: ProcRecord): Promise<boolean> {
  const host = s.plan.hosts.find((h) => h.name === p.name)!;
  const st = await nodeSessions(join(s.dir, `${p.name}.sock`));
  if (!st.ok || st.peers.length === 0 || st.peers.some((x) => x.state !== 'Established')) return false;
  return (await hostReadiness(host.ns)).ready;
}

async function etcdBack(s: LabState): Promise<boolean> {
  const r = await fetch(`http://127.0.0.1:${s.etcd!.port}/health`);
  return r.ok && ((await r.json()) as { health?: string }).health === 'true';
}

export async function labStart(name: string, part: string, o: ControlOptions = {}): Promise<ControlResult> {
  const s = requireState(name);
  const p = findPart(s, part);
  if (isAlive(p)) return { part, action: 'already running', pid: p.pid };
  // BIRD starts in graceful-restart recovery: its kernel routes stay until its peers are back.
  const argv = p.role === 'tor' && !p.argv.includes('-R') ? [p.argv[0]!, '-R', ...p.argv.slice(1)] : p.argv;
  const np = startDetached(p.role, p.name, argv, p.log, p.ns);
  updateState(name, (now) => {
    now.procs[now.procs.findIndex((x) => x.role === p.role && x.name === p.name)] = np;
  });
  const timeoutMs = (o.timeoutS ?? 120) * 1000;
  const back = async (): Promise<boolean | 'exited'> => {
    if (!isAlive(np)) return 'exited';
    return p.role === 'tor' ? torBack(s, np) : p.role === 'node' ? nodeBack(s, np) : etcdBack(s);
  };
  const what = p.role === 'tor' ? `${part}'s BGP sessions to be Established and its recovery over` : p.role === 'node' ? `${part} to be ready with every BGP session Established` : 'etcd to be healthy';
  if ((await until(what, back, timeoutMs)) === 'exited') throw new LabControlError(`${part} exited right after its start`, `see its log: ${np.log}`);
  return { part, action: 'started', pid: np.pid };
}

export async function labRestart(name: string, part: string, o: ControlOptions = {}): Promise<ControlResult[]> {
  const stopped = await labStop(name, part, o);
  return [stopped, await labStart(name, part, o)];
}
