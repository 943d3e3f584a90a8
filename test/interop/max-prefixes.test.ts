// maxPrefixes (RFC 4486). BIRD sends 10 IPv4 prefixes on three sessions limited to 5 (actions
// reset, warn, stop — one link each) and 3 IPv6 prefixes on one limited to 5 (per family):
//
//   [bi: BIRD, AS 65002] ── 198.18.1.0/24, fd00:1::/64 ── [tw: twill-bgp, AS 65001]
//                        ── 198.18.2.0/24 (warn) ──
//                        ── 198.18.3.0/24 (stop) ──
//
// reset: the IPv4 session is closed with CEASE / Maximum Number of Prefixes Reached (BIRD says
// so), its routes are gone from twill-bgp, `neighbors` names the limit; with `restartAfter`, once
// BIRD sends few enough prefixes the session comes back by itself. warn: all 10 kept, the
// crossing counted once. stop: the session stays with exactly 5, the other 5 refused. The IPv6
// session under its limit stays up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { BgpLab, until, type BirdDaemon, type LinkAddrs, type TwillDaemon } from '../support/bgp-peers.js';

const TW_AS = 65001;
const BIRD_AS = 65002;
const LIMIT = 5;

const v4 = (i: number): string => `10.90.${i}.0/24`;
const v6 = (i: number): string => `fd00:90:${i}::/48`;

const reason = missing({ root: true, tools: ['ip', 'bird', 'birdc'] });

describe.skipIf(reason)('maximum prefixes against BIRD', () => {
  let lab: BgpLab;
  let bird: BirdDaemon;
  let twill: TwillDaemon;
  let l: LinkAddrs;
  let lw: LinkAddrs;
  let ls: LinkAddrs;

  const peer = async (address: string) => (await twill.client.listPeers(address))[0]!;

  beforeAll(async () => {
    lab = new BgpLab('mp');
    const tw = lab.ns('tw');
    const bi = lab.ns('bi');
    l = lab.link(tw, bi);
    lw = lab.link(tw, bi);
    ls = lab.link(tw, bi);
    const routes = (f: (i: number) => string, from: number, to: number): string =>
      Array.from({ length: to - from }, (_, k) => `route ${f(from + k)} blackhole;`).join(' ');
    bird = await lab.startBird(
      bi,
      'bi',
      `log "${lab.dir}/bi.bird.log" all;
router id ${l.b4};
protocol device { }
protocol static few4 { ipv4; ${routes(v4, 0, 4)} }
protocol static more4 { ipv4; ${routes(v4, 4, 10)} }
protocol static st6 { ipv6; ${routes(v6, 0, 3)} }
template bgp tw {
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 2;
  error forget time 1;
}
protocol bgp tw4 from tw { local ${l.b4} as ${BIRD_AS}; neighbor ${l.a4} as ${TW_AS}; ipv4 { import none; export where source = RTS_STATIC; }; }
protocol bgp tw6 from tw { local ${l.b6} as ${BIRD_AS}; neighbor ${l.a6} as ${TW_AS}; ipv6 { import none; export where source = RTS_STATIC; }; }
protocol bgp tw4w from tw { local ${lw.b4} as ${BIRD_AS}; neighbor ${lw.a4} as ${TW_AS}; ipv4 { import none; export where source = RTS_STATIC; }; }
protocol bgp tw4s from tw { local ${ls.b4} as ${BIRD_AS}; neighbor ${ls.a4} as ${TW_AS}; ipv4 { import none; export where source = RTS_STATIC; }; }
`,
    );
    twill = await lab.startTwill(
      tw,
      'tw',
      `routerId: ${l.a4}
asn: ${TW_AS}
connectRetry: 1
backoff: { idleHold: 0.2, idleHoldMax: 2, connectRetryMax: 2 }
neighbors:
  - { address: ${l.b4}, asn: ${BIRD_AS}, families: [ipv4], import: all, export: none, maxPrefixes: { limit: ${LIMIT}, restartAfter: 3 }, description: bird-v4 }
  - { address: "${l.b6}", asn: ${BIRD_AS}, families: [ipv6], import: all, export: none, maxPrefixes: { ipv6: ${LIMIT} }, description: bird-v6 }
  - { address: ${lw.b4}, asn: ${BIRD_AS}, families: [ipv4], import: all, export: none, maxPrefixes: { ipv4: ${LIMIT}, action: warn }, description: bird-warn }
  - { address: ${ls.b4}, asn: ${BIRD_AS}, families: [ipv4], import: all, export: none, maxPrefixes: { ipv4: ${LIMIT}, action: stop }, description: bird-stop }
`,
    );
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('a peer sending more than the limit gets CEASE / Maximum Number of Prefixes Reached', async () => {
    await until('BIRD reports the Cease it received', () => /Received:.*Maximum number of prefixes reached/i.test(bird.cmd('show protocols all tw4')), 60_000);
    const sent = await until('twill-bgp logs the NOTIFICATION it sent', () =>
      twill.logs().find((x) => x.code === 6 && x.subcode === 1 && x.direction === 'sent' && x.peer === l.b4),
    );
    expect(sent.msg).toMatch(/Maximum Number of Prefixes/i);
    const p = await peer(l.b4);
    expect(p.lastError).toMatch(new RegExp(`maximum prefixes ${LIMIT} exceeded`, 'i'));
    expect(p.messages.sent.notification).toBeGreaterThan(0);
    // `twill-bgp neighbors` says the same.
    expect(twill.cli(['neighbors', l.b4, '-o', 'json'])).toMatch(new RegExp(`maximum prefixes ${LIMIT} exceeded`, 'i'));
  });

  const adjIn = async (address: string): Promise<string[]> =>
    (await twill.client.listRoutes({ table: 'in', peer: address, family: 4, limit: 0 })).map((r) => r.prefix).sort();

  it("none of that peer's routes stay in twill-bgp", async () => {
    await until('the IPv4 session down and none of its routes left', async () => {
      const down = (await peer(l.b4)).state !== 'Established';
      return down && (await twill.client.listRoutes({ table: 'loc', family: 4, limit: 0 })).every((r) => r.peer !== l.b4);
    });
  });

  it('action warn: the session stays with all 10 prefixes, the crossing is counted once and logged', async () => {
    await until('warn peer Established with 10 prefixes', async () => {
      const p = await peer(lw.b4);
      return p.state === 'Established' && p.receivedPrefixes === 10;
    }, 60_000);
    const p = await peer(lw.b4);
    expect(p.maxPrefixes).toMatchObject({ action: 'warn', received: { ipv4: 10, ipv6: 0 }, exceeded: 1, refused: 0, over: ['ipv4'] });
    expect(p.establishedCount).toBe(1);
    expect(twill.logs().filter((x) => x.peer === lw.b4 && /over the limit 5/.test(String(x.msg)))).toHaveLength(1);
    expect(bird.established('tw4w')).toBe(true);
  });

  it('action stop: the session stays with exactly the limit, the rest refused', async () => {
    await until('stop peer Established at its limit with prefixes refused', async () => {
      const p = await peer(ls.b4);
      return p.state === 'Established' && p.receivedPrefixes === LIMIT && (p.maxPrefixes?.refused ?? 0) >= 10 - LIMIT;
    }, 60_000);
    const p = await peer(ls.b4);
    expect(p.maxPrefixes).toMatchObject({ action: 'stop', received: { ipv4: LIMIT, ipv6: 0 }, exceeded: 1, over: ['ipv4'] });
    expect(await adjIn(ls.b4)).toHaveLength(LIMIT);
    expect(p.establishedCount).toBe(1);
    expect(p.messages.sent.notification).toBe(0);
    expect(bird.established('tw4s')).toBe(true);
  });

  it('a peer under its limit is not affected', async () => {
    await until('IPv6 Established with 3 prefixes', async () => {
      const p = await peer(l.b6);
      return p.state === 'Established' && p.acceptedPrefixes === 3;
    });
    expect((await peer(l.b6)).establishedCount).toBe(1);
    expect(bird.established('tw6')).toBe(true);
  });

  it('with restartAfter the session comes back once the peer sends few enough prefixes', async () => {
    bird.cmd('disable more4');
    await until('IPv4 Established again and stable with 4 prefixes', async () => {
      const p = await peer(l.b4);
      return p.state === 'Established' && p.acceptedPrefixes === 4;
    }, 60_000);
    expect(await adjIn(l.b4)).toEqual([0, 1, 2, 3].map(v4).sort());
  });
});
