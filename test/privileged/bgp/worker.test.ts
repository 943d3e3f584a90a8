// The speaker worker isolates BGP from the main thread. Two namespaces on a veth (198.18.1.0/24):
// BIRD in one, and in the other a SpeakerWorker started by this test process, its thread entered
// into that namespace (SpeakerWorker.start({ netns }): the worker thread alone does setns, so its
// BGP sockets and its netlink handle live there while this test's main thread stays in the host
// namespace). Hold time 6 s (3 s flapped once under CI load while 100k routes were withdrawn). Then the main thread's event loop is blocked by a 10 s busy loop (a
// stand-in for a policy-computation burst): the session must stay Established — on BIRD's side
// too — and the routes learned from BIRD must be in the namespace's kernel with twill-bgp's route
// protocol (85), installed by kernel sync running inside the worker (koffi/netlink in a worker).
// Also: stop() sends CEASE and removes the routes; stop({ graceful }) keeps them for the next worker.
//
// The worker and its host run compiled: from dist/ when it is up to date, else from the test
// harness's private build (test/support/bgp-peers.ts builtFile).
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../../support/env.js';
import { BgpLab, builtFile, kernelRoutes, RouteWatch, until, type BirdDaemon, type LinkAddrs } from '../../support/bgp-peers.js';
import type { PeerStatus, SpeakerConfig } from '../../../bgp/server/types.js';

type HostModule = typeof import('../../../bgp/agent/worker-host.js');
type SpeakerWorker = import('../../../bgp/agent/worker-host.js').SpeakerWorker;

const reason = missing({ root: true, tools: ['ip', 'bird', 'birdc'] });

const TW_AS = 64512;
const BIRD_AS = 64513;
const ROUTES = ['10.77.1.0/24', '10.77.2.0/24', '10.77.3.0/24', '10.77.4.1/32'];
/** The full table BIRD sends on demand (`enable big`), while the main thread is blocked. */
const TABLE = Number(process.env.TWILL_WORKER_TABLE ?? 100_000);
const tableRoute = (i: number): string => `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`;

/** Routes of ours (protocol 85) in the namespace's main table, counted by `ip` as a user would. */
function countOurs(ns: string): number {
  const r = spawnSync('ip', ['-n', ns, '-4', 'route', 'show', 'proto', '85'], { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`ip route show: ${r.stderr}`);
  return r.stdout.split('\n').filter((x) => /^\d/.test(x)).length;
}

/** Blocks this thread for `ms` (a stand-in for a policy-computation burst). */
function spin(ms: number): void {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    /* busy */
  }
}

describe.skipIf(reason)('SpeakerWorker: the BGP session survives a blocked main thread', () => {
  let lab: BgpLab;
  let bird: BirdDaemon;
  let l: LinkAddrs;
  let tw = '';
  let worker: SpeakerWorker | undefined;
  let start: HostModule['SpeakerWorker']['start'];
  const events: string[] = [];
  const config = (extra: Partial<SpeakerConfig> = {}): SpeakerConfig => ({
    routerId: l.a4,
    asn: TW_AS,
    listen: { address: l.a4, port: 179 },
    holdTime: 6,
    keepalive: 1,
    connectRetry: 1,
    backoff: { idleHold: 0.2, idleHoldMax: 2, connectRetryMax: 2 },
    neighbors: [{ address: l.b4, asn: BIRD_AS, families: ['ipv4'], importPolicy: { default: 'accept', rules: [] }, exportPolicy: { default: 'accept', rules: [] } }],
    originate: [{ prefix: '10.78.0.0/24' }],
    ...extra,
  });

  beforeAll(async () => {
    const { SpeakerWorker } = (await import(pathToFileURL(builtFile('bgp/agent/worker-host.js')).href)) as HostModule;
    start = (o) => SpeakerWorker.start(o);
    lab = new BgpLab('wk');
    tw = lab.ns('tw');
    const bi = lab.ns('bi');
    l = lab.link(tw, bi);
    bird = await lab.startBird(
      bi,
      'bi',
      `log "${lab.dir}/bi.bird.log" all;
router id ${l.b4};
protocol device { }
protocol static st4 { ipv4; ${ROUTES.map((r) => `route ${r} blackhole;`).join(' ')} }
protocol static big {
  ipv4;
  disabled;
${Array.from({ length: TABLE }, (_, i) => `  route ${tableRoute(i)} blackhole;`).join('\n')}
}
protocol bgp tw {
  local ${l.b4} as ${BIRD_AS};
  neighbor ${l.a4} as ${TW_AS};
  hold time 6;
  keepalive time 1;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 4;
  graceful restart on;
  graceful restart time 120;
  ipv4 { import all; export where source = RTS_STATIC; };
}
`,
    );
    worker = await SpeakerWorker.start({ netns: tw, kernel: { install: true }, logLevel: 'info' });
    worker.onEvent((e) => {
      if (e.type === 'peer-state' || e.type === 'worker-exit') events.push(JSON.stringify(e));
    });
    await worker.setConfig(config());
  });

  afterAll(async () => {
    await worker?.stop();
    await lab?.cleanup();
  });

  const birdSession = (): string => bird.cmd('show protocols tw');

  it('keeps the session Established through a 10 s busy main thread, with BIRD routes in the kernel', async () => {
    const w = worker!;
    let peer: PeerStatus | undefined;
    await until('session with BIRD Established', async () => {
      peer = (await w.peers()).find((p) => p.address === l.b4);
      return peer?.state === 'Established' && bird.established('tw');
    });
    expect(peer!.holdTime).toBe(6);
    await until('BIRD routes in the kernel of the worker namespace', () => ROUTES.every((r) => kernelRoutes(tw, 4, '85').some((k) => k.dst === r.replace(/\/32$/, ''))));
    const birdBefore = birdSession();
    const before = (await w.peers())[0]!;

    // The policy-computation stand-in: nothing on this thread runs for 10 s.
    spin(10_000);

    const after = (await w.peers())[0]!;
    expect(after.state).toBe('Established');
    expect(after.establishedCount).toBe(before.establishedCount);
    expect(after.flaps).toBe(before.flaps);
    expect(after.flaps).toBe(0);
    // Keepalives kept flowing both ways while the main thread was stuck (one per second).
    expect(after.messages.received.keepalive - before.messages.received.keepalive).toBeGreaterThanOrEqual(5);
    expect(after.messages.sent.keepalive - before.messages.sent.keepalive).toBeGreaterThanOrEqual(5);
    // BIRD saw no flap either: still Established, since the same moment.
    const birdAfter = birdSession();
    expect(birdAfter).toMatch(/\bEstablished\b/);
    expect(birdAfter).toBe(birdBefore);
    expect(events.filter((e) => e.includes('"from":"Established"') || e.includes('worker-exit'))).toEqual([]);
    // The routes are still in the kernel, ours (proto 85) with BIRD as the next hop; our own prefix reached BIRD.
    const kr = kernelRoutes(tw, 4, '85');
    for (const r of ROUTES) expect(kr.find((k) => k.dst === r.replace(/\/32$/, ''))?.gateways).toEqual([l.b4]);
    expect(bird.routes(4).some((r) => r.prefix === '10.78.0.0/24')).toBe(true);
    const stats = await w.kernelStats();
    expect(stats?.installed).toBe(ROUTES.length);
  });

  it(`a full table (${TABLE} routes) arriving while the main thread is blocked for 10 s: no flap, every route in the kernel`, async () => {
    const w = worker!;
    const before = (await w.peers())[0]!;
    const birdBefore = birdSession();
    bird.cmd('enable big');
    spin(10_000);
    const after = (await w.peers())[0]!;
    expect(after.state).toBe('Established');
    expect(after.establishedCount).toBe(before.establishedCount);
    expect(after.flaps).toBe(0);
    await until(`${TABLE + ROUTES.length} routes installed`, async () => (await w.kernelStats())?.installed === TABLE + ROUTES.length, 120_000, 200);
    expect(countOurs(tw)).toBe(TABLE + ROUTES.length);
    expect((await w.peers())[0]!.acceptedPrefixes).toBe(TABLE + ROUTES.length);
    expect(birdSession()).toBe(birdBefore);
    // Back to the small table for what follows.
    bird.cmd('disable big');
    await until('the full table withdrawn from the kernel', async () => (await w.kernelStats())?.installed === ROUTES.length, 120_000, 200);
    expect(countOurs(tw)).toBe(ROUTES.length);
    expect((await w.peers())[0]!.flaps).toBe(0);
  });

  it('stop() removes the kernel routes and tells BIRD (CEASE)', async () => {
    await worker!.stop();
    worker = undefined;
    expect(kernelRoutes(tw, 4, '85')).toEqual([]);
    await until('BIRD sees the session down', () => !bird.established('tw'));
  });

  it('graceful restart across workers: stop({ graceful }) keeps the kernel routes, the next worker takes them over without a gap', async () => {
    const gr = config({ gracefulRestart: { enabled: true, restartTime: 30 } });
    const first = await start({ netns: tw, kernel: { install: true }, logLevel: 'warn' });
    worker = first;
    await first.setConfig(gr);
    await until('GR session with BIRD', async () => (await first.peers())[0]?.capabilities?.gracefulRestart === true && bird.established('tw'));
    await until('routes in the kernel', () => kernelRoutes(tw, 4, '85').length === ROUTES.length);
    const watch = new RouteWatch(tw, 4, '85', '10.77.1.0/24', 50).start();
    try {
      await first.stop({ graceful: true });
      // Forwarding kept: our routes stay in the kernel, BIRD keeps ours (stale) while we restart.
      expect(kernelRoutes(tw, 4, '85')).toHaveLength(ROUTES.length);
      expect(bird.routes(4).some((r) => r.prefix === '10.78.0.0/24')).toBe(true);
      // Down for a while (several samples of the kernel with no speaker running at all).
      const down = watch.samples;
      await until('samples while no worker runs', () => watch.samples >= down + 5, 10_000, 20);
      const second = await start({ netns: tw, kernel: { install: true }, logLevel: 'warn' });
      worker = second;
      await second.setConfig(gr);
      // The new worker takes the routes it finds over in place (restarting role); BIRD re-sends, nothing is removed.
      await until('session back', async () => (await second.peers())[0]?.state === 'Established' && bird.established('tw'));
      await until('kernel reconciled', async () => (await second.kernelStats())?.inSync === true);
      expect(kernelRoutes(tw, 4, '85')).toHaveLength(ROUTES.length);
    } finally {
      watch.stop();
    }
    expect(watch.gaps).toEqual([]);
  });
});
