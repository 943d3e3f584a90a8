// `kernel: { install: true }`: what twill-bgp learns from a real BIRD peer shows up in the kernel
// table of twill-bgp's namespace (protocol 85, via the peer), follows withdrawals, a route of ours
// left by a previous run is reconciled away once the peer is back, and SIGTERM removes ours.
//
//   [tw: twill-bgp, AS 65002, kernel install] ── 198.18.1.0/24, fd00:1::/64 ── [eb: BIRD, AS 65001]
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { BgpLab, until, type BirdDaemon, type LinkAddrs, type TwillDaemon } from '../support/bgp-peers.js';

const reason = missing({ root: true, tools: ['ip', 'bird', 'birdc'] });

describe.skipIf(reason)('twill-bgp kernel route install', () => {
  let lab: BgpLab;
  let bird: BirdDaemon;
  let twill: TwillDaemon;
  let l: LinkAddrs;
  let tw: string;

  /** Our routes (protocol 85) in the namespace's main table, as "dst via gw". */
  const kernelRoutes = (family: 4 | 6): string[] =>
    spawnSync('ip', ['-n', tw, `-${family}`, 'route', 'show', 'proto', '85'], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter(Boolean)
      .map((line) => {
        const m = /^(\S+) via (\S+)/.exec(line);
        return m ? `${m[1]} via ${m[2]}` : line.trim();
      })
      .sort();

  beforeAll(async () => {
    lab = new BgpLab('kr');
    tw = lab.ns('tw');
    const eb = lab.ns('eb');
    l = lab.link(tw, eb);
    // A route of ours from a "previous run" that nobody announces any more.
    spawnSync('ip', ['-n', tw, 'route', 'add', '10.250.0.0/24', 'via', l.b4, 'proto', '85']);
    bird = await lab.startBird(
      eb,
      'eb',
      `log "${lab.dir}/eb.bird.log" all;
router id ${l.b4};
protocol device { }
protocol static a4 { ipv4; route 10.61.0.0/24 blackhole; route 10.61.1.0/24 blackhole; }
protocol static b4 { ipv4; route 10.62.0.0/24 blackhole; }
protocol static a6 { ipv6; route fd00:61::/48 blackhole; }
template bgp tw { connect delay time 1; connect retry time 1; error wait time 1, 4; }
protocol bgp tw4 from tw { local ${l.b4} as 65001; neighbor ${l.a4} as 65002; ipv4 { import none; export where source = RTS_STATIC; }; }
protocol bgp tw6 from tw { local ${l.b6} as 65001; neighbor ${l.a6} as 65002; ipv6 { import none; export where source = RTS_STATIC; }; }
`,
    );
    twill = await lab.startTwill(
      tw,
      'twill',
      `routerId: ${l.a4}
asn: 65002
connectRetry: 1
neighbors:
  - { address: ${l.b4}, asn: 65001, families: [ipv4], import: all, export: none }
  - { address: "${l.b6}", asn: 65001, families: [ipv6], import: all, export: none }
originate:
  - 10.99.0.0/24
kernel:
  install: true
`,
    );
  });

  afterAll(async () => {
    await lab?.cleanup();
  });

  it('installs what the peer announces, via the peer, and reconciles away a stale route of ours', async () => {
    await until('IPv4 routes in the kernel', () => kernelRoutes(4).join(',') === [`10.61.0.0/24 via ${l.b4}`, `10.61.1.0/24 via ${l.b4}`, `10.62.0.0/24 via ${l.b4}`].join(','), 60_000);
    await until('IPv6 route in the kernel', () => kernelRoutes(6).some((r) => r.startsWith('fd00:61::/48 via ')));
    // Our own originated prefix is not a kernel route; the stale one is gone.
    expect(kernelRoutes(4).some((r) => r.startsWith('10.99.0.0/24') || r.startsWith('10.250.0.0/24'))).toBe(false);
    const s = await twill.client.status();
    expect(s.kernel).toMatchObject({ install: true, routes: 4 });
  });

  it('follows withdrawals', async () => {
    bird.cmd('disable b4');
    await until('10.62.0.0/24 removed', () => !kernelRoutes(4).some((r) => r.startsWith('10.62.0.0/24')));
    expect(kernelRoutes(4)).toHaveLength(2);
  });

  it('SIGTERM removes our routes and nothing else', async () => {
    expect(await twill.stop()).toBe(0);
    expect(kernelRoutes(4)).toEqual([]);
    expect(kernelRoutes(6)).toEqual([]);
    const connected = spawnSync('ip', ['-n', tw, 'route', 'show', '198.18.1.0/24'], { encoding: 'utf8' }).stdout;
    expect(connected).toContain('198.18.1.0/24');
  });
});
