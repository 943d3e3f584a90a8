// twill-bgp as a route-reflector client of FRR (`neighbor X route-reflector-client`),
// next to a BIRD client, everyone iBGP in AS 65000 on one LAN:
//
//   198.19.1.0/24:  frr reflector (.1, cluster id 10.255.0.9)   twill-bgp (.2)   bird (.3)
//
// twill-bgp must accept the reflected path (not mistake it for a loop), show ORIGINATOR_ID /
// CLUSTER_LIST, install it in the kernel via the originator (third-party next hop), and its own
// prefix must reach BIRD with ORIGINATOR_ID = twill-bgp's router id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { BgpLab, kernelRoutes, until, type BirdDaemon, type FrrDaemon, type LanMember, type TwillDaemon } from '../support/bgp-peers.js';

const AS = 65000;
const FRR_CLUSTER = '10.255.0.9';
const TW_PREFIX = '10.52.0.0/24';
const BIRD_PREFIX = '10.53.0.0/24';

const reason = missing({ root: true, tools: ['ip', 'bird', 'birdc', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra'] });

describe.skipIf(reason)('twill-bgp as a client of an FRR route reflector', () => {
  let lab: BgpLab;
  let m: LanMember[];
  let frr: FrrDaemon;
  let bird: BirdDaemon;
  let twill: TwillDaemon;

  beforeAll(async () => {
    lab = new BgpLab('rc');
    const ns = ['rr', 'tw', 'bi'].map((t) => lab.ns(t));
    m = lab.lan(ns);
    const clients = [m[1]!.v4, m[2]!.v4];
    frr = await lab.startFrr(
      ns[0]!,
      'rr',
      `frr defaults traditional
hostname rr
log file ${lab.dir}/rr.frr/bgpd.log informational
router bgp ${AS}
 bgp router-id ${m[0]!.v4}
 bgp cluster-id ${FRR_CLUSTER}
 no bgp default ipv4-unicast
 bgp log-neighbor-changes
${clients.map((a) => ` neighbor ${a} remote-as ${AS}\n neighbor ${a} timers connect 1\n neighbor ${a} advertisement-interval 0`).join('\n')}
 address-family ipv4 unicast
${clients.map((a) => `  neighbor ${a} activate\n  neighbor ${a} route-reflector-client`).join('\n')}
 exit-address-family
`,
    );
    bird = await lab.startBird(
      ns[2]!,
      'bi',
      `log "${lab.dir}/bi.bird.log" all;
router id ${m[2]!.v4};
protocol device { }
protocol static st4 { ipv4; route ${BIRD_PREFIX} blackhole; }
protocol bgp refl {
  local ${m[2]!.v4} as ${AS};
  neighbor ${m[0]!.v4} as ${AS};
  direct;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 4;
  ipv4 { import all; export where source = RTS_STATIC; };
}
`,
    );
    twill = await lab.startTwill(
      ns[1]!,
      'tw',
      `routerId: ${m[1]!.v4}
asn: ${AS}
connectRetry: 1
backoff: { idleHold: 0.2, idleHoldMax: 2, connectRetryMax: 2 }
neighbors:
  - { address: ${m[0]!.v4}, asn: ${AS}, families: [ipv4], description: frr-reflector }
originate:
  - ${TW_PREFIX}
kernel: { install: true }
`,
    );
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('the session with the reflector comes up', async () => {
    await until('twill-bgp ⇄ FRR Established', async () => (await twill.client.listPeers())[0]?.state === 'Established', 60_000);
    await until('FRR sees twill-bgp Established', () => frr.established(m[1]!.v4));
  });

  it('twill-bgp accepts the reflected BIRD route with ORIGINATOR_ID = BIRD and CLUSTER_LIST = [FRR cluster id]', async () => {
    const r = await until(`${BIRD_PREFIX} in twill-bgp's Loc-RIB`, async () => (await twill.client.listRoutes({ table: 'loc', prefix: BIRD_PREFIX }))[0], 60_000);
    expect(r).toMatchObject({ prefix: BIRD_PREFIX, best: true, peer: m[0]!.v4, nextHop: m[2]!.v4, asPath: [], originatorId: m[2]!.v4, clusterList: [FRR_CLUSTER] });
  });

  it('the reflected route goes into the kernel via the originator (third-party next hop), not the reflector', async () => {
    await until('kernel route via BIRD', () => kernelRoutes(m[1]!.ns, 4, '85').some((k) => k.dst === BIRD_PREFIX && k.gateways.join() === m[2]!.v4), 30_000);
  });

  it("BIRD gets twill-bgp's prefix through the reflector with ORIGINATOR_ID = twill-bgp's router id", async () => {
    const p = await until(`BIRD holds ${TW_PREFIX}`, () => bird.paths(4).find((x) => x.prefix === TW_PREFIX), 60_000);
    expect({ nextHop: p.nextHop, originatorId: p.originatorId, clusterList: p.clusterList }).toEqual({ nextHop: m[1]!.v4, originatorId: m[1]!.v4, clusterList: [FRR_CLUSTER] });
  });

  it("twill-bgp withdraws its prefix and BIRD loses it; BIRD's withdrawal leaves twill-bgp's kernel", async () => {
    expect(await twill.client.deletePath(TW_PREFIX)).toBe(true);
    await until('BIRD loses twill-bgp\'s prefix', () => !bird.paths(4).some((x) => x.prefix === TW_PREFIX));
    bird.cmd('disable st4');
    await until('twill-bgp loses BIRD\'s prefix (Loc-RIB and kernel)', async () =>
      (await twill.client.listRoutes({ table: 'loc', prefix: BIRD_PREFIX })).length === 0 && !kernelRoutes(m[1]!.ns, 4, '85').some((k) => k.dst === BIRD_PREFIX),
    );
  });
});
