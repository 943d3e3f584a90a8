// `twill-lab up`: builds the plan on this machine — namespaces and LANs, a real etcd, one twill-node
// per host, a BIRD or FRR router per rack, workloads added through twill-cni exactly as a runtime
// calls it, and servers on their declared ports — and returns once every endpoint is programmed
// and every BGP session (the hosts' and the ToRs') is up. Every step is recorded in the lab's state before it happens, so `down` can undo
// a bring-up that failed half way.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { TwillError, errorMessage } from '../errors.js';
import { openDatastore, type Datastore } from '../datastore/index.js';
import type { WorkloadEndpointResource } from '../api/types.js';
import type { LabModel } from './model.js';
import { planLab, type LabPlan, type PlannedWorkload } from './plan.js';
import { PROGRAMS, checkTools } from './paths.js';
import { addNetns, ip, isAlive, run, startDetached, type ProcRecord } from './procs.js';
import { labDir, loadState, saveState, type LabState, type WorkloadState } from './state.js';
import { nodeSessions } from './sessions.js';
import { isEstablished, startTor, torProcName, torSessions, torTools } from './tor.js';
import { HEALTH_PORT } from './readiness.js';

export class LabUpError extends TwillError {
  constructor(message: string, hint: string, cause?: unknown) {
    super('LabUp', message, { hint, cause });
  }
}

export interface UpOptions {
  name?: string;
  /** The model file's folder (for `apply:` paths). */
  baseDir: string;
  /** Progress lines. */
  say: (line: string) => void;
  /** Seconds to wait for sessions and endpoints (default 180). */
  timeoutS?: number;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => res(port));
    });
  });
}

/** Polls f every 250 ms until it gives a value; a timeout names what was awaited and the last error; a LabUpError thrown by f ends the wait at once. */
export async function until<T>(what: string, f: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const v = await f();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      if (e instanceof LabUpError) throw e; // a verdict (e.g. a process exited), not a try that failed
      last = errorMessage(e);
    }
    if (Date.now() > deadline) throw new LabUpError(`timed out waiting for ${what}${last ? ` (last error: ${last})` : ''}`, 'look at the logs in the lab directory (twill-lab status shows it); then "twill-lab down"');
    await new Promise((r) => setTimeout(r, 250));
  }
}

function sysctl(ns: string, kv: string): void {
  run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', kv]);
}

class Bringup {
  readonly state: LabState;
  constructor(
    model: LabModel,
    plan: LabPlan,
    private readonly o: UpOptions,
  ) {
    this.state = { name: plan.name, createdAt: new Date().toISOString(), dir: labDir(plan.name), model, plan, namespaces: [], procs: [], workloads: [], ready: false };
  }

  private save(): void {
    saveState(this.state);
  }

  private ns(name: string): void {
    this.state.namespaces.push(name);
    this.save();
    addNetns(name);
  }

  private proc(p: ProcRecord): ProcRecord {
    this.state.procs.push(p);
    this.save();
    return p;
  }

  private log(name: string): string {
    return join(this.state.dir, `${name}.log`);
  }

  network(): void {
    const { plan } = this.state;
    for (const lan of plan.lans) this.ns(lan.ns);
    for (const h of plan.hosts) this.ns(h.ns);
    for (const t of plan.tors) this.ns(t.ns);
    for (const o of plan.outside) this.ns(o.ns);
    for (const lan of plan.lans) {
      ip(['-n', lan.ns, 'link', 'add', lan.bridge, 'type', 'bridge']);
      ip(['-n', lan.ns, 'link', 'set', lan.bridge, 'up']);
      lan.members.forEach((m, i) => {
        const port = `p${i + 1}`;
        // Created inside the member's namespace with its peer straight in the switch's: never in ours.
        ip(['-n', m.ns, 'link', 'add', m.ifName, 'type', 'veth', 'peer', 'name', port, 'netns', lan.ns]);
        ip(['-n', lan.ns, 'link', 'set', port, 'master', lan.bridge]);
        ip(['-n', lan.ns, 'link', 'set', port, 'up']);
        ip(['-n', m.ns, 'addr', 'add', m.cidr, 'dev', m.ifName]);
        ip(['-n', m.ns, 'link', 'set', m.ifName, 'up']);
      });
    }
    for (const h of plan.hosts) {
      ip(['-n', h.ns, 'route', 'add', 'default', 'via', h.gateway]);
      sysctl(h.ns, 'net.ipv4.ip_forward=1');
    }
    for (const t of plan.tors) sysctl(t.ns, 'net.ipv4.ip_forward=1');
    for (const o of plan.outside) ip(['-n', o.ns, 'route', 'add', 'default', 'via', o.gateway]);
  }

  async etcd(): Promise<string> {
    const port = await freePort();
    const peer = await freePort();
    const dataDir = join(this.state.dir, 'etcd');
    const url = `http://127.0.0.1:${port}`;
    this.state.etcd = { port, dataDir };
    this.state.datastore = `etcd://127.0.0.1:${port}`;
    this.proc(
      startDetached('etcd', 'etcd', [
        'etcd',
        '--name', 'twill-lab',
        '--data-dir', dataDir,
        '--listen-client-urls', url,
        '--advertise-client-urls', url,
        '--listen-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
        '--initial-cluster', `twill-lab=http://127.0.0.1:${peer}`,
        '--log-level', 'warn',
      ], this.log('etcd')),
    );
    await until('etcd to answer', async () => {
      const r = await fetch(`${url}/health`);
      return r.ok && ((await r.json()) as { health?: string }).health === 'true';
    }, 30_000);
    // Each host reaches etcd on its own loopback, through a unix socket that crosses namespaces.
    for (const h of this.state.plan.hosts) {
      const sock = join(this.state.dir, `etcd-${h.name}.sock`);
      this.proc(startDetached('bridge', `etcd-bridge-${h.name}-out`, ['socat', `UNIX-LISTEN:${sock},fork,unlink-early`, `TCP:127.0.0.1:${port}`], this.log('bridges')));
      await until(`etcd bridge socket for ${h.name}`, () => existsSync(sock), 10_000);
      this.proc(startDetached('bridge', `etcd-bridge-${h.name}-in`, ['socat', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${sock}`], this.log('bridges'), h.ns));
    }
    return this.state.datastore;
  }

  async resources(ds: Datastore): Promise<void> {
    for (const r of this.state.plan.resources) await ds.upsert(r);
    for (const f of this.state.model.apply) {
      const file = resolve(this.o.baseDir, f);
      const r = spawnSync(process.execPath, [PROGRAMS.twillctl, 'apply', '-f', file, '--datastore', this.state.datastore!], { encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) throw new LabUpError(`twillctl apply -f ${file} failed:\n${r.stdout}${r.stderr}`, 'fix the resource file named in the model\'s apply: list');
      this.o.say(`  applied ${f}`);
    }
  }

  async routers(): Promise<void> {
    for (const t of this.state.plan.tors) await startTor(t, this.state.dir, this.log(torProcName(t)), (p) => this.proc(p));
  }

  nodes(): void {
    for (const h of this.state.plan.hosts) {
      this.proc(
        startDetached(
          'node',
          h.name,
          [process.execPath, PROGRAMS.node, '--node-name', h.name, '--datastore', this.state.datastore!, '--node-ip', `${h.addr}/24`, '--api-socket', join(this.state.dir, `${h.name}.sock`), '--cni-socket', cniSocket(this.state, h.name), '--health-port', String(HEALTH_PORT), '--metrics-port', String(HEALTH_PORT)],
          this.log(h.name),
          h.ns,
        ),
      );
    }
  }

  /** CNI ADD exactly as a Kubernetes node's runtime calls it (env + config on stdin), from the host's namespace. */
  addWorkload(w: PlannedWorkload): WorkloadState {
    this.ns(w.ns);
    const ws = cniAdd(this.state, w);
    this.state.workloads.push(ws);
    this.save();
    const server = startServer(this.state, w);
    if (server) this.proc(server);
    return ws;
  }

  async waitReady(ds: Datastore): Promise<void> {
    const timeoutMs = (this.o.timeoutS ?? 180) * 1000;
    const dead = (): string | undefined => this.state.procs.find((p) => (p.role === 'node' || p.role === 'tor' || p.role === 'etcd') && !isAlive(p))?.name;
    await until('every BGP session to be Established', async () => {
      const d = dead();
      if (d) throw new LabUpError(`${d} exited`, `see ${this.log(d)}`);
      for (const h of this.state.plan.hosts) {
        const s = await nodeSessions(join(this.state.dir, `${h.name}.sock`));
        if (!s.ok || s.peers.length === 0 || s.peers.some((p) => p.state !== 'Established')) return false;
      }
      for (const t of this.state.plan.tors) {
        const s = await torSessions(t, this.state.dir);
        if (!s.ok || !s.sessions.every(isEstablished)) return false;
      }
      return true;
    }, timeoutMs);
    await until('every endpoint to be programmed', async () => {
      const weps = (await ds.list<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint' })).items;
      return weps.length >= this.state.workloads.length && weps.every((w) => w.status?.programmed === true);
    }, timeoutMs);
  }
}

/** Runs twill-cni with `command` for w, from its host's namespace, as a runtime does; its stdout, or a LabUpError. */
export function cniCall(s: LabState, w: PlannedWorkload, command: 'ADD' | 'DEL'): string {
  const r = spawnSync('nsenter', [`--net=/run/netns/${w.hostNs}`, '--', ...cniPlugin(s)], {
    input: JSON.stringify(cniConfig(s, w)),
    encoding: 'utf8',
    timeout: 60_000,
    env: cniEnv(command, w),
  });
  if (r.status !== 0) {
    const why = `${r.stdout.trim()}${r.stderr.trim() ? `\n${r.stderr.trim()}` : ''}${r.error ? ` (${r.error.message})` : ''}`;
    throw new LabUpError(`twill-cni ${command} for ${w.id} failed: ${why}`, 'see the twill-node log of that host in the lab directory');
  }
  return r.stdout;
}

/** Where `twill-cni install` puts the lab's plugin (in the lab's directory). */
function cniBinDir(s: LabState): string {
  return join(s.dir, 'cni-bin');
}

/** Installs twill-cni for the lab as a user does (`twill-cni install`): the plugin runtimes run. */
export function installCni(s: LabState): void {
  const r = spawnSync(process.execPath, [PROGRAMS.cni, 'install', '--bin-dir', cniBinDir(s), '--conf-dir', join(s.dir, 'cni-net.d')], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0) throw new LabUpError(`twill-cni install failed: ${r.stderr.trim() || r.error?.message}`, 'check that Twill is built (npm run build)');
}

/** The installed plugin (the sh client); the Node program for a lab made before it was installed. */
function cniPlugin(s: LabState): string[] {
  const installed = join(cniBinDir(s), 'twill-cni');
  return existsSync(installed) ? [installed] : [process.execPath, PROGRAMS.cni];
}

/** CNI ADD for w (its namespace exists): the workload as the state records it. */
export function cniAdd(s: LabState, w: PlannedWorkload): WorkloadState {
  const res = JSON.parse(cniCall(s, w, 'ADD')) as { ips?: { address: string }[]; interfaces?: { name: string; sandbox?: string }[] };
  const iface = res.interfaces?.find((i) => !i.sandbox)?.name;
  return { id: w.id, ns: w.ns, host: w.host, ips: (res.ips ?? []).map((i) => i.address.split('/')[0]!), ...(iface ? { iface } : {}) };
}

/** TCP servers accept and write the workload's name; UDP servers answer every datagram with it (one process per workload; none without ports). */
export function startServer(s: LabState, w: PlannedWorkload): ProcRecord | undefined {
  if (w.ports.length === 0) return undefined;
  const argv = [process.execPath, PROGRAMS.serve, w.id, ...w.ports.map((p) => `${p.protocol.toLowerCase()}:${p.port}`)];
  return startDetached('server', w.id, argv, join(s.dir, 'servers.log'), w.ns);
}

export function cniEnv(command: string, w: PlannedWorkload): NodeJS.ProcessEnv {
  return {
    ...process.env,
    CNI_COMMAND: command,
    CNI_CONTAINERID: w.containerId,
    CNI_NETNS: `/run/netns/${w.ns}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: [dirname(PROGRAMS.cni), '/usr/lib/cni'].join(':'),
    CNI_ARGS: `K8S_POD_NAMESPACE=${w.namespace};K8S_POD_NAME=${w.name};K8S_POD_INFRA_CONTAINER_ID=${w.containerId}`,
  };
}

/** Where a lab host's twill-node serves CNI calls (in the lab's directory, never /run/twill). */
export function cniSocket(s: LabState, host: string): string {
  return join(s.dir, `${host}.cni.sock`);
}

export function cniConfig(s: LabState, w: PlannedWorkload): Record<string, unknown> {
  return {
    cniVersion: '1.0.0',
    name: 'twill-lab',
    type: 'twill-cni',
    datastore: s.datastore,
    nodename: w.host,
    socket: cniSocket(s, w.host),
    ipam: { type: 'twill-ipam' },
    kubernetes: {},
    args: {
      cni: {
        labels: Object.entries(w.labels).map(([key, value]) => ({ key, value })),
        ports: w.ports.filter((p) => p.name).map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
      },
    },
  };
}

/** Brings a lab up; on failure leaves its state for `down` and rethrows. */
export async function labUp(model: LabModel, o: UpOptions): Promise<LabState> {
  checkTools(['ip', 'nsenter', 'etcd', 'socat', 'iptables-restore', 'ipset', ...new Set(model.racks.flatMap((r) => torTools(r.tor)))]);
  const plan = planLab(model, o.name ?? model.name);
  const prev = loadState(plan.name);
  if (prev) {
    const alive = prev.procs.some((p) => isAlive(p));
    throw new LabUpError(
      `a lab named ${plan.name} ${alive ? 'is up' : 'was not taken down'} (${labDir(plan.name)})`,
      `take it down first: twill-lab down --name ${plan.name}${alive ? '' : ', or pick another name with --name'}`,
    );
  }
  rmSync(labDir(plan.name), { recursive: true, force: true });
  mkdirSync(labDir(plan.name), { recursive: true });
  const b = new Bringup(model, plan, o);
  installCni(b.state);
  const t0 = Date.now();
  o.say(`lab ${plan.name}: ${plan.hosts.length} hosts in ${plan.tors.length} rack(s), ${plan.workloads.length} workloads (state in ${labDir(plan.name)})`);
  b.network();
  o.say('  namespaces and LANs up');
  const url = await b.etcd();
  o.say(`  etcd at ${url}`);
  const ds = await openDatastore(url);
  try {
    await b.resources(ds);
    await b.routers();
    b.nodes();
    o.say(`  ${plan.tors.map((t) => `${torProcName(t)} (${t.daemon === 'frr' ? 'FRR' : 'BIRD'})`).join(', ')} and ${plan.hosts.length} twill-node(s) started`);
    await until('every twill-node to answer on its socket', async () => (await Promise.all(plan.hosts.map((h) => nodeSessions(join(b.state.dir, `${h.name}.sock`))))).every((x) => x.ok), 60_000);
    for (const w of plan.workloads) {
      const ws = b.addWorkload(w);
      o.say(`  ${w.id} on ${w.host}: ${ws.ips.join(', ')}`);
    }
    await b.waitReady(ds);
    b.state.ready = true;
    saveState(b.state);
    o.say(`lab ${plan.name} is up in ${((Date.now() - t0) / 1000).toFixed(1)} s: every endpoint programmed, every BGP session Established`);
    return b.state;
  } finally {
    await ds.close();
  }
}
