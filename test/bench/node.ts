// `npm run bench -- node`: twill-node's two halves at once — the policy agent programming the
// kernel on the main thread while a full table arrives in the BGP speaker worker.
//
// Namespaces "<p>-tw" (the host: this process runs itself again inside it, as twill-node runs in
// its host namespace) and "<p>-bi" (BIRD), joined by a veth. In the host namespace: a FelixAgent
// (./felix-setup.ts, the same cluster as `bench -- felix`: 10,000 endpoints, 250 local with
// veths, 1,000 policies, real iptables / ipset, one netlink monitor for links and routes, as
// twill-node has) and a SpeakerWorker (bgp/agent/worker-host.ts; speaker + kernel route sync on
// a worker_thread). BIRD announces N /32s (hold time 3 s; a session flap shows as session_flaps).
//
//   1. BGP idle (worker started, no session): C label changes, each timed from the datastore
//      write until the kernel is programmed → policy_p50_ms / policy_p99_ms.
//   2. The worker is configured: the session comes up and BIRD's table transfers into the
//      kernel. The same change loop runs during it; only changes that start before every route
//      is in the kernel count. If the table is in before C changes were measured, BIRD withdraws
//      it (`birdc disable`; the loop pauses until the kernel is empty) and announces it again
//      (`birdc enable`), until C changes ran during a transfer (transfers=…).
//      → policy_p50_during_transfer_ms / policy_p99_during_transfer_ms, ratio (p99 / p99).
//      main_loop_delay_p99_ms: the main thread's event-loop delay during the first transfer
//      (idle_loop_delay_p99_ms: the same during step 1); main_loop_busy / idle_main_loop_busy: the
//      main thread's event-loop utilization in the same two windows (how much of it was work, e.g.
//      the dataplane's netlink monitor reading the worker's route events); converge_s: config → N routes in the
//      kernel, first transfer.
//
//   npm run bench -- node [--routes 100000] [--policies 1000] [--endpoints 10000] [--local 250] [--changes 200]
//
// Prints one line:
//   node bgp_routes=100000 policies=1000 policy_p50_ms=… policy_p99_ms=… policy_p50_during_transfer_ms=…
//        policy_p99_during_transfer_ms=… ratio=… changes=200 transfers=… main_loop_delay_p99_ms=…
//        idle_loop_delay_p99_ms=… main_loop_busy=… idle_main_loop_busy=… session_flaps=… converge_s=… kernel_routes=… loadavg=…
// Needs root, `ip`, `bird`, `birdc`, iptables and ipset.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { SpeakerWorker } from '../../bgp/agent/worker-host.js';
import { labelChange, parseCounts, pct, rerunInNetns, startPolicyAgent, type PolicyAgentBench } from './felix-setup.js';

const TW_AS = 64512;
const BIRD_AS = 64513;
const DEFAULTS = { routes: 100_000, policies: 1000, endpoints: 10_000, local: 250, changes: 200 };
type Args = typeof DEFAULTS;

function sh(args: string[]): void {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
}

function prefixOf(i: number): string {
  return `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;
}

const p99ms = (h: IntervalHistogram): string => (h.percentile(99) / 1e6).toFixed(1);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, f: () => Promise<boolean>, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function args(argv: string[]): Args & { birdCtl: string | undefined } {
  const a = parseCounts(argv, DEFAULTS);
  if (a.routes > 1 << 20) throw new Error('--routes takes a count from 1 to 1048576');
  if (a.local > a.endpoints) throw new Error('--local cannot exceed --endpoints');
  const c = argv.indexOf('--bird-ctl');
  return { ...a, birdCtl: c >= 0 ? argv[c + 1] : undefined };
}

export default async function bench(argv: string[]): Promise<void> {
  if (argv.includes('--inner')) return inner(args(argv));
  if (process.getuid?.() !== 0) throw new Error('the node benchmark needs root (network namespaces, iptables, ipset)');
  const a = args(argv);
  const p = `bn${process.pid.toString(36)}`.slice(0, 8);
  const tw = `${p}-tw`;
  const bi = `${p}-bi`;
  const dir = mkdtempSync(join(tmpdir(), 'twill-bench-node-'));
  let bird: ChildProcess | undefined;
  try {
    sh(['ip', 'netns', 'add', tw]);
    sh(['ip', 'netns', 'add', bi]);
    sh(['ip', 'link', 'add', `${p}a`, 'netns', tw, 'type', 'veth', 'peer', 'name', `${p}b`, 'netns', bi]);
    for (const [ns, dev, addr] of [[tw, `${p}a`, '198.18.1.1/24'], [bi, `${p}b`, '198.18.1.2/24']] as const) {
      sh(['ip', '-n', ns, 'addr', 'add', addr, 'dev', dev]);
      sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const birdLog = join(dir, 'bird.log');
    const statics = Array.from({ length: a.routes }, (_, k) => `  route ${prefixOf(k)} blackhole;`).join('\n');
    writeFileSync(
      join(dir, 'bird.conf'),
      `log "${birdLog}" all;
router id 198.18.1.2;
protocol device { }
protocol static st4 {
  ipv4;
${statics}
}
protocol bgp tw {
  local 198.18.1.2 as ${BIRD_AS};
  neighbor 198.18.1.1 as ${TW_AS};
  hold time 3;
  keepalive time 1;
  connect delay time 1;
  connect retry time 1;
  ipv4 { import none; export where source = RTS_STATIC; };
}
`,
    );
    const ctl = join(dir, 'bird.ctl');
    bird = spawn('ip', ['netns', 'exec', bi, 'bird', '-f', '-c', join(dir, 'bird.conf'), '-s', ctl], { stdio: 'ignore' });
    try {
      rerunInNetns(tw, 'node', [...argv, '--bird-ctl', ctl]);
    } finally {
      // BIRD's own account of any session trouble (nothing in a clean run).
      const errors = existsSync(birdLog) ? readFileSync(birdLog, 'utf8').split('\n').filter((l) => /error|hold|reset|lost/i.test(l)) : [];
      for (const l of errors.slice(0, 20)) process.stderr.write(`node: BIRD log: ${l}\n`);
    }
  } finally {
    if (bird?.pid) process.kill(bird.pid, 'SIGTERM');
    for (const ns of [tw, bi]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

function birdc(ctl: string, ...cmd: string[]): void {
  const r = spawnSync('birdc', ['-s', ctl, ...cmd], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`birdc ${cmd.join(' ')}: ${r.stderr || r.stdout}`);
}

/** Runs inside the host namespace: the policy agent and the speaker worker in one process. */
async function inner(a: Args & { birdCtl: string | undefined }): Promise<void> {
  const ctl = a.birdCtl;
  if (!ctl) throw new Error('internal: the inner node benchmark needs --bird-ctl');
  let felix: PolicyAgentBench | undefined;
  let worker: SpeakerWorker | undefined;
  try {
    felix = await startPolicyAgent(a);
    process.stderr.write(`node: load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} CPUs; policy agent cold start ${felix.coldS.toFixed(2)} s (${felix.backend})\n`);
    worker = await SpeakerWorker.start({ kernel: { install: true }, logLevel: 'warn' });
    const w = worker;
    let flaps = 0;
    const tStart = performance.now();
    const at = (): string => `+${((performance.now() - tStart) / 1000).toFixed(1)} s`;
    const off = w.onEvent((e) => {
      if (e.type === 'peer-state' && e.from === 'Established') {
        flaps++;
        process.stderr.write(`node: ${at()} session flap: ${e.from} → ${e.to}${e.reason ? ` (${e.reason})` : ''}\n`);
      }
      if (e.type === 'notification') process.stderr.write(`node: ${at()} notification ${e.direction}: ${e.message}\n`);
      if (e.type === 'worker-exit') process.stderr.write(`bench node: ${e.message}\n`);
    });

    // 1. BGP idle: the worker runs, with no session.
    let k = 0;
    const idle = monitorEventLoopDelay({ resolution: 1 });
    idle.enable();
    const idleElu0 = performance.eventLoopUtilization();
    const idleLat: number[] = [];
    while (idleLat.length < a.changes) idleLat.push((await labelChange(felix, k++)).totalMs);
    idle.disable();
    const idleElu = performance.eventLoopUtilization(idleElu0).utilization;

    // 2. The same loop while the table arrives (again, until `changes` ran during a transfer).
    const busy = monitorEventLoopDelay({ resolution: 1 });
    const transferLat: number[] = [];
    let transfers = 0;
    let convergeS = 0;
    let busyElu = 0;
    while (transferLat.length < a.changes) {
      if (transfers > 0) {
        birdc(ctl, 'disable', 'st4');
        await waitFor('the withdrawn table to leave the kernel', async () => (await w.kernelStats())?.installed === 0, 300_000);
        if (!(await w.peers()).some((x) => x.state === 'Established')) throw new Error('the BGP session went down during the benchmark');
      }
      let inKernel = false;
      const t0 = performance.now();
      const elu0 = performance.eventLoopUtilization();
      if (transfers === 0) {
        busy.enable();
        await w.setConfig({
          routerId: '198.18.1.1',
          asn: TW_AS,
          listen: { address: '198.18.1.1', port: 179 },
          holdTime: 3,
          keepalive: 1,
          connectRetry: 1,
          neighbors: [{ address: '198.18.1.2', asn: BIRD_AS, families: ['ipv4'], importPolicy: { default: 'accept', rules: [] }, exportPolicy: { default: 'reject', rules: [] } }],
        });
      } else birdc(ctl, 'enable', 'st4');
      const first = transfers === 0;
      transfers++;
      const watch = waitFor(`${a.routes} routes in the kernel`, async () => (await w.kernelStats())?.installed === a.routes, 300_000).then(() => {
        inKernel = true;
        if (first) {
          busy.disable();
          busyElu = performance.eventLoopUtilization(elu0).utilization;
          convergeS = (performance.now() - t0) / 1000;
        }
      });
      watch.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
      while (!inKernel && transferLat.length < a.changes) {
        const t = await labelChange(felix, k++);
        transferLat.push(t.totalMs);
      }
      await watch;
    }
    off();
    const peer = (await w.peers())[0];
    if (flaps > 0) {
      const r = spawnSync('birdc', ['-s', ctl, 'show', 'protocols', 'all', 'tw'], { encoding: 'utf8' });
      process.stderr.write(`node: our last error: ${peer?.lastError ?? 'none'}; failed attempts since the last Established: ${peer?.flaps ?? 0}\n`);
      process.stderr.write(`node: BIRD's side: ${r.stdout.split('\n').filter((l) => /Last error|BGP state|tw /.test(l)).map((l) => l.trim()).join('; ')}\n`);
    }
    const installed = (await w.kernelStats())?.installed ?? 0;
    const p99 = pct(idleLat, 99);
    const p99t = pct(transferLat, 99);
    process.stdout.write(
      `node bgp_routes=${a.routes} policies=${a.policies} policy_p50_ms=${pct(idleLat, 50).toFixed(0)} policy_p99_ms=${p99.toFixed(0)} ` +
        `policy_p50_during_transfer_ms=${pct(transferLat, 50).toFixed(0)} policy_p99_during_transfer_ms=${p99t.toFixed(0)} ratio=${(p99t / p99).toFixed(2)} ` +
        `changes=${a.changes} transfers=${transfers} main_loop_delay_p99_ms=${p99ms(busy)} idle_loop_delay_p99_ms=${p99ms(idle)} ` +
        `main_loop_busy=${busyElu.toFixed(2)} idle_main_loop_busy=${idleElu.toFixed(2)} ` +
        `session_flaps=${flaps} converge_s=${convergeS.toFixed(2)} kernel_routes=${installed} loadavg=${loadavg()[0]!.toFixed(1)}\n`,
    );
  } finally {
    await worker?.stop().catch(() => undefined);
    await felix?.stop();
  }
}
