// Transit at scale: BIRD announces 100,000 prefixes to twill-bgp over eBGP, twill-bgp passes them
// on to GoBGP over eBGP. GoBGP must end up with exactly those prefixes, each with the AS path
// "twill injector", twill-bgp as next hop and the community the injector attached; then the
// injector withdraws them all and GoBGP must end up with none.
//
//   [inj: BIRD, AS 65001] ── 198.18.1.0/24 ── [tw: twill-bgp, AS 65002] ── 198.18.2.0/24 ── [sink: GoBGP, AS 65003]
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { BgpLab, gobgpConfig, until, type BirdDaemon, type GobgpDaemon, type LinkAddrs, type TwillDaemon } from '../support/bgp-peers.js';

const N = 100_000;
const INJ_AS = 65001;
const TWILL_AS = 65002;
const SINK_AS = 65003;

/** The i-th injected prefix: /32s counting up from 10.0.0.0. */
function prefixOf(i: number): string {
  const a = (10 << 24) + i;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/32`;
}

/** The community the injector attaches: 0 inside 10.0.0.0/16, else 1 (two attribute sets travel). */
function communityOf(i: number): string {
  return `${INJ_AS}:${i < 65536 ? 0 : 1}`;
}

const reason = missing({ root: true, tools: ['ip', 'bird', 'birdc', 'gobgpd', 'gobgp'] });

describe.skipIf(reason)(`transit: BIRD → twill-bgp → GoBGP with ${N.toLocaleString('en')} prefixes`, () => {
  let lab: BgpLab;
  let inj: BirdDaemon;
  let sink: GobgpDaemon;
  let twill: TwillDaemon;
  let l1: LinkAddrs;
  let l2: LinkAddrs;

  const sinkCount = (): number => {
    const m = /Destination:\s*(\d+)/.exec(sink.cli(['global', 'rib', 'summary', '-a', 'ipv4']));
    return m ? Number(m[1]) : 0;
  };

  beforeAll(async () => {
    lab = new BgpLab('tr');
    const injNs = lab.ns('inj');
    const tw = lab.ns('tw');
    const sinkNs = lab.ns('sink');
    l1 = lab.link(injNs, tw);
    l2 = lab.link(tw, sinkNs);
    const routes = Array.from({ length: N }, (_, i) => `  route ${prefixOf(i)} blackhole;`).join('\n');
    inj = await lab.startBird(
      injNs,
      'inj',
      `log "${lab.dir}/inj.bird.log" all;
router id ${l1.a4};
protocol device { }
protocol static injected {
  ipv4;
${routes}
}
protocol bgp tw {
  local ${l1.a4} as ${INJ_AS};
  neighbor ${l1.b4} as ${TWILL_AS};
  connect delay time 1;
  connect retry time 1;
  ipv4 {
    import none;
    export filter {
      if source != RTS_STATIC then reject;
      if net ~ [ 10.0.0.0/16+ ] then bgp_community.add((${INJ_AS}, 0));
      else bgp_community.add((${INJ_AS}, 1));
      accept;
    };
  };
}
`,
    );
    sink = await lab.startGobgp(
      sinkNs,
      'sink',
      gobgpConfig({ asn: SINK_AS, routerId: l2.b4, neighbors: [{ address: l2.a4, asn: TWILL_AS }] }),
    );
    twill = await lab.startTwill(
      tw,
      'twill',
      `routerId: ${l1.b4}
asn: ${TWILL_AS}
connectRetry: 1
neighbors:
  - { address: ${l1.a4}, asn: ${INJ_AS}, families: [ipv4], import: all, export: none, description: injector }
  - { address: ${l2.b4}, asn: ${SINK_AS}, families: [ipv4], import: none, export: all, description: sink }
`,
    );
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('GoBGP ends up with every prefix, each with the right AS path, next hop and community', async () => {
    await until('injector loaded its routes', () => /Routes:\s+100000 imported/.test(inj.cmd('show protocols all injected')), 60_000);
    await until(`GoBGP holds ${N} prefixes`, () => sinkCount() >= N, 180_000, 500);
    const twillPeers = await twill.client.listPeers();
    expect(twillPeers.find((p) => p.address === l1.a4)).toMatchObject({ state: 'Established', receivedPrefixes: N, acceptedPrefixes: N });
    expect(twillPeers.find((p) => p.address === l2.b4)).toMatchObject({ state: 'Established', advertisedPrefixes: N });

    const got = sink.routes(4);
    expect(got).toHaveLength(N);
    const byPrefix = new Map(got.map((r) => [r.prefix, r]));
    const bad: string[] = [];
    for (let i = 0; i < N && bad.length < 5; i++) {
      const p = prefixOf(i);
      const r = byPrefix.get(p);
      const want = communityOf(i);
      if (!r) bad.push(`${p} missing`);
      else if (r.asPath.join(' ') !== `${TWILL_AS} ${INJ_AS}` || r.nextHop !== l2.a4 || r.communities.join(' ') !== want) {
        bad.push(`${p}: as path ${r.asPath.join(' ')}, next hop ${r.nextHop}, communities ${r.communities.join(' ')}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('withdrawing them all at the injector empties GoBGP', async () => {
    inj.cmd('disable injected');
    await until('GoBGP holds no prefixes', () => sinkCount() === 0, 180_000, 500);
    expect((await twill.client.listRoutes({ table: 'loc', limit: 10 })).length).toBe(0);
  });
});
