// Route reflection (RFC 4456): a redundant pair of twill-bgp reflectors with one cluster
// id, and three real clients (BIRD, GoBGP, FRR), everyone iBGP in AS 65000 on one LAN.
//
//   198.19.1.0/24:  rr1 (.1, twill-bgp)  rr2 (.2, twill-bgp)  bird (.3)  gobgp (.4)  frr (.5)
//
// Every client peers with both reflectors; the reflectors peer with each other (non-clients, same
// cluster id 10.255.0.1). Each client originates one prefix and must get the other two from both
// reflectors, with the next hop untouched, ORIGINATOR_ID = the originating client and
// CLUSTER_LIST = [10.255.0.1] (read from the clients' own CLIs). Each reflector also reflects to
// the other one, which drops those paths (its cluster id is in the CLUSTER_LIST): no loop, no
// churn, and a withdrawal really empties everyone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { BgpLab, gobgpConfig, until, type BirdDaemon, type FrrDaemon, type GobgpDaemon, type LanMember, type PeerPath, type TwillDaemon } from '../support/bgp-peers.js';

const AS = 65000;
const CLUSTER = '10.255.0.1';
const P = { bird: '10.53.0.0/24', gobgp: '10.54.0.0/24', frr: '10.55.0.0/24' } as const;
type Client = keyof typeof P;
const CLIENTS: Client[] = ['bird', 'gobgp', 'frr'];

const reason = missing({ root: true, tools: ['ip', 'bird', 'birdc', 'gobgpd', 'gobgp', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra'] });

describe.skipIf(reason)('twill-bgp route reflectors (redundant pair, one cluster id) with BIRD, GoBGP and FRR clients', () => {
  let lab: BgpLab;
  let m: LanMember[];
  let rr1: TwillDaemon;
  let rr2: TwillDaemon;
  let bird: BirdDaemon;
  let gobgp: GobgpDaemon;
  let frr: FrrDaemon;
  /** Client name → its LAN address (= its router id). */
  const addr = {} as Record<Client, string>;

  const rrConfig = (self: LanMember, other: LanMember): string => `routerId: ${self.v4}
asn: ${AS}
clusterId: ${CLUSTER}
connectRetry: 1
backoff: { idleHold: 0.2, idleHoldMax: 2, connectRetryMax: 2 }
neighbors:
  - { address: ${other.v4}, asn: ${AS}, families: [ipv4], description: other-reflector }
${CLIENTS.map((c) => `  - { address: ${addr[c]}, asn: ${AS}, families: [ipv4], routeReflectorClient: true, description: ${c} }`).join('\n')}
`;

  /** Every path a client holds for `prefix`, from its own CLI. */
  const clientPaths = (c: Client, prefix: string): PeerPath[] => {
    if (c === 'bird') return bird.paths(4).filter((p) => p.prefix === prefix);
    if (c === 'gobgp') return gobgp.paths(4).filter((p) => p.prefix === prefix);
    return frr.paths(4, prefix).filter((p) => p.prefix === prefix);
  };
  /** BIRD names the protocol; the reflector it came from is then known even without "from". */
  const fromOf = (c: Client, p: PeerPath): string | undefined => {
    if (c !== 'bird') return p.from;
    return p.protocol === 'refl1' ? m[0]!.v4 : p.protocol === 'refl2' ? m[1]!.v4 : p.from;
  };

  beforeAll(async () => {
    lab = new BgpLab('r5');
    const ns = ['rr1', 'rr2', 'bi', 'go', 'fr'].map((t) => lab.ns(t));
    m = lab.lan(ns);
    addr.bird = m[2]!.v4;
    addr.gobgp = m[3]!.v4;
    addr.frr = m[4]!.v4;
    const rrs = [m[0]!.v4, m[1]!.v4];
    bird = await lab.startBird(
      ns[2]!,
      'bi',
      `log "${lab.dir}/bi.bird.log" all;
router id ${addr.bird};
protocol device { }
protocol static st4 { ipv4; route ${P.bird} blackhole; }
template bgp refl {
  local ${addr.bird} as ${AS};
  direct;
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 4;
  ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp refl1 from refl { neighbor ${rrs[0]} as ${AS}; }
protocol bgp refl2 from refl { neighbor ${rrs[1]} as ${AS}; }
`,
    );
    gobgp = await lab.startGobgp(
      ns[3]!,
      'go',
      gobgpConfig({ asn: AS, routerId: addr.gobgp, neighbors: rrs.map((a) => ({ address: a, asn: AS, localAddress: addr.gobgp })) }),
    );
    gobgp.cli(['global', 'rib', 'add', P.gobgp, 'origin', 'igp', '-a', 'ipv4']);
    frr = await lab.startFrr(
      ns[4]!,
      'fr',
      `frr defaults traditional
hostname fr
log file ${lab.dir}/fr.frr/bgpd.log informational
router bgp ${AS}
 bgp router-id ${addr.frr}
 no bgp default ipv4-unicast
 no bgp network import-check
 bgp log-neighbor-changes
${rrs.map((a) => ` neighbor ${a} remote-as ${AS}\n neighbor ${a} timers connect 1\n neighbor ${a} advertisement-interval 0`).join('\n')}
 address-family ipv4 unicast
  network ${P.frr}
${rrs.map((a) => `  neighbor ${a} activate`).join('\n')}
 exit-address-family
`,
    );
    rr1 = await lab.startTwill(ns[0]!, 'rr1', rrConfig(m[0]!, m[1]!));
    rr2 = await lab.startTwill(ns[1]!, 'rr2', rrConfig(m[1]!, m[0]!));
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('both reflectors bring up all four sessions (three clients and the other reflector)', async () => {
    for (const rr of [rr1, rr2]) {
      await until('every session of a reflector Established', async () => {
        const ps = await rr.client.listPeers();
        return ps.length === 4 && ps.every((p) => p.state === 'Established');
      }, 90_000);
    }
  });

  it('each client gets the other clients\' prefixes from both reflectors, next hop untouched, ORIGINATOR_ID = originator, CLUSTER_LIST = [cluster id]', async () => {
    for (const c of CLIENTS) {
      for (const o of CLIENTS.filter((x) => x !== c)) {
        const paths = await until(`${c} holds ${P[o]} from both reflectors`, () => {
          const ps = clientPaths(c, P[o]);
          const from = new Set(ps.map((p) => fromOf(c, p)));
          return from.has(m[0]!.v4) && from.has(m[1]!.v4) ? ps : undefined;
        }, 60_000);
        expect(paths, `${c}'s paths for ${o}'s prefix`).toHaveLength(2);
        for (const p of paths) {
          expect({ client: c, prefix: p.prefix, nextHop: p.nextHop, asPath: p.asPath, originatorId: p.originatorId, clusterList: p.clusterList }).toEqual({
            client: c,
            prefix: P[o],
            nextHop: addr[o],
            asPath: [],
            originatorId: addr[o],
            clusterList: [CLUSTER],
          });
        }
      }
    }
  });

  it('the reflectors reflect to each other too, and each drops what the other reflected (its cluster id is in the CLUSTER_LIST)', async () => {
    for (const [rr, other, otherAddr] of [
      [rr1, rr2, m[1]!.v4],
      [rr2, rr1, m[0]!.v4],
    ] as const) {
      const selfAddr = otherAddr === m[1]!.v4 ? m[0]!.v4 : m[1]!.v4;
      // The other reflector sends the client routes (RFC 4456: client routes go to non-clients).
      const sent = await until('the other reflector sent the client prefixes', async () => {
        const out = await other.client.listRoutes({ table: 'out', peer: selfAddr, limit: 0 });
        return CLIENTS.every((c) => out.some((r) => r.prefix === P[c])) ? out : undefined;
      });
      for (const c of CLIENTS) {
        const r = sent.find((x) => x.prefix === P[c])!;
        expect({ prefix: r.prefix, originatorId: r.originatorId, clusterList: r.clusterList }).toEqual({ prefix: P[c], originatorId: addr[c], clusterList: [CLUSTER] });
      }
      // ... and this one does not use them: the best path is the client's own, and any path from
      // the other reflector that is kept at all is not accepted, with the loop named as the reason.
      for (const c of CLIENTS) {
        const paths = await rr.client.listRoutes({ table: 'loc', prefix: P[c], all: true });
        expect(paths[0], `best path of ${P[c]}`).toMatchObject({ prefix: P[c], best: true, peer: addr[c], nextHop: addr[c] });
        const viaOther = paths.filter((p) => p.peer === otherAddr);
        for (const p of viaOther) {
          expect(p.best).toBe(false);
          expect(p.reason ?? '').toMatch(/CLUSTER_LIST|cluster/i);
        }
        const adjIn = await rr.client.listRoutes({ table: 'in', peer: otherAddr, prefix: P[c] });
        for (const p of adjIn) {
          expect(p.best, `${P[c]} from the other reflector must not be accepted`).toBe(false);
          expect(p.reason ?? '').toMatch(/CLUSTER_LIST|cluster/i);
        }
      }
      // What this reflector sends its clients was reflected once, never twice.
      for (const c of CLIENTS) {
        const out = await rr.client.listRoutes({ table: 'out', peer: addr[c], limit: 0 });
        for (const o of CLIENTS.filter((x) => x !== c)) {
          const r = out.find((x) => x.prefix === P[o]);
          expect(r, `${P[o]} sent to ${c}`).toBeDefined();
          expect(r!.clusterList).toEqual([CLUSTER]);
        }
        // Never back to the originator.
        expect(out.some((x) => x.prefix === P[c])).toBe(false);
      }
    }
  });

  it('no route churn once converged (no UPDATE moves anywhere for 6 s)', async () => {
    const snapshot = async (): Promise<string> => {
      const counts: string[] = [];
      for (const [name, rr] of [
        ['rr1', rr1],
        ['rr2', rr2],
      ] as const) {
        for (const p of await rr.client.listPeers()) counts.push(`${name}/${p.address}: in ${p.messages.received.update} out ${p.messages.sent.update} est ${p.establishedCount}`);
      }
      return counts.sort().join('\n');
    };
    // Converged = the counters stopped moving for 2 s; then they must stay put for 6 s more.
    let prev = await snapshot();
    await until('the reflectors quiet down', async () => {
      await new Promise((r) => setTimeout(r, 2000));
      const now = await snapshot();
      const same = now === prev;
      prev = now;
      return same;
    }, 60_000, 0);
    await new Promise((r) => setTimeout(r, 6000));
    expect(await snapshot()).toBe(prev);
  });

  it('a client withdrawing its prefix empties it everywhere (nothing keeps it alive between the reflectors)', async () => {
    gobgp.cli(['global', 'rib', 'del', P.gobgp, '-a', 'ipv4']);
    await until('BIRD and FRR lose the GoBGP prefix', () => clientPaths('bird', P.gobgp).length === 0 && clientPaths('frr', P.gobgp).length === 0);
    for (const rr of [rr1, rr2]) {
      await until('the reflector loses the GoBGP prefix', async () => (await rr.client.listRoutes({ table: 'loc', prefix: P.gobgp, all: true })).length === 0);
    }
    // And back.
    gobgp.cli(['global', 'rib', 'add', P.gobgp, 'origin', 'igp', '-a', 'ipv4']);
    await until('BIRD and FRR learn it again from both reflectors', () => clientPaths('bird', P.gobgp).length === 2 && clientPaths('frr', P.gobgp).length === 2);
  });
});
