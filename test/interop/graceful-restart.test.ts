// Graceful restart (RFC 4724) with BIRD, seen in the forwarding plane.
//
//   [cl] ── 198.18.1.0/24 ── [tw: twill-bgp, AS 65001] ── 198.18.2.0/24 ── [bi: BIRD, AS 65002] ── 198.18.3.0/24 ── [sv]
//   client .2                 .1                      .1                    .2                  .1                   .2 server
//
// BIRD originates the server's subnet 198.18.3.0/24 (plus 10.66.0.0/24, dropped from its config
// across its restart) and installs what it learns from twill-bgp (the client's subnet) with a
// kernel protocol; twill-bgp originates 198.18.1.0/24 and installs what it learns (kernel proto
// 85). The client pings the server every 100 ms throughout.
//
// 1. BIRD is killed (SIGKILL) and started again: twill-bgp keeps its routes (stale) in the
//    Loc-RIB and in the kernel the whole time (sampled every 100 ms), no ping is lost, and once
//    BIRD's End-of-RIB arrives the path BIRD no longer announces is swept.
// 2. twill-bgp is killed (SIGKILL) and started again: BIRD keeps twill-bgp's route in its kernel
//    table the whole time (it is GR helper because twill-bgp advertised GR), twill-bgp's own
//    kernel routes are never removed by the restarted daemon, and no ping is lost.
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { BgpLab, kernelRoutes, RouteWatch, startPing, until, type BirdDaemon, type LinkAddrs, type PingResult, type TwillDaemon } from '../support/bgp-peers.js';

const TW_AS = 65001;
const BIRD_AS = 65002;
const EXTRA = '10.66.0.0/24';

const reason = missing({ root: true, tools: ['ip', 'ping', 'bird', 'birdc'] });

function sh(args: string[]): void {
  const r = spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${r.stderr}`);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(reason)('graceful restart with BIRD, no packet lost', () => {
  let lab: BgpLab;
  let bird: BirdDaemon;
  let twill: TwillDaemon;
  let twillYaml: string;
  let cl: string;
  let tw: string;
  let bi: string;
  let l1: LinkAddrs; // tw ── cl
  let l2: LinkAddrs; // tw ── bi
  let l3: LinkAddrs; // bi ── sv
  const clientNet = '198.18.1.0/24';
  const serverNet = '198.18.3.0/24';

  const twillLoc = async (prefix: string) => (await twill.client.listRoutes({ table: 'loc', prefix }))[0];
  const birdPeer = async () => (await twill.client.listPeers(l2.b4))[0]!;
  /** The "Neighbor capabilities" block of `birdc show protocols all tw`: twill-bgp's OPEN as BIRD read it. */
  const neighborCaps = (): string => bird.cmd('show protocols all tw').split('Neighbor capabilities')[1]?.split('Session:')[0] ?? '';

  beforeAll(async () => {
    lab = new BgpLab('gr');
    cl = lab.ns('cl');
    tw = lab.ns('tw');
    bi = lab.ns('bi');
    const sv = lab.ns('sv');
    l1 = lab.link(tw, cl);
    l2 = lab.link(tw, bi);
    l3 = lab.link(bi, sv);
    for (const ns of [tw, bi]) sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    sh(['ip', '-n', cl, 'route', 'add', 'default', 'via', l1.a4]);
    sh(['ip', '-n', sv, 'route', 'add', 'default', 'via', l3.a4]);
    bird = await lab.startBird(
      bi,
      'bi',
      `log "${lab.dir}/bi.bird.log" all;
router id ${l2.b4};
graceful restart wait 60;
protocol device { }
protocol direct { ipv4; interface "${l3.ifA}"; }
protocol static extra { ipv4; route ${EXTRA} blackhole; }
protocol kernel {
  ipv4 { import none; export where source = RTS_BGP; };
  graceful restart on;
}
protocol bgp tw {
  local ${l2.b4} as ${BIRD_AS};
  neighbor ${l2.a4} as ${TW_AS};
  graceful restart on;
  graceful restart time 120;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 4;
  ipv4 { import all; export where source = RTS_DEVICE || source = RTS_STATIC; };
}
`,
      ['-R'],
    );
    twillYaml = `routerId: ${l2.a4}
asn: ${TW_AS}
connectRetry: 1
backoff: { idleHold: 0.2, idleHoldMax: 2, connectRetryMax: 2 }
gracefulRestart: { enabled: true, restartTime: 120, stalePathTime: 360 }
neighbors:
  - { address: ${l2.b4}, asn: ${BIRD_AS}, families: [ipv4], import: all, export: all, description: bird }
originate:
  - ${clientNet}
kernel: { install: true }
`;
    twill = await lab.startTwill(tw, 'tw', twillYaml);
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('GR is negotiated and traffic flows client → server through both kernels', async () => {
    await until('twill-bgp ⇄ BIRD Established', async () => (await birdPeer()).state === 'Established', 60_000);
    await until('twill-bgp installed the server subnet and the extra prefix', () => {
      const k = kernelRoutes(tw, 4, '85');
      return k.some((r) => r.dst === serverNet && r.gateways.join() === l2.b4) && k.some((r) => r.dst === EXTRA);
    }, 30_000);
    await until('BIRD installed the client subnet', () => kernelRoutes(bi, 4, 'bird').some((r) => r.dst === clientNet && r.gateways.join() === l2.a4), 30_000);
    expect((await birdPeer()).capabilities?.gracefulRestart).toBe(true);
    // BIRD saw twill-bgp's GR capability with the restart time it was configured with.
    expect(neighborCaps(), "BIRD's view of twill-bgp's capabilities").toMatch(/Graceful restart\s+Restart time: 120\s[\s\S]*AF supported: ipv4/);
    const ping = spawnSync('ip', ['netns', 'exec', cl, 'ping', '-n', '-c', '3', '-i', '0.2', '-W', '2', l3.b4], { encoding: 'utf8' });
    expect(ping.stdout).toMatch(/3 received/);
  });

  it('BIRD killed and restarted: twill-bgp keeps the routes stale in the RIB and the kernel, no ping lost, then sweeps what BIRD dropped', async () => {
    // Isolate twill-bgp: BIRD's own kernel routes across its restart are BIRD's business, so the
    // return path gets a fallback (metric 4000) in BIRD's namespace for this part only.
    sh(['ip', '-n', bi, 'route', 'add', clientNet, 'via', l2.a4, 'metric', '4000']);
    const watch = new RouteWatch(tw, 4, '85', serverNet).start();
    const ping = startPing(cl, l3.b4, 0.1);
    let res: PingResult = { lastReplied: 0, lost: [], output: '' };
    try {
      await sleep(1500);
      const before = (await birdPeer()).establishedCount;
      await bird.crash();
      await until('twill-bgp sees the session gone', async () => (await birdPeer()).state !== 'Established', 30_000);
      // While BIRD is down: the routes are still there, flagged stale, and still in the kernel.
      const stale = await twillLoc(serverNet);
      expect(stale, 'the server subnet is kept while BIRD restarts').toMatchObject({ prefix: serverNet, stale: true });
      expect((await birdPeer()).staleRoutes).toBe(true);
      expect(kernelRoutes(tw, 4, '85').map((r) => r.dst)).toContain(serverNet);
      await sleep(2000);
      // BIRD comes back without the extra prefix.
      writeFileSync(bird.confFile, readFileSync(bird.confFile, 'utf8').replace(/protocol static extra \{[^}]*\}\n/, ''));
      await bird.start();
      await until('session back', async () => {
        const p = await birdPeer();
        return p.state === 'Established' && p.establishedCount > before;
      }, 60_000);
      await until('the server subnet fresh again (not stale)', async () => (await twillLoc(serverNet))?.stale !== true && (await twillLoc(serverNet)) !== undefined, 30_000);
      await until('the prefix BIRD no longer announces is swept from the RIB and the kernel', async () =>
        !(await twillLoc(EXTRA)) && !kernelRoutes(tw, 4, '85').some((r) => r.dst === EXTRA),
      30_000);
      await sleep(1000);
    } finally {
      watch.stop();
      // Leave BIRD running and the fallback gone for the next part, even after a failure here.
      if (!bird.proc.alive) await bird.start();
      spawnSync('ip', ['-n', bi, 'route', 'del', clientNet, 'via', l2.a4, 'metric', '4000']);
      res = await ping.finish();
    }
    expect(watch.samples).toBeGreaterThan(30);
    expect(watch.gaps, 'samples where twill-bgp\'s kernel route to the server was missing').toEqual([]);
    expect(res.lastReplied).toBeGreaterThan(40);
    expect(res.lost, 'ping sequence numbers lost').toEqual([]);
  });

  it('twill-bgp killed and restarted: BIRD keeps its kernel route from twill-bgp, twill-bgp keeps its own, no ping lost', async () => {
    await until('BIRD has the client subnet from BGP in its kernel', () => kernelRoutes(bi, 4, 'bird').some((r) => r.dst === clientNet), 30_000);
    const birdWatch = new RouteWatch(bi, 4, 'bird', clientNet).start();
    const twWatch = new RouteWatch(tw, 4, '85', serverNet).start();
    const ping = startPing(cl, l3.b4, 0.1);
    let res: PingResult = { lastReplied: 0, lost: [], output: '' };
    try {
      await sleep(1500);
      twill.proc.kill('SIGKILL');
      await twill.proc.exited;
      // BIRD keeps twill-bgp's route (stale) while twill-bgp is away.
      await until('BIRD sees the session gone', () => !bird.established('tw'), 30_000);
      await sleep(2000);
      expect(bird.cmd(`show route ${clientNet} all`)).toContain(clientNet);
      twill = await lab.startTwill(tw, 'tw-restarted', twillYaml);
      await until('session back', async () => (await birdPeer()).state === 'Established', 60_000);
      // The restarted twill-bgp's OPEN says it is restarting (R bit) and that forwarding was
      // preserved for IPv4 (F bit; its kernel routes stayed): without F, RFC 4724 §4.2 has BIRD
      // drop the stale routes at once instead of waiting for twill-bgp's End-of-RIB.
      const caps = neighborCaps();
      expect(caps, "BIRD's view of the restarted twill-bgp's OPEN").toMatch(/Restart recovery/);
      expect(caps, "BIRD's view of the restarted twill-bgp's OPEN").toMatch(/AF preserved:\s*ipv4/);
      await until('BIRD has fresh routes from twill-bgp and twill-bgp has BIRD\'s End-of-RIB', async () =>
        (await birdPeer()).endOfRibReceived === true && (await twillLoc(serverNet)) !== undefined && /Established/.test(bird.cmd('show protocols tw')),
      30_000);
      await sleep(2000);
    } finally {
      birdWatch.stop();
      twWatch.stop();
      res = await ping.finish();
    }
    expect(birdWatch.samples).toBeGreaterThan(30);
    expect(birdWatch.gaps, "samples where BIRD's kernel route to the client subnet was missing").toEqual([]);
    expect(twWatch.gaps, "samples where twill-bgp's kernel route to the server was missing").toEqual([]);
    expect(res.lastReplied).toBeGreaterThan(40);
    expect(res.lost, 'ping sequence numbers lost').toEqual([]);
    // Still one route each, via the right next hops.
    expect(kernelRoutes(tw, 4, '85').filter((r) => r.dst === serverNet).map((r) => r.gateways)).toEqual([[l2.b4]]);
    expect(kernelRoutes(bi, 4, 'bird').filter((r) => r.dst === clientNet).map((r) => r.gateways)).toEqual([[l2.a4]]);
  });
});
