// `npm run bench -- cni [--n 100] [--par 10] [--policy-timeout 10 (0: do not wait)] [--inproc 20 (0: skip)]`: twill-cni ADD / DEL latency, run exactly as a
// runtime runs it (nsenter into a host namespace running twill-node, env + stdin), with IPAM in
// a real etcd and the policy programmed before ADD returns; next to Debian's ptp + host-local
// measured the same way in the same run. twill-cni is the plugin `twill-cni install` writes (the
// sh client, src/cni/thin-client.sh), measured handing its calls to twill-node (its CNI socket;
// the product path), and in-process (no server: the Node program; at most 20 calls, it is slow).
// Prints
//   cni add_p50_ms=… add_p99_ms=… del_p50_ms=… par10_adds_per_s=… ref_add_p50_ms=… ratio=…
// and where a served ADD's time goes: client_floor_ms (p50 of a VERSION call handed to twill-node:
// the sh client's start-up, socat and a round trip on the socket), node_add_ms (mean time twill-node spent on a sequential ADD,
// from its twill_cni_call_seconds metric), node_<step>_ms (mean time from the ADD's start until
// the step was done: ipam; veth and endpoint (written in parallel); programmed), and felix's
// applies per ADD with their mean time and the part of it inside iptables-restore / ipset.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openDatastore } from '../../src/datastore/index.js';
import { API_VERSION } from '../../src/api/types.js';
import { startBenchEtcd } from './ipam-etcd.js';
import { runLimited as pool } from './concurrency.js';

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
// The Node program; `CNI_MAIN install` writes the plugin a runtime runs.
const CNI_MAIN = join(DIST, 'src/cni/client.cjs');
const NODE_MAIN = join(DIST, 'src/node/main.js');

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

interface Call {
  ms: number;
  code: number | null;
  out: string;
}

function call(hostNs: string, argv: string[], env: Record<string, string>, stdin: string): Promise<Call> {
  return new Promise((done) => {
    const t0 = performance.now();
    const p = spawn('nsenter', [`--net=/run/netns/${hostNs}`, ...argv], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.stdin.on('error', () => undefined);
    p.stdin.end(stdin);
    p.on('close', (code) => done({ ms: performance.now() - t0, code, out }));
  });
}

/** CPU time (ms) the whole machine has spent busy so far, all cores (/proc/stat). */
function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …: busy = all but idle and iowait.
  const busy = f.reduce((a, b) => a + b, 0) - f[3]! - f[4]!;
  return (busy * 1000) / 100; // USER_HZ is 100 on Linux
}

/** CPU time (ms) a process has used so far (utime + stime, /proc/PID/stat). */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

interface Plugin {
  name: string;
  argv: string[];
  conf: (i: number) => string;
}

interface Figures {
  addP50: number;
  addP99: number;
  delP50: number;
  delP99: number;
  parAddsPerS: number;
}

async function measure(hostNs: string, prefix: string, plugin: Plugin, n: number, par: number, hooks: { afterSeqAdds?: () => Promise<void>; beforeParAdds?: () => Promise<void>; afterParAdds?: () => Promise<void> } = {}): Promise<Figures> {
  const env = (cmd: string, i: number): Record<string, string> => ({
    CNI_COMMAND: cmd,
    CNI_CONTAINERID: `${prefix}-${i}`,
    CNI_NETNS: `/run/netns/${prefix}${i}`,
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/usr/lib/cni',
  });
  const ids = Array.from({ length: 2 * n }, (_, i) => i);
  for (const i of ids) ip('netns', 'add', `${prefix}${i}`);
  try {
    const check = (c: Call, what: string): Call => {
      if (c.code !== 0) throw new Error(`${plugin.name} ${what} failed: ${c.out}`);
      return c;
    };
    const adds: number[] = [];
    const dels: number[] = [];
    for (let i = 0; i < n; i++) adds.push(check(await call(hostNs, plugin.argv, env('ADD', i), plugin.conf(i)), 'ADD').ms);
    await hooks.afterSeqAdds?.();
    for (let i = 0; i < n; i++) dels.push(check(await call(hostNs, plugin.argv, env('DEL', i), plugin.conf(i)), 'DEL').ms);
    await hooks.beforeParAdds?.();
    const t0 = performance.now();
    await pool(ids.slice(n).map((i) => async () => check(await call(hostNs, plugin.argv, env('ADD', i), plugin.conf(i)), 'ADD')), par);
    const parAddsPerS = n / ((performance.now() - t0) / 1000);
    await hooks.afterParAdds?.();
    await pool(ids.slice(n).map((i) => async () => check(await call(hostNs, plugin.argv, env('DEL', i), plugin.conf(i)), 'DEL')), par);
    return { addP50: pct(adds, 50), addP99: pct(adds, 99), delP50: pct(dels, 50), delP99: pct(dels, 99), parAddsPerS };
  } finally {
    for (const i of ids) spawnSync('ip', ['netns', 'del', `${prefix}${i}`], { stdio: 'ignore' });
  }
}

export default async function bench(args: string[]): Promise<void> {
  const opt = (name: string, dflt: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const n = opt('n', 100);
  const par = opt('par', 10);
  const policyTimeout = opt('policy-timeout', 10);
  const tag = `bc${(process.pid % 1296).toString(36)}`;
  const hostNs = `${tag}-h`;
  const refNs = `${tag}-r`;
  const etcd = await startBenchEtcd();
  const procs: ChildProcess[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'twill-bench-cni-'));
  try {
    for (const ns of [hostNs, refNs]) {
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    // etcd on the host namespace's loopback, through a unix socket.
    const port = new URL(etcd.endpoint).port;
    const sock = join(dir, 'etcd.sock');
    procs.push(spawn('socat', [`UNIX-LISTEN:${sock},fork`, `TCP:127.0.0.1:${port},nodelay`], { stdio: 'ignore', detached: true }));
    procs.push(spawn('ip', ['netns', 'exec', hostNs, 'socat', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,nodelay`, `UNIX-CONNECT:${sock}`], { stdio: 'ignore', detached: true }));
    const ds = await openDatastore(etcd.url);
    await ds.create({ apiVersion: API_VERSION, kind: 'IPPool', metadata: { name: 'bench' }, spec: { cidr: '10.72.0.0/16' } });
    await ds.create({ apiVersion: API_VERSION, kind: 'Node', metadata: { name: 'host1' }, spec: {} });
    await ds.close();
    // twill-node serves the CNI calls on its socket; the plugin hands them over.
    const socket = join(dir, 'cni.sock');
    const metricsPort = 20000 + (process.pid % 20000);
    const nodeProc = spawn(
        'ip',
        ['netns', 'exec', hostNs, process.execPath, NODE_MAIN, '--node-name', 'host1', '--datastore', etcd.url, '--health-port', '0', '--metrics-port', String(metricsPort), '--health-host', '127.0.0.1', '--log-level', 'warn', '--no-bgp', '--api-socket', '', '--cni-socket', socket],
        { stdio: 'ignore', detached: true },
      );
    procs.push(nodeProc);
    for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(socket)) throw new Error('twill-node did not open its CNI socket');
    await new Promise((r) => setTimeout(r, 1000));
    // Sums (s) of twill-node's served ADDs: the whole call and each step, and their count.
    const STEPS = ['ipam', 'veth', 'endpoint', 'programmed'];
    const nodeAddSeconds = async (): Promise<Record<string, number>> => {
      const r = spawnSync('ip', ['netns', 'exec', hostNs, 'curl', '-s', `http://127.0.0.1:${metricsPort}/metrics`], { encoding: 'utf8' });
      const get = (m: string, label: string): number => Number(new RegExp(`^${m}\\{${label}\\} (\\S+)$`, 'm').exec(r.stdout)?.[1] ?? 0);
      const out: Record<string, number> = { sum: get('twill_cni_call_seconds_sum', 'command="ADD"'), count: get('twill_cni_call_seconds_count', 'command="ADD"') };
      for (const s of STEPS) out[s] = get('twill_cni_add_step_seconds_sum', `step="${s}"`);
      const plain = (m: string): number => Number(new RegExp(`^${m} (\\S+)$`, 'm').exec(r.stdout)?.[1] ?? 0);
      out.apply = plain('twill_felix_apply_seconds_sum');
      out.applies = plain('twill_felix_apply_seconds_count');
      out.restore = plain('twill_felix_restore_seconds_sum');
      return out;
    };
    const meanMs = (a: Record<string, number>, b: Record<string, number>, k: string): string => (((b[k]! - a[k]!) / (b.count! - a.count!)) * 1000).toFixed(1);
    const inst = spawnSync(process.execPath, [CNI_MAIN, 'install', '--bin-dir', join(dir, 'bin'), '--conf-dir', join(dir, 'net.d')], { encoding: 'utf8' });
    if (inst.status !== 0) throw new Error(`twill-cni install: ${inst.stderr}`);
    const plugin = [join(dir, 'bin/twill-cni')];
    const floor: number[] = [];
    for (let i = 0; i < 20; i++) floor.push((await call(hostNs, plugin, { CNI_COMMAND: 'VERSION' }, JSON.stringify({ cniVersion: '1.0.0', socket }))).ms);
    const twillConf = (sock: string): string =>
      JSON.stringify({ cniVersion: '1.0.0', name: 'bench', type: 'twill-cni', datastore: etcd.url, nodename: 'host1', nodeHealth: '', policySetupTimeout: policyTimeout, socket: sock });
    const twill: Plugin = { name: 'twill-cni (served)', argv: plugin, conf: () => twillConf(socket) };
    const inproc: Plugin = { name: 'twill-cni (in-process)', argv: plugin, conf: () => twillConf('') };
    const ptp: Plugin = {
      name: 'ptp',
      argv: ['/usr/lib/cni/ptp'],
      conf: () =>
        JSON.stringify({ cniVersion: '1.0.0', name: 'benchref', type: 'ptp', ipMasq: false, ipam: { type: 'host-local', subnet: '10.73.0.0/16', dataDir: join(dir, 'ipam'), routes: [{ dst: '0.0.0.0/0' }] } }),
    };
    const m0 = await nodeAddSeconds();
    let m1 = m0;
    let p0 = m0;
    let p1 = m0;
    // CPU of the 10-parallel ADDs: the whole machine's, and twill-node's (ms per ADD).
    const cpu = { t: { m: 0, node: 0, etcd: 0 }, r: { m: 0 } };
    const t = await measure(hostNs, `${tag}t`, twill, n, par, {
      afterSeqAdds: async () => void (m1 = await nodeAddSeconds()),
      beforeParAdds: async () => {
        p0 = await nodeAddSeconds();
        cpu.t = { m: machineBusyMs(), node: processCpuMs(nodeProc.pid), etcd: processCpuMs(etcd.pid) };
      },
      afterParAdds: async () => {
        cpu.t = { m: (machineBusyMs() - cpu.t.m) / n, node: (processCpuMs(nodeProc.pid) - cpu.t.node) / n, etcd: (processCpuMs(etcd.pid) - cpu.t.etcd) / n };
        p1 = await nodeAddSeconds();
      },
    });
    const nIn = Math.min(n, opt('inproc', 20));
    const ip_ = nIn > 0 ? await measure(hostNs, `${tag}i`, inproc, nIn, par) : { addP50: NaN, addP99: NaN, delP50: NaN, delP99: NaN, parAddsPerS: NaN };
    const r = await measure(refNs, `${tag}p`, ptp, n, par, {
      beforeParAdds: async () => void (cpu.r.m = machineBusyMs()),
      afterParAdds: async () => void (cpu.r.m = (machineBusyMs() - cpu.r.m) / n),
    });
    const f = (x: number): string => x.toFixed(1);
    process.stdout.write(
      `cni add_p50_ms=${f(t.addP50)} add_p99_ms=${f(t.addP99)} del_p50_ms=${f(t.delP50)} del_p99_ms=${f(t.delP99)} par${par}_adds_per_s=${f(t.parAddsPerS)} ` +
        `ref_add_p50_ms=${f(r.addP50)} ref_add_p99_ms=${f(r.addP99)} ref_del_p50_ms=${f(r.delP50)} ref_par${par}_adds_per_s=${f(r.parAddsPerS)} ratio=${(t.addP50 / r.addP50).toFixed(2)} n=${n} ` +
        `inproc_add_p50_ms=${f(ip_.addP50)} inproc_del_p50_ms=${f(ip_.delP50)} inproc_par${par}_adds_per_s=${f(ip_.parAddsPerS)} ` +
        `client_floor_ms=${f(pct(floor, 50))} node_add_ms=${meanMs(m0, m1, 'sum')} ${STEPS.map((k) => `node_${k}_done_ms=${meanMs(m0, m1, k)}`).join(' ')} ` +
        `felix_applies_per_add=${((m1.applies! - m0.applies!) / (m1.count! - m0.count!)).toFixed(1)} felix_apply_ms=${(((m1.apply! - m0.apply!) / (m1.applies! - m0.applies!)) * 1000).toFixed(1)} ` +
        `felix_restore_ms=${(((m1.restore! - m0.restore!) / (m1.applies! - m0.applies!)) * 1000).toFixed(1)} ` +
        `par_node_add_ms=${meanMs(p0, p1, 'sum')} par_node_programmed_done_ms=${meanMs(p0, p1, 'programmed')} par_felix_applies_per_add=${((p1.applies! - p0.applies!) / (p1.count! - p0.count!)).toFixed(2)} ` +
        `par_cpu_ms_per_add=${f(cpu.t.m)} par_node_cpu_ms_per_add=${f(cpu.t.node)} par_etcd_cpu_ms_per_add=${f(cpu.t.etcd)} ref_par_cpu_ms_per_add=${f(cpu.r.m)}\n`,
    );
  } finally {
    for (const p of procs.reverse()) {
      if (p.pid !== undefined && p.exitCode === null) {
        try {
          process.kill(-p.pid, 'SIGTERM');
        } catch {
          /* gone */
        }
      }
    }
    await new Promise((r) => setTimeout(r, 300));
    for (const ns of [hostNs, refNs]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
