// `npm run bench -- node`: what the node agent's main thread feels while a full table arrives in
// the BGP speaker worker. BIRD (in namespace "<p>-bi") announces N /32s over a veth to a
// SpeakerWorker whose thread lives in namespace "<p>-tw" (SpeakerWorker.start({ netns })) and
// installs them into that namespace's kernel (kernel sync inside the worker). Meanwhile the main
// thread only runs a 1 ms timer; its event-loop delay (perf_hooks.monitorEventLoopDelay) is
// measured while idle (before the session) and during the transfer (from setConfig until every
// route is in the kernel). Hold time 3 s: a session flap shows as session_flaps.
//
//   npm run bench -- node [--routes 100000]
//
// Prints one line:
//   node bgp_routes=100000 main_loop_delay_p99_ms=… main_loop_delay_max_ms=… idle_loop_delay_p99_ms=…
//        converge_s=… kernel_routes=… session_flaps=… loadavg=…
// (idle_loop_delay_p99_ms is the same process before the session: on a loaded machine both grow.)
// (The policy-storm half of issue 10's benchmark plugs in here: run the policy computation on
// the main thread during the same window and report its p99 with and without the transfer.)
// Needs root, `ip` and `bird`.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { SpeakerWorker } from '../../bgp/agent/worker-host.js';

const TW_AS = 64512;
const BIRD_AS = 64513;

function sh(args: string[]): void {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
}

function prefixOf(i: number): string {
  return `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;
}

const ms = (h: IntervalHistogram, q: 'p99' | 'max'): string => ((q === 'max' ? h.max : h.percentile(99)) / 1e6).toFixed(1);

async function waitFor(what: string, f: () => Promise<boolean>, limitMs: number): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await f())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export default async function bench(argv: string[]): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the node benchmark needs root (it creates network namespaces)');
  const i = argv.indexOf('--routes');
  const n = i >= 0 ? Number(argv[i + 1]) : 100_000;
  if (!Number.isInteger(n) || n < 1 || n > 1 << 20) throw new Error('--routes takes a count from 1 to 1048576');
  const p = `bn${process.pid.toString(36)}`.slice(0, 8);
  const tw = `${p}-tw`;
  const bi = `${p}-bi`;
  const dir = mkdtempSync(join(tmpdir(), 'twill-bench-node-'));
  let bird: ChildProcess | undefined;
  let worker: SpeakerWorker | undefined;
  try {
    sh(['ip', 'netns', 'add', tw]);
    sh(['ip', 'netns', 'add', bi]);
    sh(['ip', 'link', 'add', `${p}a`, 'netns', tw, 'type', 'veth', 'peer', 'name', `${p}b`, 'netns', bi]);
    for (const [ns, dev, addr] of [[tw, `${p}a`, '198.18.1.1/24'], [bi, `${p}b`, '198.18.1.2/24']] as const) {
      sh(['ip', '-n', ns, 'addr', 'add', addr, 'dev', dev]);
      sh(['ip', '-n', ns, 'link', 'set', dev, 'up']);
      sh(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    }
    const statics = Array.from({ length: n }, (_, k) => `  route ${prefixOf(k)} blackhole;`).join('\n');
    writeFileSync(
      join(dir, 'bird.conf'),
      `router id 198.18.1.2;
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
    worker = await SpeakerWorker.start({ netns: tw, kernel: { install: true }, logLevel: 'warn' });
    let flaps = 0;
    worker.onEvent((e) => {
      if (e.type === 'peer-state' && e.from === 'Established') flaps++;
      if (e.type === 'worker-exit') process.stderr.write(`bench node: ${e.message}\n`);
    });
    bird = spawn('ip', ['netns', 'exec', bi, 'bird', '-f', '-c', join(dir, 'bird.conf'), '-s', join(dir, 'bird.ctl')], { stdio: 'ignore' });

    // The main thread's only other work: a 1 ms timer (as an agent's loop would have).
    const tick = setInterval(() => undefined, 1);
    const idle = monitorEventLoopDelay({ resolution: 1 });
    idle.enable();
    await new Promise((r) => setTimeout(r, 2000));
    idle.disable();

    const busy = monitorEventLoopDelay({ resolution: 1 });
    busy.enable();
    const t0 = process.hrtime.bigint();
    await worker.setConfig({
      routerId: '198.18.1.1',
      asn: TW_AS,
      listen: { address: '198.18.1.1', port: 179 },
      holdTime: 3,
      keepalive: 1,
      connectRetry: 1,
      neighbors: [{ address: '198.18.1.2', asn: BIRD_AS, families: ['ipv4'], importPolicy: { default: 'accept', rules: [] }, exportPolicy: { default: 'reject', rules: [] } }],
    });
    const w = worker;
    await waitFor(`${n} routes in the kernel`, async () => (await w.kernelStats())?.installed === n, 300_000);
    const convergeS = Number(process.hrtime.bigint() - t0) / 1e9;
    busy.disable();
    clearInterval(tick);
    const peer = (await w.peers())[0];
    process.stdout.write(
      `node bgp_routes=${n} main_loop_delay_p99_ms=${ms(busy, 'p99')} main_loop_delay_max_ms=${ms(busy, 'max')} idle_loop_delay_p99_ms=${ms(idle, 'p99')} ` +
        `converge_s=${convergeS.toFixed(2)} kernel_routes=${(await w.kernelStats())?.installed ?? 0} session_flaps=${Math.max(flaps, peer?.flaps ?? 0)} loadavg=${loadavg()[0]!.toFixed(1)}\n`,
    );
  } finally {
    await worker?.stop().catch(() => undefined);
    if (bird?.pid) process.kill(bird.pid, 'SIGTERM');
    for (const ns of [tw, bi]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}
