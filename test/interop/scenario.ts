// The interop scenario every real BGP implementation goes through against twill-bgp:
//
//   [eb: impl, AS 4200000002] ── link 1 ── [tw: twill-bgp, AS 4200000001] ── link 2 ── [ib: impl, AS 4200000001]
//        198.18.1.2 / fd00:1::2        198.18.1.1 / fd00:1::1   198.18.2.1 / fd00:2::1     198.18.2.2 / fd00:2::2
//
// One session per family per link (eBGP and iBGP, IPv4 and IPv6 transport), 4-octet AS numbers
// on both sides. twill-bgp originates T, the eBGP peer E, the iBGP peer I; every speaker must end
// up with the others' prefixes with the right AS path and next hop. Then: withdrawals both ways, a
// NOTIFICATION from the peer (logged with its meaning), a peer restart, and SIGTERM (CEASE, exit 0).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { BgpLab, gobgpConfig, until, type BirdDaemon, type FrrDaemon, type GobgpDaemon, type LinkAddrs, type PeerRoute, type TwillDaemon } from '../support/bgp-peers.js';

export type Impl = 'bird' | 'gobgp' | 'frr';

export const TWILL_AS = 4200000001;
export const EBGP_AS = 4200000002;

const T = { v4: '10.100.0.0/24', v6: 'fd00:100::/48', community: '65000:100' };
const E = { v4: '10.101.0.0/24', v6: 'fd00:101::/48' };
const I = { v4: '10.102.0.0/24', v6: 'fd00:102::/48' };
/** Community the peers attach to what they originate. */
const PEER_COMMUNITY = '65010:1';

interface PeerSpec {
  name: string;
  asn: number;
  routerId: string;
  /** The peer's own addresses and twill's, on their link. */
  local4: string;
  local6: string;
  twill4: string;
  twill6: string;
  ibgp: boolean;
  prefixes: { v4: string; v6: string };
}

/** What the scenario needs of a running peer, whatever its implementation. */
interface PeerKit {
  routes(family: 4 | 6): PeerRoute[];
  established(family: 4 | 6): boolean;
  /** Stop / start originating one of its prefixes. */
  withdraw(prefix: string): void;
  announce(prefix: string): void;
  /** Administratively shut the session of one family down (the peer sends a Cease), and back up. */
  shutdown(family: 4 | 6): void;
  enable(family: 4 | 6): void;
  /** Kill (no NOTIFICATION) and start again; it re-originates its prefixes. */
  restart(): Promise<void>;
  /** Did the peer receive a Cease NOTIFICATION on the session of this family? */
  receivedCease(family: 4 | 6): boolean;
}

function requirements(impl: Impl): string[] {
  if (impl === 'bird') return ['bird', 'birdc'];
  if (impl === 'gobgp') return ['gobgpd', 'gobgp'];
  return ['vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra'];
}

// ---- BIRD -------------------------------------------------------------------------------------

function birdConf(lab: BgpLab, s: PeerSpec): string {
  // iBGP is multihop for BIRD unless told the peer is directly connected.
  const direct = s.ibgp ? '\n  direct;' : '';
  return `log "${lab.dir}/${s.name}.bird.log" all;
router id ${s.routerId};
protocol device { }
protocol static st4 { ipv4; route ${s.prefixes.v4} blackhole; }
protocol static st6 { ipv6; route ${s.prefixes.v6} blackhole; }
filter out_static {
  if source != RTS_STATIC then reject;
  bgp_community.add((${PEER_COMMUNITY.replace(':', ',')}));
  accept;
}
template bgp tw {
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 4;
  error forget time 10;
}
protocol bgp tw4 from tw {
  local ${s.local4} as ${s.asn};
  neighbor ${s.twill4} as ${TWILL_AS};${direct}
  ipv4 { import all; export filter out_static; };
}
protocol bgp tw6 from tw {
  local ${s.local6} as ${s.asn};
  neighbor ${s.twill6} as ${TWILL_AS};${direct}
  ipv6 { import all; export filter out_static; };
}
`;
}

function birdKit(b: BirdDaemon, s: PeerSpec): PeerKit {
  const stat = (prefix: string): string => (prefix === s.prefixes.v4 ? 'st4' : 'st6');
  return {
    routes: (f) => b.routes(f),
    established: (f) => b.established(`tw${f}`),
    withdraw: (p) => void b.cmd(`disable ${stat(p)}`),
    announce: (p) => void b.cmd(`enable ${stat(p)}`),
    shutdown: (f) => void b.cmd(`disable tw${f}`),
    enable: (f) => void b.cmd(`enable tw${f}`),
    restart: () => b.restart(),
    receivedCease: (f) => /Received: Administrative shutdown/i.test(b.cmd(`show protocols all tw${f}`)),
  };
}

// ---- GoBGP ------------------------------------------------------------------------------------

function gobgpConf(s: PeerSpec): string {
  return gobgpConfig({
    asn: s.asn,
    routerId: s.routerId,
    neighbors: [
      { address: s.twill4, asn: TWILL_AS, localAddress: s.local4, family: 'ipv4-unicast' },
      { address: s.twill6, asn: TWILL_AS, localAddress: s.local6, family: 'ipv6-unicast' },
    ],
  });
}

function gobgpKit(g: GobgpDaemon, s: PeerSpec): PeerKit {
  const fam = (p: string): string => (p.includes(':') ? 'ipv6' : 'ipv4');
  const addr = (f: 4 | 6): string => (f === 4 ? s.twill4 : s.twill6);
  const announce = (p: string): void => void g.cli(['global', 'rib', 'add', p, 'community', PEER_COMMUNITY, '-a', fam(p)]);
  announce(s.prefixes.v4);
  announce(s.prefixes.v6);
  return {
    routes: (f) => g.routes(f),
    established: (f) => g.established(addr(f)),
    withdraw: (p) => void g.cli(['global', 'rib', 'del', p, '-a', fam(p)]),
    announce,
    shutdown: (f) => void g.cli(['neighbor', addr(f), 'disable']),
    enable: (f) => void g.cli(['neighbor', addr(f), 'enable']),
    restart: async () => {
      await g.restart();
      announce(s.prefixes.v4);
      announce(s.prefixes.v6);
    },
    receivedCease: (f) => {
      const peers = JSON.parse(g.cli(['neighbor', '-j'])) as { conf?: { neighbor_address?: string }; state?: { messages?: { received?: { notification?: number | string } } } }[];
      const p = peers.find((x) => x.conf?.neighbor_address === addr(f));
      return Number(p?.state?.messages?.received?.notification ?? 0) > 0;
    },
  };
}

// ---- FRR --------------------------------------------------------------------------------------

function frrConf(lab: BgpLab, s: PeerSpec): string {
  const nb = (a: string, local: string): string =>
    [` neighbor ${a} remote-as ${TWILL_AS}`, ` neighbor ${a} update-source ${local}`, ` neighbor ${a} timers connect 1`, ` neighbor ${a} advertisement-interval 0`].join('\n');
  return `frr defaults traditional
hostname ${s.name}
log file ${lab.dir}/${s.name}.frr/bgpd.log informational
!
route-map SETC permit 10
 set community ${PEER_COMMUNITY}
!
router bgp ${s.asn}
 bgp router-id ${s.routerId}
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
 bgp log-neighbor-changes
${nb(s.twill4, s.local4)}
${nb(s.twill6, s.local6)}
 !
 address-family ipv4 unicast
  network ${s.prefixes.v4} route-map SETC
  neighbor ${s.twill4} activate
 exit-address-family
 !
 address-family ipv6 unicast
  network ${s.prefixes.v6} route-map SETC
  neighbor ${s.twill6} activate
 exit-address-family
!
`;
}

function frrKit(f: FrrDaemon, s: PeerSpec): PeerKit {
  const addr = (fam: 4 | 6): string => (fam === 4 ? s.twill4 : s.twill6);
  const af = (p: string): string => (p.includes(':') ? 'ipv6 unicast' : 'ipv4 unicast');
  const conf = (...lines: string[]): void => void f.vtysh('configure terminal', `router bgp ${s.asn}`, ...lines);
  return {
    routes: (fam) => f.routes(fam),
    established: (fam) => f.established(addr(fam)),
    withdraw: (p) => conf(`address-family ${af(p)}`, `no network ${p}`),
    announce: (p) => conf(`address-family ${af(p)}`, `network ${p} route-map SETC`),
    shutdown: (fam) => conf(`neighbor ${addr(fam)} shutdown`),
    enable: (fam) => conf(`no neighbor ${addr(fam)} shutdown`),
    restart: () => f.restart(),
    receivedCease: (fam) => {
      const j = JSON.parse(f.vtysh(`show bgp neighbors ${addr(fam)} json`)) as Record<string, { lastNotificationReason?: string; lastResetDueTo?: string; messageStats?: { notificationsRecv?: number } }>;
      const n = j[addr(fam)];
      return (n?.messageStats?.notificationsRecv ?? 0) > 0 || /Cease/i.test(`${n?.lastNotificationReason ?? ''} ${n?.lastResetDueTo ?? ''}`);
    },
  };
}

// ---- the scenario -----------------------------------------------------------------------------

function twillConfig(l1: LinkAddrs, l2: LinkAddrs): string {
  return `# twill-bgp in the middle: eBGP to ${l1.b4}, iBGP to ${l2.b4}, one session per family
routerId: ${l1.a4}
asn: ${TWILL_AS}
holdTime: 30
connectRetry: 1
backoff: { idleHold: 0.2, idleHoldMax: 2, connectRetryMax: 2 }
neighbors:
  - { address: ${l1.b4}, asn: ${EBGP_AS}, families: [ipv4], import: all, export: all, description: ebgp-v4 }
  - { address: "${l1.b6}", asn: ${EBGP_AS}, families: [ipv6], import: all, export: all, description: ebgp-v6 }
  - { address: ${l2.b4}, asn: ${TWILL_AS}, families: [ipv4], nextHopSelf: true, description: ibgp-v4 }
  - { address: "${l2.b6}", asn: ${TWILL_AS}, families: [ipv6], nextHopSelf: true, description: ibgp-v6 }
originate:
  - prefix: ${T.v4}
    communities: ["${T.community}"]
  - prefix: "${T.v6}"
    communities: ["${T.community}"]
`;
}

function find(routes: PeerRoute[], prefix: string): PeerRoute | undefined {
  return routes.find((r) => r.prefix === prefix);
}

export function interopSuite(impl: Impl): void {
  const reason = missing({ root: true, tools: ['ip', ...requirements(impl)] });

  describe.skipIf(reason)(`twill-bgp ⇄ ${impl}`, () => {
    let lab: BgpLab;
    let twill: TwillDaemon;
    let eb: PeerKit;
    let ib: PeerKit;
    let l1: LinkAddrs;
    let l2: LinkAddrs;

    const twillRoute = async (prefix: string): Promise<import('../../bgp/server/types.js').RouteView | undefined> =>
      (await twill.client.listRoutes({ table: 'loc', prefix }))[0];
    const allUp = async (): Promise<boolean> => (await twill.client.listPeers()).every((p) => p.state === 'Established');

    beforeAll(async () => {
      lab = new BgpLab(impl.slice(0, 2));
      const tw = lab.ns('tw');
      const ebNs = lab.ns('eb');
      const ibNs = lab.ns('ib');
      l1 = lab.link(tw, ebNs);
      l2 = lab.link(tw, ibNs);
      const ebSpec: PeerSpec = { name: 'eb', asn: EBGP_AS, routerId: l1.b4, local4: l1.b4, local6: l1.b6, twill4: l1.a4, twill6: l1.a6, ibgp: false, prefixes: E };
      const ibSpec: PeerSpec = { name: 'ib', asn: TWILL_AS, routerId: l2.b4, local4: l2.b4, local6: l2.b6, twill4: l2.a4, twill6: l2.a6, ibgp: true, prefixes: I };
      const start = async (ns: string, s: PeerSpec): Promise<PeerKit> => {
        if (impl === 'bird') return birdKit(await lab.startBird(ns, s.name, birdConf(lab, s)), s);
        if (impl === 'gobgp') return gobgpKit(await lab.startGobgp(ns, s.name, gobgpConf(s)), s);
        return frrKit(await lab.startFrr(ns, s.name, frrConf(lab, s)), s);
      };
      eb = await start(ebNs, ebSpec);
      ib = await start(ibNs, ibSpec);
      twill = await lab.startTwill(tw, 'twill', twillConfig(l1, l2));
    });

    afterAll(async () => {
      await lab?.cleanup();
    });

    it('eBGP and iBGP sessions over IPv4 and IPv6 come up, with 4-octet AS numbers', async () => {
      await until('all twill-bgp sessions Established', allUp, 60_000);
      const peers = await twill.client.listPeers();
      const byAddress = (a: (string | number)[], b: (string | number)[]): number => String(a[0]).localeCompare(String(b[0]));
      expect(peers.map((p) => [p.address, p.asn, p.type]).sort(byAddress)).toEqual(
        [
          [l1.b4, EBGP_AS, 'ebgp'],
          [l2.b4, TWILL_AS, 'ibgp'],
          [l1.b6, EBGP_AS, 'ebgp'],
          [l2.b6, TWILL_AS, 'ibgp'],
        ].sort(byAddress),
      );
      for (const p of peers) expect(p.capabilities?.fourOctetAs).toBe(true);
      await until(`${impl} sees its sessions Established`, () => eb.established(4) && eb.established(6) && ib.established(4) && ib.established(6));
    });

    it('twill-bgp learns IPv4 and IPv6 prefixes from both peers with their AS path and next hop', async () => {
      const e4 = await until(`${E.v4} from the eBGP peer`, () => twillRoute(E.v4));
      expect(e4).toMatchObject({ asPath: [EBGP_AS], nextHop: l1.b4, peer: l1.b4, best: true });
      expect(e4.communities).toContain(PEER_COMMUNITY);
      const e6 = await until(`${E.v6} from the eBGP peer`, () => twillRoute(E.v6));
      expect(e6).toMatchObject({ asPath: [EBGP_AS], peer: l1.b6 });
      expect(e6.nextHop.split(/[\s%]/)[0]).toBe(l1.b6);
      const i4 = await until(`${I.v4} from the iBGP peer`, () => twillRoute(I.v4));
      expect(i4).toMatchObject({ asPath: [], nextHop: l2.b4, peer: l2.b4 });
      const i6 = await until(`${I.v6} from the iBGP peer`, () => twillRoute(I.v6));
      expect(i6).toMatchObject({ asPath: [], peer: l2.b6 });
      expect(i6.nextHop.split(/[\s%]/)[0]).toBe(l2.b6);
    });

    it(`${impl} peers learn twill-bgp's prefixes and the transit ones with correct AS paths and next hops`, async () => {
      // eBGP peer: everything carries our AS, next hop is our address on its link.
      const e = await until(`eBGP ${impl} holds T and I`, () => {
        const r4 = eb.routes(4);
        const r6 = eb.routes(6);
        const all = [find(r4, T.v4), find(r6, T.v6), find(r4, I.v4), find(r6, I.v6)];
        return all.every(Boolean) ? (all as PeerRoute[]) : undefined;
      });
      expect(e[0]).toMatchObject({ asPath: [TWILL_AS], nextHop: l1.a4 });
      expect(e[0]!.communities).toContain(T.community);
      expect(e[1]).toMatchObject({ asPath: [TWILL_AS], nextHop: l1.a6 });
      expect(e[2]).toMatchObject({ asPath: [TWILL_AS], nextHop: l1.a4 });
      expect(e[3]).toMatchObject({ asPath: [TWILL_AS], nextHop: l1.a6 });
      // iBGP peer: our own prefixes with an empty path, the eBGP peer's with its AS; next hop self.
      const i = await until(`iBGP ${impl} holds T and E`, () => {
        const r4 = ib.routes(4);
        const r6 = ib.routes(6);
        const all = [find(r4, T.v4), find(r6, T.v6), find(r4, E.v4), find(r6, E.v6)];
        return all.every(Boolean) ? (all as PeerRoute[]) : undefined;
      });
      expect(i[0]).toMatchObject({ asPath: [], nextHop: l2.a4 });
      expect(i[1]).toMatchObject({ asPath: [], nextHop: l2.a6 });
      expect(i[2]).toMatchObject({ asPath: [EBGP_AS], nextHop: l2.a4 });
      expect(i[2]!.communities).toContain(PEER_COMMUNITY);
      expect(i[3]).toMatchObject({ asPath: [EBGP_AS], nextHop: l2.a6 });
    });

    it('withdrawals propagate both ways', async () => {
      // Ours, through the API.
      expect(await twill.client.deletePath(T.v4)).toBe(true);
      expect(await twill.client.deletePath(T.v6)).toBe(true);
      await until(`${impl} peers lose T`, () => !find(eb.routes(4), T.v4) && !find(eb.routes(6), T.v6) && !find(ib.routes(4), T.v4) && !find(ib.routes(6), T.v6));
      await twill.client.addPath({ prefix: T.v4, communities: [T.community] });
      await twill.client.addPath({ prefix: T.v6, communities: [T.community] });
      await until(`${impl} peers learn T again`, () => !!find(eb.routes(4), T.v4) && !!find(ib.routes(6), T.v6));
      // The eBGP peer's: twill-bgp drops them and withdraws them from the iBGP peer.
      eb.withdraw(E.v4);
      eb.withdraw(E.v6);
      await until('twill-bgp loses E', async () => !(await twillRoute(E.v4)) && !(await twillRoute(E.v6)));
      await until(`iBGP ${impl} loses E`, () => !find(ib.routes(4), E.v4) && !find(ib.routes(6), E.v6));
      eb.announce(E.v4);
      eb.announce(E.v6);
      await until(`iBGP ${impl} learns E again`, () => !!find(ib.routes(4), E.v4) && !!find(ib.routes(6), E.v6));
    });

    it('a NOTIFICATION from the peer is logged with its meaning, and the session comes back', async () => {
      eb.shutdown(4);
      const line = await until('twill-bgp logs the NOTIFICATION', () =>
        twill.logs().find((l) => l.code === 6 && l.direction === 'received' && typeof l.peer === 'string' && l.peer === l1.b4),
      );
      expect(line.msg).toMatch(new RegExp(`NOTIFICATION from ${l1.b4.replace(/\./g, '\\.')}: Cease / (Administrative Shutdown|Peer De-configured|Administrative Reset)`));
      const peer = (await twill.client.listPeers(l1.b4))[0]!;
      expect(peer.state).not.toBe('Established');
      expect(peer.lastError).toMatch(/Cease/);
      eb.enable(4);
      await until('the eBGP IPv4 session is back', async () => (await twill.client.listPeers(l1.b4))[0]?.state === 'Established', 60_000);
      await until(`${E.v4} learned again`, () => twillRoute(E.v4));
    });

    it('a peer restart re-establishes the sessions and the routes come back', async () => {
      const before = (await twill.client.listPeers(l1.b4))[0]!.establishedCount;
      await eb.restart();
      await until('the eBGP sessions re-established', async () => {
        const ps = await twill.client.listPeers();
        const v4 = ps.find((p) => p.address === l1.b4)!;
        const v6 = ps.find((p) => p.address === l1.b6)!;
        return v4.state === 'Established' && v6.state === 'Established' && v4.establishedCount > before;
      }, 90_000);
      await until('E re-learned', async () => !!(await twillRoute(E.v4)) && !!(await twillRoute(E.v6)));
      await until(`restarted ${impl} learns T again`, () => !!find(eb.routes(4), T.v4) && !!find(eb.routes(6), T.v6), 60_000);
    });

    it('SIGTERM sends CEASE to every peer and exits 0', async () => {
      const code = await twill.stop();
      expect(code).toBe(0);
      const sent = twill.logs().filter((l) => l.code === 6 && l.direction === 'sent');
      expect(new Set(sent.map((l) => l.peer))).toEqual(new Set([l1.b4, l1.b6, l2.b4, l2.b6]));
      await until(`${impl} peers saw the Cease`, () => eb.receivedCease(4) && eb.receivedCease(6) && ib.receivedCease(4) && ib.receivedCease(6));
    });
  });
}
