// Issue 17: twill-bgp must never send a message longer than 4096 octets unless Extended Message
// (RFC 8654) was advertised by both sides. FRR 8.4 always advertises it but accepts long
// messages only when it received the capability too; before the fix it reset the session on
// every table transfer ("Bad Message Length").
//
//   feeder: BIRD (AS 4200000001, extended messages on) ── twill-bgp (AS 65002) ── fr: FRR 8.4
//                                                                             ├── bi: BIRD 2
//                                                                             ├── go: GoBGP
//                                                                             └── fx: FRR 8.4, extendedMessage on our side
//
// Each link 198.18.<n>.1 (twill) / .2 (peer), one session per family. The feeder sends 12,000
// IPv4 /32s and 6,000 IPv6 /64s in five groups with long AS paths (up to 250 prepends) and many
// communities, so twill-bgp's UPDATEs fill the limit; plus one IPv4 and one IPv6 prefix whose
// attributes alone are longer than 4096 octets (1,100 communities). Every receiver must get the
// whole table with no session flap (twill-bgp's establishedCount, FRR's connectionsEstablished /
// connectionsDropped), also through a burst of withdrawals and re-announcements. fx peers last, so
// it gets the whole table in one dump: fewer UPDATEs than 4096-octet messages could carry, and the
// two oversized routes, which only it may get.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { BgpLab, GiveUp, gobgpConfig, until, type BirdDaemon, type FrrDaemon, type GobgpDaemon, type LinkAddrs, type TwillDaemon } from '../support/bgp-peers.js';

const TWILL_AS = 65002;
const FEED_AS = 4200000001;
const FR_AS = 65010;
const FX_AS = 65011;
const BI_AS = 65020;
const GO_AS = 65003;

/** The feeder's groups: static protocol name, prefixes, and what its export filter adds. */
interface Group {
  name: string;
  family: 4 | 6;
  prefixes: string[];
  prepends: number;
  communities: number;
  large: number;
}

function v4Hosts(second: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `10.${second}.${i >> 8}.${i & 255}/32`);
}

function v6Nets(block: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `fd00:${block.toString(16)}:0:${i.toString(16)}::/64`);
}

const GROUPS: Group[] = [
  { name: 'g4a', family: 4, prefixes: v4Hosts(200, 4000), prepends: 250, communities: 300, large: 0 },
  { name: 'g4b', family: 4, prefixes: v4Hosts(201, 4000), prepends: 40, communities: 600, large: 0 },
  { name: 'g4c', family: 4, prefixes: v4Hosts(202, 4000), prepends: 5, communities: 20, large: 100 },
  { name: 'g6a', family: 6, prefixes: v6Nets(0x200, 3000), prepends: 120, communities: 400, large: 0 },
  { name: 'g6b', family: 6, prefixes: v6Nets(0x201, 3000), prepends: 3, communities: 10, large: 150 },
];
/** Attributes alone longer than 4096 octets: only a peer with Extended Message both ways can get these. */
const HUGE: Group[] = [
  { name: 'h4', family: 4, prefixes: ['10.250.0.0/24'], prepends: 1, communities: 1100, large: 0 },
  { name: 'h6', family: 6, prefixes: ['fd00:250::/48'], prepends: 1, communities: 1100, large: 0 },
];
const TOTAL = { 4: 12_000, 6: 6_000 } as const;

/** A BIRD peering with twill-bgp over both families; `head` goes before the sessions. */
function birdConf(lab: BgpLab, name: string, asn: number, l: LinkAddrs, o: { head?: string; session?: string; channel: string }): string {
  return `log "${lab.dir}/${name}.bird.log" { warning, error, fatal };
router id ${l.b4};
protocol device { }
${o.head ?? ''}
template bgp tw {
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 4;${o.session ?? ''}
}
protocol bgp tw4 from tw {
  local ${l.b4} as ${asn};
  neighbor ${l.a4} as ${TWILL_AS};
  ipv4 { ${o.channel} };
}
protocol bgp tw6 from tw {
  local ${l.b6} as ${asn};
  neighbor ${l.a6} as ${TWILL_AS};
  ipv6 { ${o.channel} };
}
`;
}

function feederConf(lab: BgpLab, l: LinkAddrs): string {
  const statics = [...GROUPS, ...HUGE]
    .map((g) => `protocol static ${g.name} {\n  ipv${g.family};\n${g.prefixes.map((p) => `  route ${p} blackhole;`).join('\n')}\n}`)
    .join('\n');
  const body = (g: Group): string => {
    const lines: string[] = [];
    for (let i = 0; i < g.prepends; i++) lines.push(`bgp_path.prepend(${64600 + (i % 300)});`);
    for (let i = 0; i < g.communities; i++) lines.push(`bgp_community.add((65000, ${i}));`);
    for (let i = 0; i < g.large; i++) lines.push(`bgp_large_community.add((${FEED_AS}, ${i}, 17));`);
    return lines.join(' ');
  };
  const filter = [...GROUPS, ...HUGE].map((g) => `  if proto = "${g.name}" then { ${body(g)} accept; }`).join('\n');
  return birdConf(lab, 'feed', FEED_AS, l, {
    head: `${statics}\nfilter to_twill {\n  if source != RTS_STATIC then reject;\n${filter}\n  reject;\n}`,
    session: '\n  enable extended messages on;',
    channel: 'import none; export filter to_twill;',
  });
}

function frrConf(lab: BgpLab, name: string, asn: number, l: LinkAddrs): string {
  const nb = (a: string, local: string): string =>
    [` neighbor ${a} remote-as ${TWILL_AS}`, ` neighbor ${a} update-source ${local}`, ` neighbor ${a} timers connect 1`, ` neighbor ${a} advertisement-interval 0`].join('\n');
  return `frr defaults datacenter
hostname ${name}
log file ${lab.dir}/${name}.frr/bgpd.log informational
!
router bgp ${asn}
 bgp router-id ${l.b4}
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 bgp log-neighbor-changes
${nb(l.a4, l.b4)}
${nb(l.a6, l.b6)}
 !
 address-family ipv4 unicast
  neighbor ${l.a4} activate
 exit-address-family
 !
 address-family ipv6 unicast
  neighbor ${l.a6} activate
 exit-address-family
!
`;
}

function twillConf(links: Record<'feed' | 'fr' | 'bi' | 'go' | 'fx', LinkAddrs>): string {
  const pair = (l: LinkAddrs, asn: number, name: string, extra = ''): string =>
    `  - { address: ${l.b4}, asn: ${asn}, families: [ipv4], import: all, export: all, description: ${name}-v4${extra} }
  - { address: "${l.b6}", asn: ${asn}, families: [ipv6], import: all, export: all, description: ${name}-v6${extra} }`;
  return `routerId: ${links.feed.a4}
asn: ${TWILL_AS}
holdTime: 30
connectRetry: 1
backoff: { idleHold: 0.2, idleHoldMax: 2, connectRetryMax: 2 }
neighbors:
${pair(links.feed, FEED_AS, 'feeder', ', extendedMessage: true')}
${pair(links.fr, FR_AS, 'frr')}
${pair(links.bi, BI_AS, 'bird')}
${pair(links.go, GO_AS, 'gobgp')}
${pair(links.fx, FX_AS, 'frr-extended', ', extendedMessage: true')}
`;
}

interface FrrNeighbor {
  bgpState?: string;
  connectionsEstablished?: number;
  connectionsDropped?: number;
  lastResetDueTo?: string;
  messageStats?: { updatesRecv?: number; notificationsRecv?: number; notificationsSent?: number };
  neighborCapabilities?: { extendedMessage?: string };
}

function frrNeighbor(f: FrrDaemon, addr: string): FrrNeighbor {
  const j = JSON.parse(f.vtysh(`show bgp neighbors ${addr} json`)) as Record<string, FrrNeighbor>;
  return j[addr] ?? {};
}

/** Prefixes FRR received from twill-bgp in a family, counted by FRR itself. */
function frrCount(f: FrrDaemon, family: 4 | 6, twillAddr: string): number {
  const j = JSON.parse(f.vtysh(`show bgp ipv${family} unicast summary json`)) as { peers?: Record<string, { pfxRcd?: number }> };
  return j.peers?.[twillAddr]?.pfxRcd ?? -1;
}

function frrHas(f: FrrDaemon, prefix: string): { communities: number } | undefined {
  const fam = prefix.includes(':') ? 'ipv6' : 'ipv4';
  const j = JSON.parse(f.vtysh(`show bgp ${fam} unicast ${prefix} json`)) as { paths?: { community?: { list?: string[]; string?: string } }[] };
  const p = j.paths?.[0];
  if (!p) return undefined;
  // FRR cuts the "string" form of a long community list; "list" has them all.
  return { communities: p.community?.list?.length ?? (p.community?.string ?? '').split(/\s+/).filter(Boolean).length };
}

function birdCount(b: BirdDaemon, family: 4 | 6): number {
  const m = /(\d+) of \d+ routes for \d+ networks/.exec(b.cmd(`show route count table master${family}`));
  return m ? Number(m[1]) : -1;
}

function birdHas(b: BirdDaemon, prefix: string): boolean {
  try {
    return b.cmd(`show route ${prefix} table master${prefix.includes(':') ? 6 : 4}`).includes(prefix);
  } catch (e) {
    if (/Network not found/.test((e as Error).message)) return false;
    throw e;
  }
}

function gobgpHas(g: GobgpDaemon, prefix: string): boolean {
  try {
    return g.cli(['global', 'rib', '-a', prefix.includes(':') ? 'ipv6' : 'ipv4', prefix, '-j']).includes(prefix);
  } catch (e) {
    if (/not in table|not found/i.test((e as Error).message)) return false;
    throw e;
  }
}

function gobgpCount(g: GobgpDaemon, family: 4 | 6): number {
  const m = /Destination:\s*(\d+)/.exec(g.cli(['global', 'rib', 'summary', '-a', `ipv${family}`]));
  return m ? Number(m[1]) : -1;
}

const reason = missing({ root: true, tools: ['ip', 'bird', 'birdc', 'gobgpd', 'gobgp', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra'] });

describe.skipIf(reason)('UPDATE size: 18,000 prefixes with long attributes from twill-bgp to FRR, BIRD and GoBGP', () => {
  let lab: BgpLab;
  let links: Record<'feed' | 'fr' | 'bi' | 'go' | 'fx', LinkAddrs>;
  let twill: TwillDaemon;
  let feed: BirdDaemon;
  let fr: FrrDaemon;
  /** Started in the second test, once twill-bgp holds the whole table. */
  let fx: FrrDaemon | undefined;
  let fxNs: string;
  let bi: BirdDaemon;
  let go: GobgpDaemon;

  /** Prefix counts per receiver and family. */
  const counts = (): Record<string, number> => ({
    fr4: frrCount(fr, 4, links.fr.a4),
    fr6: frrCount(fr, 6, links.fr.a6),
    bi4: birdCount(bi, 4),
    bi6: birdCount(bi, 6),
    go4: gobgpCount(go, 4),
    go6: gobgpCount(go, 6),
    ...(fx ? { fx4: frrCount(fx, 4, links.fx.a4), fx6: frrCount(fx, 6, links.fx.a6) } : {}),
  });
  /** What every receiver should hold: `v4`/`v6` for the plain ones, one more each for fx. */
  const want = (v4: number, v6: number): Record<string, number> => ({
    fr4: v4,
    fr6: v6,
    bi4: v4,
    bi6: v6,
    go4: v4,
    go6: v6,
    ...(fx ? { fx4: v4 + 1, fx6: v6 + 1 } : {}),
  });
  const waitCounts = async (what: string, v4: number, v6: number): Promise<void> => {
    let last: Record<string, number> = {};
    try {
      await until(what, async () => {
        // A flapping session will not heal: say so at once, with why.
        const peers = await twill.client.listPeers();
        const flapped = receivers().map((r) => peers.find((p) => p.address === r.addr)!).find((p) => p.establishedCount > 1);
        if (flapped) throw new GiveUp(`the session with ${flapped.address} went down and up ${flapped.establishedCount - 1} time(s); last error: ${flapped.lastError ?? '-'}`);
        last = counts();
        return JSON.stringify(last) === JSON.stringify(want(v4, v6));
      }, 240_000, 1000);
    } catch (e) {
      throw new Error(`${(e as Error).message}; last counts ${JSON.stringify(last)}, want ${JSON.stringify(want(v4, v6))}`);
    }
  };
  const receivers = (): { name: string; addr: string }[] =>
    (fx ? (['fr', 'bi', 'go', 'fx'] as const) : (['fr', 'bi', 'go'] as const)).flatMap((k) => [
      { name: `${k}-v4`, addr: links[k].b4 },
      { name: `${k}-v6`, addr: links[k].b6 },
    ]);

  beforeAll(async () => {
    lab = new BgpLab('us');
    const tw = lab.ns('tw');
    const ns = { feed: lab.ns('fe'), fr: lab.ns('fr'), bi: lab.ns('bi'), go: lab.ns('go'), fx: lab.ns('fx') };
    links = { feed: lab.link(tw, ns.feed), fr: lab.link(tw, ns.fr), bi: lab.link(tw, ns.bi), go: lab.link(tw, ns.go), fx: lab.link(tw, ns.fx) };
    fxNs = ns.fx;
    fr = await lab.startFrr(ns.fr, 'fr', frrConf(lab, 'fr', FR_AS, links.fr));
    bi = await lab.startBird(ns.bi, 'bi', birdConf(lab, 'bi', BI_AS, links.bi, { channel: 'import all; export none;' }));
    go = await lab.startGobgp(
      ns.go,
      'go',
      gobgpConfig({
        asn: GO_AS,
        routerId: links.go.b4,
        neighbors: [
          { address: links.go.a4, asn: TWILL_AS, localAddress: links.go.b4, family: 'ipv4-unicast' },
          { address: links.go.a6, asn: TWILL_AS, localAddress: links.go.b6, family: 'ipv6-unicast' },
        ],
      }),
    );
    twill = await lab.startTwill(tw, 'twill', twillConf(links));
    feed = await lab.startBird(ns.feed, 'feed', feederConf(lab, links.feed));
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('every receiver gets the whole table (IPv4 and IPv6) without a session flap', async () => {
    await until('the sessions of the feeder and the receivers Established', async () => {
      const ps = await twill.client.listPeers();
      return ps.filter((p) => p.state === 'Established').length === 8;
    }, 90_000);
    await waitCounts('every receiver holds the whole table', TOTAL[4], TOTAL[6]);
    // A sample with the attributes that make the UPDATEs long.
    const a = frrHas(fr, GROUPS[1]!.prefixes[1234]!);
    expect(a?.communities).toBe(600);
    const peers = await twill.client.listPeers();
    for (const r of receivers()) {
      const p = peers.find((x) => x.address === r.addr)!;
      expect({ peer: r.name, state: p.state, established: p.establishedCount }).toEqual({ peer: r.name, state: 'Established', established: 1 });
    }
    // FRR's own view of the sessions: up once, never dropped. (A NOTIFICATION FRR sends closes
    // that connection, so with one session up and none dropped, any it sent was a Cease on the
    // losing connection of a collision — both sides connect — not an error about our UPDATEs.)
    for (const addr of [links.fr.a4, links.fr.a6]) {
      {
        const n = frrNeighbor(fr, addr);
        expect({ addr, state: n.bgpState, up: n.connectionsEstablished, dropped: n.connectionsDropped }).toEqual({
          addr,
          state: 'Established',
          up: 1,
          dropped: 0,
        });
      }
    }
  });

  it('with Extended Message both ways the table goes in messages over 4096 octets, with the routes too long for 4096', async () => {
    // fx peers only now: it gets the whole table at once, packed up to 65,535 octets per UPDATE.
    const f = await lab.startFrr(fxNs, 'fx', frrConf(lab, 'fx', FX_AS, links.fx));
    fx = f;
    await waitCounts('fx holds the whole table', TOTAL[4], TOTAL[6]);
    for (const addr of [links.fx.a4, links.fx.a6]) {
      const n = frrNeighbor(f, addr);
      expect({ addr, up: n.connectionsEstablished, dropped: n.connectionsDropped, ext: n.neighborCapabilities?.extendedMessage }).toEqual({
        addr,
        up: 1,
        dropped: 0,
        ext: 'advertisedAndReceived',
      });
    }
    // The prefixes alone (12,000 × 5 + 6,000 × 9 octets) need at least 28 UPDATEs of 4096 octets.
    const updates = (frrNeighbor(f, links.fx.a4).messageStats?.updatesRecv ?? 0) + (frrNeighbor(f, links.fx.a6).messageStats?.updatesRecv ?? 0);
    expect(updates).toBeGreaterThan(0);
    expect(updates).toBeLessThan(Math.ceil((TOTAL[4] * 5 + TOTAL[6] * 9) / 4096));
    for (const h of HUGE) {
      const got = await until(`fx holds ${h.prefixes[0]}`, () => frrHas(f, h.prefixes[0]!), 60_000);
      expect(got.communities).toBe(1100);
      expect(frrHas(fr, h.prefixes[0]!)).toBeUndefined();
    }
    for (const h of HUGE) {
      expect(birdHas(bi, h.prefixes[0]!), `BIRD holds ${h.prefixes[0]}`).toBe(false);
      expect(gobgpHas(go, h.prefixes[0]!), `GoBGP holds ${h.prefixes[0]}`).toBe(false);
    }
    // ... although twill-bgp has them, with all their communities.
    const mine = await twill.client.listRoutes({ table: 'loc', prefix: HUGE[0]!.prefixes[0]! });
    expect(mine[0]?.communities).toHaveLength(1100);
    // Negotiated as each side sees it.
    expect(frrNeighbor(fr, links.fr.a4).neighborCapabilities?.extendedMessage).toBe('advertised');
    const peers = await twill.client.listPeers();
    expect(peers.find((p) => p.address === links.fx.b4)!.capabilities?.extendedMessage).toBe(true);
    expect(peers.find((p) => p.address === links.fr.b4)!.capabilities?.extendedMessage).toBe(false);
  });

  it('a burst of withdrawals and re-announcements keeps every session up and every table complete', async () => {
    const [g4a, g4b, , g6a] = GROUPS;
    // Withdraw 7,000 prefixes at once.
    feed.cmd(`disable ${g4a!.name}`);
    feed.cmd(`disable ${g6a!.name}`);
    await waitCounts('receivers lose the withdrawn groups', TOTAL[4] - g4a!.prefixes.length, TOTAL[6] - g6a!.prefixes.length);
    // Re-announce them while withdrawing another group: both in the same export batches.
    feed.cmd(`enable ${g4a!.name}`);
    feed.cmd(`enable ${g6a!.name}`);
    feed.cmd(`disable ${g4b!.name}`);
    await waitCounts('receivers hold all but the second group', TOTAL[4] - g4b!.prefixes.length, TOTAL[6]);
    feed.cmd(`enable ${g4b!.name}`);
    await waitCounts('every receiver holds the whole table again', TOTAL[4], TOTAL[6]);
    const peers = await twill.client.listPeers();
    for (const r of receivers()) {
      const p = peers.find((x) => x.address === r.addr)!;
      expect({ peer: r.name, state: p.state, established: p.establishedCount }).toEqual({ peer: r.name, state: 'Established', established: 1 });
    }
    const frrs: [FrrDaemon, LinkAddrs][] = [[fr, links.fr]];
    if (fx) frrs.push([fx, links.fx]);
    for (const [f, l] of frrs) {
      for (const addr of [l.a4, l.a6]) {
        const n = frrNeighbor(f, addr);
        expect({ addr, up: n.connectionsEstablished, dropped: n.connectionsDropped }).toEqual({ addr, up: 1, dropped: 0 });
      }
    }
    // And twill-bgp never refused to send anything.
    expect(twill.logs().filter((l) => /refusing to send/.test(l.msg))).toEqual([]);
  });
});
