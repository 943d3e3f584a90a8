// The top-of-rack routers at run time: started in their namespaces (BIRD: one process; FRR: zebra,
// then bgpd, each with its own config, sockets and PID file in the lab's directory, never the
// machine's /etc/frr or /run/frr), their BGP sessions read from the daemon itself (birdc / vtysh),
// and what FRR leaves outside the lab's directory removed after the processes are gone.
import { execFile } from 'node:child_process';
import { chownSync, chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { errorMessage } from '../errors.js';
import type { PlannedTor } from './plan.js';
import { isAlive, startDetached, type ProcRecord } from './procs.js';
import { birdProtocolName, type TorDaemon, type TorNeighbor } from './tor-config.js';

const execFileP = promisify(execFile);

export const FRR_DIR = '/usr/lib/frr';
/** Where FRR daemons keep a per-process scratch directory (<daemon>.<pid>), removed only on a clean exit. */
export const FRR_TMP = '/var/tmp/frr';

/** The tools a ToR daemon needs on the machine. */
export function torTools(daemon: TorDaemon): string[] {
  return daemon === 'frr' ? [join(FRR_DIR, 'zebra'), join(FRR_DIR, 'bgpd'), 'vtysh'] : ['bird', 'birdc'];
}

/** The process name of a ToR's BGP daemon in the lab's state (what status, verify and restarts look for). */
export function torProcName(t: Pick<PlannedTor, 'rack'>): string {
  return `tor-${t.rack}`;
}

function frrDir(dir: string, t: Pick<PlannedTor, 'rack'>): string {
  return join(dir, `tor-${t.rack}.frr`);
}

function birdCtl(dir: string, t: Pick<PlannedTor, 'rack'>): string {
  return join(dir, `tor-${t.rack}.ctl`);
}

function frrIds(): { uid: number; gid: number } | undefined {
  const f = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('frr:'))
    ?.split(':');
  return f ? { uid: Number(f[2]), gid: Number(f[3]) } : undefined;
}

async function waitFor(what: string, ok: () => boolean, proc: ProcRecord, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (!isAlive(proc)) throw new Error(`${what}: ${proc.name} exited (see ${proc.log})`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (see ${proc.log})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts a ToR's daemon(s) in its namespace; `record` is called with each process as soon as it
 * exists (the lab's state keeps it for `down`). FRR: zebra first (`tor-RACK-zebra`), then bgpd
 * (`tor-RACK`) once zebra's socket is there.
 */
export async function startTor(t: PlannedTor, dir: string, log: string, record: (p: ProcRecord) => void): Promise<void> {
  const name = torProcName(t);
  if (t.daemon === 'bird') {
    const conf = join(dir, `${name}.bird.conf`);
    writeFileSync(conf, t.config);
    record(startDetached('tor', name, ['bird', '-f', '-c', conf, '-s', birdCtl(dir, t), '-P', join(dir, `${name}.pid`)], log, t.ns));
    return;
  }
  const d = frrDir(dir, t);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'zebra.conf'), `hostname ${name}\n`);
  writeFileSync(join(d, 'frr.conf'), t.config);
  // FRR drops privileges to the frr user: it must own its directory and read its configs.
  const ids = frrIds();
  if (ids) for (const f of [d, join(d, 'zebra.conf'), join(d, 'frr.conf')]) chownSync(f, ids.uid, ids.gid);
  chmodSync(dir, 0o755);
  const common = ['-z', join(d, 'zserv.api'), '--vty_socket', d, '-A', '127.0.0.1', '-P', '0', '--log', 'stdout', '--log-level', 'info'];
  const zebra = startDetached('tor', `${name}-zebra`, [join(FRR_DIR, 'zebra'), '-f', join(d, 'zebra.conf'), '-i', join(d, 'zebra.pid'), ...common], log, t.ns);
  record(zebra);
  await waitFor(`zebra of ${name}`, () => existsSync(join(d, 'zserv.api')), zebra, 20_000);
  record(startDetached('tor', name, [join(FRR_DIR, 'bgpd'), '-f', join(d, 'frr.conf'), '-i', join(d, 'bgpd.pid'), ...common], log, t.ns));
}

export interface TorSession {
  peerAddress: string;
  /** "host h1" or "tor r2". */
  peer: string;
  /** The BGP state as the daemon names it (Established, Active, Connect, ...). */
  state: string;
  info?: string;
}

export interface TorSessions {
  /** The daemon answered. */
  ok: boolean;
  sessions: TorSession[];
  error?: string;
}

/** A session is up, whichever daemon reports it. */
export function isEstablished(s: TorSession): boolean {
  return s.state === 'Established';
}

/** `birdc show protocols`: "host_h1  BGP  ---  up  12:00:00.000  Established". */
export function parseBirdProtocols(out: string, neighbors: TorNeighbor[]): TorSession[] {
  const rows = new Map<string, { state: string; info?: string }>();
  for (const line of out.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[1] !== 'BGP') continue;
    const info = f.slice(5).join(' ');
    // BIRD's last column is the BGP state when the protocol is up or starting ("Established",
    // "Active", "Connect"...); a protocol that is down shows its own state ("down").
    rows.set(f[0]!, { state: f[3] === 'up' ? 'Established' : info.split(/\s+/)[0] || f[3]!, ...(info ? { info } : {}) });
  }
  return neighbors.map((n) => {
    const r = rows.get(birdProtocolName(n));
    return { peerAddress: n.addr, peer: `${n.kind} ${n.name}`, state: r?.state ?? 'Unknown', ...(r?.info ? { info: r.info } : {}) };
  });
}

/** `vtysh -c 'show bgp summary json'`. */
export function parseFrrSummary(json: string, neighbors: TorNeighbor[]): TorSession[] {
  const j = JSON.parse(json || '{}') as { ipv4Unicast?: { peers?: Record<string, { state?: string; peerState?: string }> } };
  const peers = j.ipv4Unicast?.peers ?? {};
  return neighbors.map((n) => {
    const p = peers[n.addr];
    return { peerAddress: n.addr, peer: `${n.kind} ${n.name}`, state: p?.state ?? 'Unknown', ...(p?.peerState && p.peerState !== 'OK' ? { info: p.peerState } : {}) };
  });
}

/** The ToR's sessions, from its own daemon. */
export async function torSessions(t: PlannedTor, dir: string): Promise<TorSessions> {
  try {
    if (t.daemon === 'bird') {
      const { stdout } = await execFileP('birdc', ['-s', birdCtl(dir, t), 'show', 'protocols'], { timeout: 10_000 });
      return { ok: true, sessions: parseBirdProtocols(stdout, t.neighbors) };
    }
    const { stdout } = await execFileP('vtysh', ['--vty_socket', frrDir(dir, t), '-c', 'show bgp summary json'], { timeout: 10_000 });
    return { ok: true, sessions: parseFrrSummary(stdout, t.neighbors) };
  } catch (e) {
    return { ok: false, sessions: [], error: errorMessage(e) };
  }
}

/**
 * After a lab's FRR daemons are gone: their scratch directories in /var/tmp/frr (FRR removes its
 * own only on a clean exit, so a killed daemon leaves one). Only the directory named for the
 * recorded daemon and PID, and only while no process of that name runs under that PID.
 */
export function removeFrrScratch(p: ProcRecord): void {
  const prog = p.argv[0];
  if (!prog || !prog.startsWith(`${FRR_DIR}/`) || isAlive(p)) return;
  const daemon = basename(prog);
  try {
    // "PID (comm) S ...": a live process of that name under that PID is another lab's (a zombie is not).
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    if (stat.includes(`(${daemon}) `) && !stat.includes(`(${daemon}) Z`)) return;
  } catch {
    /* no such process */
  }
  rmSync(join(FRR_TMP, `${daemon}.${p.pid}`), { recursive: true, force: true });
}
