// Recursive next hops: a host in another rack announces its prefix over multihop iBGP with its own
// address as next hop, which is not on-link here. twill-bgp installs it via the router its own
// route to that address goes through (as BIRD's `gateway recursive` would), traffic flows, and the
// kernel route follows when that underlying route changes or goes.
//
//   rack 1                         fabric                          rack 2
//   [tw: twill-bgp] 198.18.1.2 ── 198.18.1.1 [r1] 198.18.2.1 ── 198.18.2.2 [eb: BIRD, 10.61.0.1 on a veth]
//        198.18.3.2 ─────────── 198.18.3.1 [r2] 198.18.4.1 ───────── 198.18.4.2
//   tw: default via r1.  eb: default via r1, 198.18.3.0/24 via r2.  iBGP AS 65001 tw ⇄ eb.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { BgpLab, kernelRoutes, until, type LinkAddrs, type TwillDaemon } from '../support/bgp-peers.js';
import { startEchoServer } from '../support/traffic.js';

const reason = missing({ root: true, tools: ['ip', 'bird', 'birdc', 'ping', 'socat'] });

const ip = (ns: string, ...args: string[]): void => {
  const r = spawnSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip -n ${ns} ${args.join(' ')}: ${r.stderr}`);
};

describe.skipIf(reason)('twill-bgp: next hops in another rack resolve through the host\'s own routes', () => {
  let lab: BgpLab;
  let twill: TwillDaemon;
  let tw: string;
  let eb: string;
  let r1tw: LinkAddrs;
  let r1eb: LinkAddrs;
  let r2tw: LinkAddrs;
  let echo: { stop(): void } | undefined;

  /** Our route to the remote prefix as "dst via gw dev if" ('' when absent). */
  const ours = (): string => {
    const r = kernelRoutes(tw, 4, '85').find((x) => x.dst === '10.61.0.0/24');
    return r ? `via ${r.gateways.join(',')}` : '';
  };
  const ping = (): boolean => spawnSync('ip', ['netns', 'exec', tw, 'ping', '-c', '1', '-W', '2', '10.61.0.1'], { encoding: 'utf8' }).status === 0;
  const tcp = (): string =>
    spawnSync('ip', ['netns', 'exec', tw, 'socat', '-T', '5', '-', 'TCP:10.61.0.1:7777,connect-timeout=5'], { input: 'hello across racks\n', encoding: 'utf8', timeout: 15_000 }).stdout;

  beforeAll(async () => {
    lab = new BgpLab('nhr');
    tw = lab.ns('tw');
    eb = lab.ns('eb');
    const r1 = lab.ns('r1');
    const r2 = lab.ns('r2');
    r1tw = lab.link(r1, tw); // 198.18.1.1 / .2
    r1eb = lab.link(r1, eb); // 198.18.2.1 / .2
    r2tw = lab.link(r2, tw); // 198.18.3.1 / .2
    const r2eb = lab.link(r2, eb); // 198.18.4.1 / .2
    for (const r of [r1, r2]) spawnSync('ip', ['netns', 'exec', r, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    // The fabric knows where rack 2's host prefix is (a ToR would have learned it).
    ip(r1, 'route', 'add', '10.61.0.0/24', 'via', r1eb.b4);
    ip(r2, 'route', 'add', '10.61.0.0/24', 'via', r2eb.b4);
    ip(tw, 'route', 'add', 'default', 'via', r1tw.a4);
    ip(eb, 'route', 'add', 'default', 'via', r1eb.a4);
    ip(eb, 'route', 'add', '198.18.3.0/24', 'via', r2eb.a4);
    // The address inside the announced prefix, on a veth of eb's.
    ip(eb, 'link', 'add', `${lab.prefix}w`, 'type', 'veth', 'peer', 'name', `${lab.prefix}x`);
    ip(eb, 'addr', 'add', '10.61.0.1/24', 'dev', `${lab.prefix}w`);
    ip(eb, 'link', 'set', `${lab.prefix}w`, 'up');
    ip(eb, 'link', 'set', `${lab.prefix}x`, 'up');
    echo = startEchoServer(eb, 7777);
    await lab.startBird(
      eb,
      'eb',
      `log "${lab.dir}/eb.bird.log" all;
router id ${r1eb.b4};
protocol device { }
protocol static s4 { ipv4; route 10.61.0.0/24 blackhole; }
protocol bgp tw { local ${r1eb.b4} as 65001; neighbor ${r1tw.b4} as 65001; multihop;
  connect delay time 1; connect retry time 1; error wait time 1, 4;
  ipv4 { import none; export where source = RTS_STATIC; }; }
`,
    );
    twill = await lab.startTwill(
      tw,
      'twill',
      `routerId: ${r1tw.b4}
asn: 65001
connectRetry: 1
neighbors:
  - { address: ${r1eb.b4}, asn: 65001, families: [ipv4], import: all, export: none }
kernel:
  install: true
`,
    );
  });

  afterAll(async () => {
    echo?.stop();
    await lab?.cleanup();
  });

  it('installs the route via the rack\'s router (the next hop is not on-link), and traffic flows', async () => {
    await until('10.61.0.0/24 in the kernel', () => ours() !== '', 60_000);
    expect(ours()).toBe(`via ${r1tw.a4}`);
    // As learned: the speaker still shows the remote host as next hop.
    const learned = await twill.client.listRoutes({ table: 'loc', prefix: '10.61.0.0/24' });
    expect(learned.map((r) => r.nextHop)).toEqual([r1eb.b4]);
    expect(ping()).toBe(true);
    expect(tcp()).toBe('hello across racks\n');
    expect((await twill.client.status()).kernel).toEqual({ install: true, routes: 1 });
  });

  it('follows a more specific route to the next hop through another router, and back', async () => {
    ip(tw, 'route', 'add', '198.18.2.0/24', 'via', r2tw.a4);
    await until('re-resolved via r2', () => ours() === `via ${r2tw.a4}`);
    expect(ping()).toBe(true);
    expect(tcp()).toBe('hello across racks\n');
    ip(tw, 'route', 'del', '198.18.2.0/24');
    await until('re-resolved via r1', () => ours() === `via ${r1tw.a4}`);
    expect(ping()).toBe(true);
  });

  it('withdraws it from the kernel when no route leads to the next hop, and says why', async () => {
    ip(tw, 'route', 'del', 'default');
    await until('withdrawn from the kernel', () => ours() === '');
    // Still learned (the session outlives this for its hold time): the kernel sync left it out.
    expect((await twill.client.listRoutes({ table: 'loc', prefix: '10.61.0.0/24' })).map((r) => r.nextHop)).toEqual([r1eb.b4]);
    expect((await twill.client.status()).kernel?.error).toContain('1 not installed (no route to their next hop)');
    ip(tw, 'route', 'add', 'default', 'via', r2tw.a4);
    await until('back via r2', () => ours() === `via ${r2tw.a4}`);
    expect(ping()).toBe(true);
  });
});
