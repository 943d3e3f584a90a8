// TCP MD5 (RFC 2385) sessions with BIRD and FRR.
//
//   [bi: BIRD, AS 65002] ── 198.18.1.0/24, fd00:1::/64 ── [tw: twill-bgp, AS 65001] ── 198.18.2.0/24, fd00:2::/64 ── [fr: FRR, AS 65003]
//
// twill-bgp has the password on all four sessions. Each peer uses the same password on its IPv4
// session (must come up and exchange routes: impossible unless twill-bgp signs its segments) and
// a different one on its IPv6 session (must stay down on both sides, and twill-bgp must say why
// it cannot tell more than "connect timeout with a password configured"). Then BIRD gets the right
// password on IPv6 too, and that session comes up.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { BgpLab, until, type BirdDaemon, type FrrDaemon, type LinkAddrs, type TwillDaemon } from '../support/bgp-peers.js';

const TW_AS = 65001;
const BIRD_AS = 65002;
const FRR_AS = 65003;
const PASSWORD = 'tw1ll-md5-s3cret';
const WRONG = 'not-the-password';
const BIRD_PREFIX = '10.71.0.0/24';
const FRR_PREFIX = '10.72.0.0/24';

const reason = missing({ root: true, tools: ['ip', 'bird', 'birdc', 'vtysh', '/usr/lib/frr/bgpd', '/usr/lib/frr/zebra'] });

describe.skipIf(reason)('TCP MD5 with BIRD and FRR', () => {
  let lab: BgpLab;
  let bird: BirdDaemon;
  let frr: FrrDaemon;
  let twill: TwillDaemon;
  let l1: LinkAddrs;
  let l2: LinkAddrs;

  const peer = async (address: string) => (await twill.client.listPeers(address))[0]!;

  beforeAll(async () => {
    lab = new BgpLab('m5');
    const tw = lab.ns('tw');
    const bi = lab.ns('bi');
    const fr = lab.ns('fr');
    l1 = lab.link(tw, bi);
    l2 = lab.link(tw, fr);
    bird = await lab.startBird(
      bi,
      'bi',
      `log "${lab.dir}/bi.bird.log" all;
router id ${l1.b4};
protocol device { }
protocol static st4 { ipv4; route ${BIRD_PREFIX} blackhole; }
template bgp tw {
  connect delay time 1;
  connect retry time 1;
  error wait time 1, 4;
}
protocol bgp tw4 from tw {
  local ${l1.b4} as ${BIRD_AS};
  neighbor ${l1.a4} as ${TW_AS};
  password "${PASSWORD}";
  ipv4 { import all; export where source = RTS_STATIC; };
}
protocol bgp tw6 from tw {
  local ${l1.b6} as ${BIRD_AS};
  neighbor ${l1.a6} as ${TW_AS};
  password "${WRONG}";
  ipv6 { import all; export none; };
}
`,
    );
    frr = await lab.startFrr(
      fr,
      'fr',
      `frr defaults traditional
hostname fr
log file ${lab.dir}/fr.frr/bgpd.log informational
router bgp ${FRR_AS}
 bgp router-id ${l2.b4}
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
 bgp log-neighbor-changes
 neighbor ${l2.a4} remote-as ${TW_AS}
 neighbor ${l2.a4} password ${PASSWORD}
 neighbor ${l2.a4} timers connect 1
 neighbor ${l2.a6} remote-as ${TW_AS}
 neighbor ${l2.a6} password ${WRONG}
 neighbor ${l2.a6} timers connect 1
 address-family ipv4 unicast
  network ${FRR_PREFIX}
  neighbor ${l2.a4} activate
 exit-address-family
 address-family ipv6 unicast
  neighbor ${l2.a6} activate
 exit-address-family
`,
    );
    twill = await lab.startTwill(
      tw,
      'tw',
      `routerId: ${l1.a4}
asn: ${TW_AS}
connectRetry: 1
backoff: { idleHold: 0.2, idleHoldMax: 2, connectRetryMax: 2 }
neighbors:
  - { address: ${l1.b4}, asn: ${BIRD_AS}, families: [ipv4], import: all, export: none, password: "${PASSWORD}", description: bird-v4 }
  - { address: "${l1.b6}", asn: ${BIRD_AS}, families: [ipv6], import: all, export: none, password: "${PASSWORD}", description: bird-v6 }
  - { address: ${l2.b4}, asn: ${FRR_AS}, families: [ipv4], import: all, export: none, password: "${PASSWORD}", description: frr-v4 }
  - { address: "${l2.b6}", asn: ${FRR_AS}, families: [ipv6], import: all, export: none, password: "${PASSWORD}", description: frr-v6 }
`,
    );
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('with the right password the sessions with BIRD and FRR come up and carry routes', async () => {
    await until('twill-bgp ⇄ BIRD (IPv4) Established', async () => (await peer(l1.b4)).state === 'Established', 60_000);
    await until('twill-bgp ⇄ FRR (IPv4) Established', async () => (await peer(l2.b4)).state === 'Established', 60_000);
    await until('BIRD and FRR see them Established', () => bird.established('tw4') && frr.established(l2.a4));
    await until('routes from both', async () =>
      (await twill.client.listRoutes({ table: 'loc', prefix: BIRD_PREFIX }))[0]?.peer === l1.b4 && (await twill.client.listRoutes({ table: 'loc', prefix: FRR_PREFIX }))[0]?.peer === l2.b4,
    );
    for (const a of [l1.b4, l2.b4]) expect((await peer(a)).md5, `neighbors shows MD5 for ${a}`).toBe(true);
    // The CLI says the same.
    const cli = JSON.parse(twill.cli(['neighbors', l1.b4, '-o', 'json'])) as unknown;
    expect(JSON.stringify(cli)).toMatch(/"md5"\s*:\s*true/i);
  });

  it('with a wrong password the sessions stay down on both sides, and twill-bgp says a password may be why', async () => {
    // Long enough for several connect attempts from both sides (connect retry 1 s everywhere).
    const t0 = Date.now();
    while (Date.now() - t0 < 8000) {
      for (const a of [l1.b6, l2.b6]) expect((await peer(a)).state, `${a} must not come up with a wrong password`).not.toBe('Established');
      expect(bird.established('tw6')).toBe(false);
      expect(frr.established(l2.a6)).toBe(false);
      await new Promise((r) => setTimeout(r, 500));
    }
    for (const a of [l1.b6, l2.b6]) {
      const p = await peer(a);
      expect(p.establishedCount).toBe(0);
      // What twill-bgp tells the operator about this neighbour: `neighbors` and its log lines.
      const told = (x: { lastError?: string }): string =>
        [x.lastError ?? '', ...twill.logs().filter((l) => l.peer === a || JSON.stringify(l).includes(`"${a}"`)).map((l) => l.msg)].join('\n');
      let last = '';
      await until(`twill-bgp to say a password may be why ${a} does not come up`, async () => {
        last = told(await peer(a));
        return /password|md5/i.test(last);
      }, 30_000).catch((e: Error) => {
        throw new Error(`${e.message}; neighbors lastError and log lines for ${a} (last 10): ${last.split('\n').slice(-10).join(' | ')}`);
      });
    }
  });

  it('BIRD given the right password on IPv6 comes up (key changes apply without restarting twill-bgp)', async () => {
    writeFileSync(bird.confFile, readFileSync(bird.confFile, 'utf8').replace(`password "${WRONG}"`, `password "${PASSWORD}"`));
    bird.cmd('configure');
    await until('twill-bgp ⇄ BIRD (IPv6) Established', async () => (await peer(l1.b6)).state === 'Established', 60_000);
    expect(bird.established('tw6')).toBe(true);
    // FRR's IPv6 session, still with the wrong password, is still down.
    expect((await peer(l2.b6)).state).not.toBe('Established');
  });
});
