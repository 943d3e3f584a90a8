// ECMP (`maxPaths: 2`). BIRD and GoBGP, both eBGP from AS 65002 with the same AS_PATH
// length, ORIGIN and no MED, announce 10.88.0.0/24; twill-bgp must install ONE kernel route with
// two next hops. A prefix only BIRD announces stays a plain route. GoBGP going away leaves one
// next hop; GoBGP coming back gives two again.
//
//   [bi: BIRD, AS 65002] ── 198.18.1.0/24 ── [tw: twill-bgp, AS 65001, maxPaths 2] ── 198.18.2.0/24 ── [go: GoBGP, AS 65002]
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { BgpLab, gobgpConfig, kernelRoutes, until, type BirdDaemon, type GobgpDaemon, type KernelRoute, type LinkAddrs, type TwillDaemon } from '../support/bgp-peers.js';

const TW_AS = 65001;
const PEER_AS = 65002;
const SHARED = '10.88.0.0/24';
const BIRD_ONLY = '10.89.0.0/24';

const reason = missing({ root: true, tools: ['ip', 'bird', 'birdc', 'gobgpd', 'gobgp'] });

describe.skipIf(reason)('ECMP kernel routes from BIRD and GoBGP', () => {
  let lab: BgpLab;
  let bird: BirdDaemon;
  let gobgp: GobgpDaemon;
  let twill: TwillDaemon;
  let l1: LinkAddrs;
  let l2: LinkAddrs;
  let tw: string;

  const route = (dst: string): KernelRoute | undefined => kernelRoutes(tw, 4, '85').find((r) => r.dst === dst);
  const announceGobgp = (): void => void gobgp.cli(['global', 'rib', 'add', SHARED, 'origin', 'igp', '-a', 'ipv4']);

  beforeAll(async () => {
    lab = new BgpLab('ec');
    tw = lab.ns('tw');
    const bi = lab.ns('bi');
    const go = lab.ns('go');
    l1 = lab.link(tw, bi);
    l2 = lab.link(tw, go);
    bird = await lab.startBird(
      bi,
      'bi',
      `log "${lab.dir}/bi.bird.log" all;
router id ${l1.b4};
protocol device { }
protocol static st4 { ipv4; route ${SHARED} blackhole; route ${BIRD_ONLY} blackhole; }
protocol bgp tw {
  local ${l1.b4} as ${PEER_AS};
  neighbor ${l1.a4} as ${TW_AS};
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 4;
  ipv4 { import none; export where source = RTS_STATIC; };
}
`,
    );
    gobgp = await lab.startGobgp(
      go,
      'go',
      gobgpConfig({ asn: PEER_AS, routerId: l2.b4, neighbors: [{ address: l2.a4, asn: TW_AS, localAddress: l2.b4 }] }),
    );
    announceGobgp();
    twill = await lab.startTwill(
      tw,
      'tw',
      `routerId: ${l1.a4}
asn: ${TW_AS}
maxPaths: 2
connectRetry: 1
backoff: { idleHold: 0.2, idleHoldMax: 2, connectRetryMax: 2 }
neighbors:
  - { address: ${l1.b4}, asn: ${PEER_AS}, families: [ipv4], import: all, export: none, description: bird }
  - { address: ${l2.b4}, asn: ${PEER_AS}, families: [ipv4], import: all, export: none, description: gobgp }
kernel: { install: true }
`,
    );
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('two equal paths become one kernel route with both next hops', async () => {
    await until('both sessions Established', async () => (await twill.client.listPeers()).every((p) => p.state === 'Established'), 60_000);
    await until('twill-bgp has both paths of the shared prefix', async () => (await twill.client.listRoutes({ table: 'loc', prefix: SHARED, all: true })).length === 2);
    const r = await until('a multipath kernel route', () => {
      const k = route(SHARED);
      return k && k.gateways.length === 2 ? k : undefined;
    }, 30_000);
    expect(r.gateways).toEqual([l1.b4, l2.b4].sort());
    // Only one route for the prefix, not two competing ones.
    expect(kernelRoutes(tw, 4, '85').filter((k) => k.dst === SHARED)).toHaveLength(1);
    // Both paths are marked as part of the multipath set in the Loc-RIB view.
    const paths = await twill.client.listRoutes({ table: 'loc', prefix: SHARED, all: true });
    expect(paths.map((p) => p.multipath)).toEqual([true, true]);
    // A prefix with one path stays a plain route.
    await until('the BIRD-only prefix', () => route(BIRD_ONLY));
    expect(route(BIRD_ONLY)!.gateways).toEqual([l1.b4]);
  });

  it('one peer going away leaves one next hop; it coming back gives two again', async () => {
    await gobgp.stop();
    await until('single next hop via BIRD', () => route(SHARED)?.gateways.join() === l1.b4, 30_000);
    await gobgp.restart();
    announceGobgp();
    await until('two next hops again', () => route(SHARED)?.gateways.length === 2, 60_000);
    expect(route(SHARED)!.gateways).toEqual([l1.b4, l2.b4].sort());
  });
});
