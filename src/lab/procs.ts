// The lab's processes and namespaces as the machine sees them: started detached (they outlive
// `twill-lab up`), remembered by PID *and* start time (a PID reused by an unrelated process is
// never signalled), stopped by PID. Namespaces are created and deleted by exact name.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, closeSync } from 'node:fs';

export interface ProcRecord {
  role: string;
  name: string;
  pid: number;
  /** /proc/PID/stat field 22 (clock ticks since boot) at start. */
  startTime: number;
  log: string;
  /** The argv, for restarts. */
  argv: string[];
  ns?: string;
}

export function procStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[19]);
  } catch {
    return undefined;
  }
}

/** True while the process recorded is the one running under that PID. */
export function isAlive(p: Pick<ProcRecord, 'pid' | 'startTime'>): boolean {
  const st = procStartTime(p.pid);
  if (st !== p.startTime) return false;
  try {
    const state = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    return !/\) Z /.test(state);
  } catch {
    return false;
  }
}

/** Starts argv detached (own session), inside `ns` when given, output appended to `log`. */
export function startDetached(role: string, name: string, argv: string[], log: string, ns?: string, env?: NodeJS.ProcessEnv): ProcRecord {
  const fd = openSync(log, 'a');
  const full = ns ? ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv] : argv;
  const child = spawn(full[0]!, full.slice(1), { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
  closeSync(fd);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${name}: ${full.join(' ')}`);
  let startTime = procStartTime(pid);
  for (let i = 0; startTime === undefined && i < 50; i++) startTime = procStartTime(pid);
  return { role, name, pid, startTime: startTime ?? -1, log, argv, ...(ns ? { ns } : {}) };
}

/** SIGTERM, then SIGKILL after graceMs; only if the record still names the running process. */
export async function stopProc(p: ProcRecord, graceMs = 5000): Promise<void> {
  if (!isAlive(p)) return;
  try {
    process.kill(p.pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(p)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (isAlive(p)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

export function killProc(p: ProcRecord, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (!isAlive(p)) return;
  try {
    process.kill(p.pid, signal);
  } catch {
    /* gone */
  }
}

export function netnsExists(ns: string): boolean {
  return existsSync(`/run/netns/${ns}`);
}

export function run(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input: opts.input ?? '', timeout: opts.timeoutMs ?? 30_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

export function ip(args: string[]): void {
  run('ip', args);
}

export function addNetns(ns: string): void {
  if (netnsExists(ns)) throw new Error(`network namespace ${ns} already exists: is a lab of that name up? (twill-lab down --name …)`);
  ip(['netns', 'add', ns]);
  ip(['-n', ns, 'link', 'set', 'lo', 'up']);
}

export function delNetns(ns: string): void {
  if (netnsExists(ns)) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
}
