// ADD-PATH send (RFC 7911) against a real receiver: a twill-bgp route reflector with two clients
// (GoBGP and FRR) that originate the same prefix, and a BIRD client with `add paths rx`. BIRD must
// hold both paths (ORIGINATOR_ID / CLUSTER_LIST per path), and lose exactly one when its
// originator withdraws it. Everyone is iBGP in AS 65000 on one LAN:
//
//   198.19.1.0/24:  rr (.1, twill-bgp)  gobgp (.2)  frr (.3)  bird (.4)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { BgpLab, gobgpConfig, until, type BirdDaemon, type FrrDaemon, type GobgpDaemon, type LanMember, type TwillDaemon } from '../support/bgp-peers.js';

const AS = 65000;
const CLUSTER = '10.255.0.7';
const PREFIX = '10.57.0.0/24';

const reason = missing({ root: true, tools: ['ip', 'bird', 'birdc', 'gobgpd', 'gobgp', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra'] });

describe.skipIf(reason)('ADD-PATH send: twill-bgp reflector → BIRD with add paths rx', () => {
  let lab: BgpLab;
  let m: LanMember[];
  let rr: TwillDaemon;
  let bird: BirdDaemon;
  let gobgp: GobgpDaemon;
  let frr: FrrDaemon;

  beforeAll(async () => {
    lab = new BgpLab('ap');
    const ns = ['rr', 'go', 'fr', 'bi'].map((t) => lab.ns(t));
    m = lab.lan(ns);
    const [r, g, f, b] = m.map((x) => x.v4) as [string, string, string, string];
    gobgp = await lab.startGobgp(
      ns[1]!,
      'go',
      gobgpConfig({ asn: AS, routerId: g, neighbors: [{ address: r, asn: AS, localAddress: g }] }),
    );
    gobgp.cli(['global', 'rib', 'add', PREFIX, 'origin', 'igp', '-a', 'ipv4']);
    frr = await lab.startFrr(
      ns[2]!,
      'fr',
      `frr defaults traditional
hostname fr
log file ${lab.dir}/fr.frr/bgpd.log informational
router bgp ${AS}
 bgp router-id ${f}
 no bgp default ipv4-unicast
 no bgp network import-check
 neighbor ${r} remote-as ${AS}
 neighbor ${r} timers connect 1
 neighbor ${r} advertisement-interval 0
 address-family ipv4 unicast
  network ${PREFIX}
  neighbor ${r} activate
 exit-address-family
`,
    );
    bird = await lab.startBird(
      ns[3]!,
      'bi',
      `log "${lab.dir}/bi.bird.log" all;
router id ${b};
protocol device { }
protocol bgp refl {
  local ${b} as ${AS};
  neighbor ${r} as ${AS};
  direct;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 4;
  ipv4 { import all; export none; add paths rx; };
}
`,
    );
    rr = await lab.startTwill(
      ns[0]!,
      'rr',
      `routerId: ${r}
asn: ${AS}
clusterId: ${CLUSTER}
connectRetry: 1
backoff: { idleHold: 0.2, idleHoldMax: 2, connectRetryMax: 2 }
neighbors:
  - { address: ${g}, asn: ${AS}, families: [ipv4], routeReflectorClient: true, description: gobgp }
  - { address: ${f}, asn: ${AS}, families: [ipv4], routeReflectorClient: true, description: frr }
  - { address: ${b}, asn: ${AS}, families: [ipv4], routeReflectorClient: true, description: bird, addPath: { send: true } }
`,
    );
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('BIRD holds both clients\' paths of one prefix, each with its own ORIGINATOR_ID and our CLUSTER_LIST', async () => {
    await until('every session of the reflector Established', async () => {
      const ps = await rr.client.listPeers();
      return ps.length === 3 && ps.every((p) => p.state === 'Established');
    }, 90_000);
    const g = m[1]!.v4;
    const f = m[2]!.v4;
    const paths = await until('BIRD holds two paths', () => {
      const ps = bird.paths(4).filter((p) => p.prefix === PREFIX);
      return ps.length === 2 ? ps : undefined;
    }, 60_000);
    expect(paths.map((p) => ({ nextHop: p.nextHop, originatorId: p.originatorId, clusterList: p.clusterList })).sort((a, b) => a.nextHop.localeCompare(b.nextHop))).toEqual(
      [g, f].sort().map((a) => ({ nextHop: a, originatorId: a, clusterList: [CLUSTER] })),
    );
    // The reflector's own view of what it sent BIRD: two paths, two path ids.
    const out = await rr.client.listRoutes({ table: 'out', peer: m[3]!.v4, prefix: PREFIX });
    expect(out).toHaveLength(2);
    expect(new Set(out.map((r) => r.pathId)).size).toBe(2);
  });

  it('when GoBGP withdraws, BIRD keeps exactly FRR\'s path', async () => {
    gobgp.cli(['global', 'rib', 'del', PREFIX, '-a', 'ipv4']);
    const left = await until('BIRD holds one path', () => {
      const ps = bird.paths(4).filter((p) => p.prefix === PREFIX);
      return ps.length === 1 ? ps : undefined;
    }, 60_000);
    expect(left[0]!.nextHop).toBe(m[2]!.v4);
    expect(left[0]!.originatorId).toBe(m[2]!.v4);
  });
});
