// The built configs drive real BgpSpeakers peering over loopback: the mesh comes up with one
// connection per pair, blocks travel with the right next hops, a reflector keeps every pair
// reachable, and a new BGPPeer opens one session while the others stay up.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Resource } from '../../../../src/api/types.js';
import { BgpSpeaker } from '../../../../bgp/server/speaker.js';
import type { SpeakerConfig } from '../../../../bgp/server/types.js';
import { FAST, until } from '../server/helpers.js';
import { bgpConfig, bgpPeer, block, build, node, pool } from './builders.js';

// A /24 of loopback of our own, so parallel runs do not collide.
const NET = `127.${100 + Math.floor(Math.random() * 150)}.${Math.floor(Math.random() * 250)}`;
const ip = (i: number): string => `${NET}.${i}`;

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

const running: BgpSpeaker[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

/** The agent's config, listening on the node's loopback address only, with test timers. */
function forTest(rs: Resource[], name: string, address: string): SpeakerConfig {
  const b = build(rs, name);
  expect(b.problems).toEqual([]);
  const c = b.config!;
  const port = c.listen === false || c.listen === undefined ? 179 : c.listen.port;
  return { ...c, listen: { address, port }, holdTime: 9, ...FAST };
}

async function start(rs: Resource[], name: string, address: string): Promise<BgpSpeaker> {
  const s = new BgpSpeaker(forTest(rs, name, address));
  running.push(s);
  await s.start();
  return s;
}

const up = (s: BgpSpeaker): string[] =>
  s
    .listPeers()
    .filter((p) => p.state === 'Established')
    .map((p) => p.address)
    .sort();

/** Each node listens on its own port (BGPConfiguration node.<name> listenPort): the mesh must use it. */
async function ports(names: string[]): Promise<Resource[]> {
  const out: Resource[] = [];
  for (const [i, n] of names.entries()) out.push(bgpConfig({ listenPort: await freePort(ip(i + 1)) }, `node.${n}`));
  return out;
}

function nextHop(s: BgpSpeaker, prefix: string): string | undefined {
  return s.listRoutes({ table: 'loc', prefix })[0]?.nextHop;
}

describe('agent configs on real speakers', () => {
  it('a 3-node mesh: every pair Established once, each block learned with its owner as next hop, borrowed /32 too', async () => {
    const rs = [
      node('a', `${ip(1)}/24`),
      node('b', `${ip(2)}/24`),
      node('c', `${ip(3)}/24`),
      pool('p', '10.65.0.0/16'),
      block('10.65.1.0/26', 'a', ['a', 'c']), // 10.65.1.1 lent to c
      block('10.65.2.0/26', 'b'),
      block('10.65.3.0/26', 'c'),
      ...(await ports(['a', 'b', 'c'])),
    ];
    const [a, b, c] = [await start(rs, 'a', ip(1)), await start(rs, 'b', ip(2)), await start(rs, 'c', ip(3))];
    await until(() => up(a).length === 2 && up(b).length === 2 && up(c).length === 2, 'mesh Established');
    await until(() => nextHop(a, '10.65.3.0/26') && nextHop(a, '10.65.2.0/26') && nextHop(b, '10.65.1.0/26') && nextHop(b, '10.65.1.1/32') && nextHop(a, '10.65.1.1/32'), 'routes');
    expect(nextHop(a, '10.65.2.0/26')).toBe(ip(2));
    expect(nextHop(a, '10.65.3.0/26')).toBe(ip(3));
    expect(nextHop(b, '10.65.1.0/26')).toBe(ip(1));
    expect(nextHop(b, '10.65.1.1/32')).toBe(ip(3)); // c's workload, borrowed from a's block
    expect(nextHop(a, '10.65.1.1/32')).toBe(ip(3)); // a accepts the address it lent
    // One connection per pair: no collision was needed (each session was made once).
    for (const s of [a, b, c]) for (const p of s.listPeers()) expect(p.establishedCount).toBe(1);
  });

  it('mesh off, one route reflector: clients reach each other through it, next hop unchanged', async () => {
    const rs = [
      bgpConfig({ nodeToNodeMeshEnabled: false }),
      bgpPeer('rr', { nodeSelector: 'all()', peerSelector: 'has(rr)' }),
      node('a', `${ip(1)}/24`),
      node('b', `${ip(2)}/24`),
      node('r', `${ip(3)}/24`, { routeReflectorClusterID: '244.0.0.1' }, { rr: '' }),
      pool('p', '10.65.0.0/16'),
      block('10.65.1.0/26', 'a'),
      block('10.65.2.0/26', 'b'),
      ...(await ports(['a', 'b', 'r'])),
    ];
    const [a, b, r] = [await start(rs, 'a', ip(1)), await start(rs, 'b', ip(2)), await start(rs, 'r', ip(3))];
    await until(() => up(r).length === 2, 'reflector sessions');
    expect(up(a)).toEqual([ip(3)]);
    await until(() => nextHop(a, '10.65.2.0/26') && nextHop(b, '10.65.1.0/26'), 'reflected routes');
    expect(nextHop(a, '10.65.2.0/26')).toBe(ip(2));
    expect(nextHop(b, '10.65.1.0/26')).toBe(ip(1));
    expect(a.listRoutes({ table: 'loc', prefix: '10.65.2.0/26' })[0]?.clusterList).toEqual(['244.0.0.1']);
  });

  it('a new BGPPeer (a ToR in another AS) opens one session; the mesh sessions stay up; the ToR gets exactly a\'s block', async () => {
    const base = [
      node('a', `${ip(1)}/24`),
      node('b', `${ip(2)}/24`),
      block('10.65.1.0/26', 'a'),
      block('10.65.2.0/26', 'b'),
      ...(await ports(['a', 'b'])),
    ];
    const a = await start(base, 'a', ip(1));
    const b = await start(base, 'b', ip(2));
    await until(() => up(a).length === 1, 'mesh');
    await until(() => nextHop(a, '10.65.2.0/26'), 'b\'s block at a');
    const torPort = await freePort(ip(9));
    const tor = new BgpSpeaker({
      routerId: ip(9),
      asn: 65100,
      listen: { address: ip(9), port: torPort },
      holdTime: 9,
      ...FAST,
      neighbors: [{ address: ip(1), asn: 64512, passive: true, importPolicy: { default: 'accept', rules: [] }, exportPolicy: { default: 'reject', rules: [] } }],
    });
    running.push(tor);
    await tor.start();
    const withTor = [...base, bgpPeer('tor', { node: 'a', peerIP: `${ip(9)}:${torPort}`, asNumber: 65100 })];
    await a.updateConfig(forTest(withTor, 'a', ip(1)));
    await until(() => up(a).length === 2, 'ToR session');
    await until(() => tor.listRoutes({ table: 'loc', prefix: '10.65.1.0/26' }).length > 0, 'a\'s block at the ToR');
    await a.idle();
    expect(a.listPeers().find((p) => p.address === ip(2))?.establishedCount).toBe(1);
    expect(tor.listRoutes({ table: 'loc' }).map((r) => `${r.prefix} via ${r.nextHop}`)).toEqual([`10.65.1.0/26 via ${ip(1)}`]);
  });
});
