import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../../../bgp/server/config.js';
import type { AgentBuild } from '../../../../bgp/agent/index.js';
import type { BGPPeerSpec } from '../../../../src/api/types.js';
import { bgpConfig, bgpPeer, block, build, neighbor, node, pool, verdicts } from './builders.js';

/** The speaker accepts the config as it is (its own checks, not ours). */
function valid(b: AgentBuild): AgentBuild {
  expect(b.config).toBeDefined();
  expect(() => resolveConfig(b.config!)).not.toThrow();
  return b;
}

const A = node('a', '10.0.0.1/24');
const B = node('b', '10.0.0.2/24');
const C = node('c', '10.0.0.3/24');

describe('node-to-node mesh', () => {
  it('peers every pair once; the side with the lower address is passive', () => {
    const rs = [A, B, C];
    const byNode = Object.fromEntries(['a', 'b', 'c'].map((n) => [n, valid(build(rs, n))]));
    const addr = { a: '10.0.0.1', b: '10.0.0.2', c: '10.0.0.3' } as const;
    for (const me of ['a', 'b', 'c'] as const) {
      const cfg = byNode[me]!.config!;
      expect(cfg.routerId).toBe(addr[me]);
      expect(cfg.asn).toBe(64512);
      expect(cfg.listen).toEqual({ port: 179 });
      expect(cfg.neighbors.map((n) => n.address)).toEqual(Object.entries(addr).filter(([k]) => k !== me).map(([, v]) => v));
      for (const n of cfg.neighbors) {
        expect(n).toMatchObject({ asn: 64512, localAddress: addr[me], families: ['ipv4'] });
        expect(byNode[me]!.peers.get(n.address)).toEqual({ type: 'node-to-node mesh', resource: `Node ${Object.entries(addr).find(([, v]) => v === n.address)![0]}`, node: expect.any(String) });
      }
    }
    // Exactly one end of each pair connects: the higher address.
    expect(neighbor(byNode.a!, '10.0.0.2').passive).toBe(true);
    expect(neighbor(byNode.b!, '10.0.0.1').passive).toBeUndefined();
    expect(neighbor(byNode.a!, '10.0.0.3').passive).toBe(true);
    expect(neighbor(byNode.c!, '10.0.0.1').passive).toBeUndefined();
    expect(neighbor(byNode.b!, '10.0.0.3').passive).toBe(true);
    expect(neighbor(byNode.c!, '10.0.0.2').passive).toBeUndefined();
  });

  it('compares addresses as numbers, not as text (10.0.0.9 < 10.0.0.10)', () => {
    const rs = [node('x', '10.0.0.9/24'), node('y', '10.0.0.10/24')];
    expect(neighbor(build(rs, 'x'), '10.0.0.10').passive).toBe(true);
    expect(neighbor(build(rs, 'y'), '10.0.0.9').passive).toBeUndefined();
  });

  it('IPv6 addresses peer over IPv6, IPv4 over IPv4; a node without a BGP address is skipped', () => {
    const rs = [node('a', '10.0.0.1/24', { ipv6Address: 'fd00::1/64' }), node('b', undefined, { ipv6Address: 'fd00::2/64' }), node('n', undefined)];
    const a = valid(build(rs, 'a'));
    expect(a.config!.neighbors).toHaveLength(1);
    expect(neighbor(a, 'fd00::2')).toMatchObject({ localAddress: 'fd00::1', families: ['ipv6'], passive: true });
    expect(a.config!.nextHop).toEqual({ ipv4: '10.0.0.1', ipv6: 'fd00::1' });
    const b = valid(build(rs, 'b'));
    expect(b.config!.routerId).toMatch(/^\d+\.\d+\.\d+\.\d+$/); // IPv6-only: derived, stable
    expect(build(rs, 'b').config!.routerId).toBe(b.config!.routerId);
  });

  it('with nodeToNodeMeshEnabled false only BGPPeers apply', () => {
    const b = valid(build([bgpConfig({ nodeToNodeMeshEnabled: false }), A, B, C], 'a'));
    expect(b.config!.neighbors).toEqual([]);
  });

  it('the mesh uses nodeMeshPassword, nodeMeshMaxRestartTime and each node\'s own listenPort', () => {
    const rs = [bgpConfig({ nodeMeshPassword: { value: 's3cret' }, nodeMeshMaxRestartTime: '300s', listenPort: 1790 }), bgpConfig({ listenPort: 1791 }, 'node.b'), A, B];
    const a = valid(build(rs, 'a'));
    expect(a.config!.listen).toEqual({ port: 1790 });
    expect(neighbor(a, '10.0.0.2')).toMatchObject({ password: 's3cret', gracefulRestart: { restartTime: 300 }, port: 1791 });
    expect(valid(build(rs, 'b')).config!.listen).toEqual({ port: 1791 });
    // A per-node BGPConfiguration applies without a default one too.
    expect(valid(build([bgpConfig({ listenPort: 1792 }, 'node.a'), A, B], 'a')).config!.listen).toEqual({ port: 1792 });
    expect(neighbor(valid(build([bgpConfig({ listenPort: 1792 }, 'node.a'), A, B], 'b')), '10.0.0.1').port).toBe(1792);
  });
});

describe('per-node AS', () => {
  it('a node with its own asNumber speaks eBGP to the others, which see its AS', () => {
    const rs = [A, node('b', '10.0.0.2/24', { asNumber: 65002 }), C];
    const a = valid(build(rs, 'a'));
    expect(neighbor(a, '10.0.0.2')).toMatchObject({ asn: 65002 });
    expect(neighbor(a, '10.0.0.2').addPath).toBeUndefined(); // ADD-PATH only on iBGP
    expect(neighbor(a, '10.0.0.3')).toMatchObject({ asn: 64512, addPath: { receive: true } });
    const b = valid(build(rs, 'b'));
    expect(b.config!.asn).toBe(65002);
    expect(b.config!.neighbors.map((n) => n.asn)).toEqual([64512, 64512]);
  });

  it('the cluster AS comes from BGPConfiguration default', () => {
    const a = valid(build([bgpConfig({ asNumber: 4200000001 }), A, B], 'a'));
    expect(a.config!.asn).toBe(4200000001);
    expect(neighbor(a, '10.0.0.2').asn).toBe(4200000001);
  });
});

describe('route reflectors', () => {
  const rr = (name: string, ip: string, cid = '244.0.0.1'): ReturnType<typeof node> => node(name, ip, { routeReflectorClusterID: cid }, { 'route-reflector': 'true' });
  const topo = [
    bgpConfig({ nodeToNodeMeshEnabled: false }),
    bgpPeer('peer-with-rrs', { nodeSelector: 'all()', peerSelector: 'route-reflector == "true"' }),
    rr('r1', '10.0.0.101/24'),
    rr('r2', '10.0.0.102/24'),
    A,
    B,
    pool('p', '10.65.0.0/16'),
  ];

  it('clients peer only with the reflectors; reflectors peer with every node (both ends of one peering)', () => {
    const a = valid(build(topo, 'a'));
    expect(a.config!.neighbors.map((n) => n.address)).toEqual(['10.0.0.101', '10.0.0.102']);
    expect(a.peers.get('10.0.0.101')).toEqual({ type: 'route reflector', resource: 'BGPPeer peer-with-rrs', node: 'r1' });
    expect(neighbor(a, '10.0.0.101').routeReflectorClient).toBeUndefined();
    expect(a.config!.clusterId).toBeUndefined();
    expect(neighbor(a, '10.0.0.101').passive).toBe(true); // a's address is lower

    const r1 = valid(build(topo, 'r1'));
    expect(r1.config!.clusterId).toBe('244.0.0.1');
    expect(r1.config!.neighbors.map((n) => n.address)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.102']);
    expect(neighbor(r1, '10.0.0.1')).toMatchObject({ routeReflectorClient: true, addPath: { send: true, receive: true } });
    expect(neighbor(r1, '10.0.0.1').passive).toBeUndefined();
    expect(r1.peers.get('10.0.0.1')!.type).toBe('route reflector client');
    // Same cluster id: the two reflectors are not each other's clients.
    expect(neighbor(r1, '10.0.0.102').routeReflectorClient).toBeUndefined();
    // Calico names selector-made peerings "node specific" (a nodeSelector, even all(), is per node).
    expect(r1.peers.get('10.0.0.102')!.type).toBe('node specific');
  });

  it('a reflector passes on its clients\' blocks and host routes inside pools, never the pool itself', () => {
    const rs = [...topo, block('10.65.1.0/26', 'a'), block('10.65.2.0/26', 'r1', ['r1', 'b'])];
    const r1 = valid(build(rs, 'r1'));
    expect(verdicts(neighbor(r1, '10.0.0.1').exportPolicy, ['10.65.1.0/26', '10.65.3.7/32', '10.65.2.1/32', '10.65.2.0/26', '10.65.2.0/27', '10.65.0.0/16', '0.0.0.0/0', '192.0.2.0/24'])).toEqual({
      '10.65.1.0/26': 'accept', // a's block
      '10.65.3.7/32': 'accept', // someone's borrowed address
      '10.65.2.1/32': 'accept', // lent by r1 to b: b originates it, the others need it
      '10.65.2.0/26': 'accept', // r1's own block
      '10.65.2.0/27': 'reject', // nothing else more specific inside r1's own block
      '10.65.0.0/16': 'reject', // the pool itself
      '0.0.0.0/0': 'reject',
      '192.0.2.0/24': 'reject',
    });
  });
});

describe('route reflectors by peerIP', () => {
  it('a peerIP that is a node of the same cluster id is not a client; other iBGP peerIPs are', () => {
    const rs = [
      bgpConfig({ nodeToNodeMeshEnabled: false }),
      node('r1', '10.0.0.101/24', { routeReflectorClusterID: '244.0.0.1' }),
      node('r2', '10.0.0.102/24', { routeReflectorClusterID: '244.0.0.1' }),
      bgpPeer('r1-r2', { node: 'r1', peerIP: '10.0.0.102', asNumber: 64512 }),
      bgpPeer('r1-ext', { node: 'r1', peerIP: '198.18.0.5', asNumber: 64512 }),
    ];
    const r1 = valid(build(rs, 'r1'));
    expect(neighbor(r1, '10.0.0.102').routeReflectorClient).toBeUndefined();
    expect(r1.peers.get('10.0.0.102')).toEqual({ type: 'node specific', resource: 'BGPPeer r1-r2', node: 'r2' });
    expect(neighbor(r1, '198.18.0.5').routeReflectorClient).toBe(true);
  });
});

describe('BGPPeer', () => {
  const base = [A, B, C, bgpConfig({ nodeToNodeMeshEnabled: false })];

  it('global peers apply to every node, node-specific to one, nodeSelector to the matching ones', () => {
    const rs = [
      node('a', '10.0.0.1/24', {}, { rack: 'r1' }),
      node('b', '10.0.0.2/24', {}, { rack: 'r2' }),
      C,
      bgpConfig({ nodeToNodeMeshEnabled: false }),
      bgpPeer('tor-all', { peerIP: '198.18.0.1', asNumber: 65100 }),
      bgpPeer('only-b', { node: 'b', peerIP: '198.18.0.2', asNumber: 65100 }),
      bgpPeer('rack1', { nodeSelector: 'rack == "r1"', peerIP: '198.18.0.3:1790', asNumber: 65100 }),
    ];
    const a = valid(build(rs, 'a'));
    expect(a.config!.neighbors.map((n) => n.address)).toEqual(['198.18.0.1', '198.18.0.3']);
    expect(a.peers.get('198.18.0.1')).toEqual({ type: 'global', resource: 'BGPPeer tor-all' });
    expect(a.peers.get('198.18.0.3')).toEqual({ type: 'node specific', resource: 'BGPPeer rack1' });
    expect(neighbor(a, '198.18.0.3')).toMatchObject({ port: 1790, asn: 65100, localAddress: '10.0.0.1' });
    expect(neighbor(a, '198.18.0.1').passive).toBeUndefined();
    expect(valid(build(rs, 'b')).config!.neighbors.map((n) => n.address)).toEqual(['198.18.0.1', '198.18.0.2']);
    expect(valid(build(rs, 'c')).config!.neighbors.map((n) => n.address)).toEqual(['198.18.0.1']);
  });

  it('peerSelector peers with the selected nodes at their address and AS', () => {
    const rs = [...base, node('d', '10.0.0.4/24', { asNumber: 65004 }, { edge: 'yes' }), bgpPeer('to-edge', { node: 'a', peerSelector: 'has(edge)' })];
    const a = valid(build(rs, 'a'));
    expect(a.config!.neighbors).toHaveLength(1);
    expect(neighbor(a, '10.0.0.4')).toMatchObject({ asn: 65004, passive: true });
    expect(a.peers.get('10.0.0.4')).toEqual({ type: 'node specific', resource: 'BGPPeer to-edge', node: 'd' });
    // The other end has the same peering.
    expect(neighbor(valid(build(rs, 'd')), '10.0.0.1')).toMatchObject({ asn: 64512 });
    expect(valid(build(rs, 'b')).config!.neighbors).toEqual([]);
  });

  it('password, timers, ttlSecurity and IPv6 "[addr]:port"', () => {
    const rs = [
      node('a', '10.0.0.1/24', { ipv6Address: 'fd00::1/64' }),
      bgpPeer('tor6', { peerIP: '[fd00::99]:1790', asNumber: 65100, password: { value: 'pw' }, holdTime: '9s', keepaliveTime: '3s', maxRestartTime: '5m', ttlSecurity: 1 }),
    ];
    const a = valid(build(rs, 'a'));
    expect(neighbor(a, 'fd00::99')).toMatchObject({ port: 1790, families: ['ipv6'], localAddress: 'fd00::1', password: 'pw', holdTime: 9, keepalive: 3, gracefulRestart: { restartTime: 300 }, ttlSecurity: 1 });
    expect(a.problems).toEqual([]);
  });

  it('maxPrefixes per family with its action reaches the neighbour; a bad action stored behind validation falls back to reset', () => {
    const rs = [...base, bgpPeer('tor', { peerIP: '198.18.0.1', asNumber: 65100, maxPrefixes: { ipv4: 100, action: 'stop' } })];
    const a = valid(build(rs, 'a'));
    expect(neighbor(a, '198.18.0.1').maxPrefixes).toEqual({ ipv4: 100, action: 'stop' });
    const bad = { ipv4: 100, action: 'explode', restartAfter: '30s' } as unknown as NonNullable<BGPPeerSpec['maxPrefixes']>;
    const b = valid(build([...base, bgpPeer('tor', { peerIP: '198.18.0.1', asNumber: 65100, maxPrefixes: bad })], 'a'));
    expect(neighbor(b, '198.18.0.1').maxPrefixes).toEqual({ ipv4: 100, restartAfter: 30 });
    expect(b.problems).toEqual(['BGPPeer tor: maxPrefixes.action "explode" must be warn, stop or reset; reset is used']);
  });

  it('a sub-second hold time is refused, never rounded to 0 (which would turn keepalives off)', () => {
    const b = valid(build([...base, bgpPeer('tor', { peerIP: '198.18.0.1', asNumber: 65100, holdTime: '400ms' })], 'a'));
    expect(neighbor(b, '198.18.0.1').holdTime).toBeUndefined();
    expect(b.problems).toEqual(['BGPPeer tor: holdTime 400ms is not allowed: use 0 or 3s..65535s; the default is used']);
  });

  it('a secretKeyRef password is a problem and opens no session (never an unauthenticated one)', () => {
    const b = valid(build([...base, bgpPeer('tor', { peerIP: '198.18.0.1', asNumber: 65100, password: { secretKeyRef: { name: 'bgp', key: 'pw' } } })], 'a'));
    expect(b.config!.neighbors).toEqual([]);
    expect(b.problems).toEqual([expect.stringMatching(/^BGPPeer tor: password.secretKeyRef \(bgp\/pw\) cannot be read.*password.value/)]);
  });

  it('an unparseable selector, a bad duration, a missing AS are problems; nothing else changes', () => {
    const good = bgpPeer('good', { peerIP: '198.18.0.1', asNumber: 65100 });
    const ok = valid(build([...base, good], 'a'));
    const rs = [
      ...base,
      good,
      bgpPeer('bad-sel', { nodeSelector: 'rack = "r1"', peerIP: '198.18.0.2', asNumber: 65100 }),
      bgpPeer('bad-peer-sel', { peerSelector: 'has(' }),
      bgpPeer('no-as', { peerIP: '198.18.0.3' }),
      bgpPeer('bad-ip', { peerIP: '198.18.0.300', asNumber: 1 }),
      bgpPeer('bad-hold', { peerIP: '198.18.0.4', asNumber: 65100, holdTime: '9' }),
    ];
    const b = valid(build(rs, 'a'));
    expect(b.config!.neighbors.map((n) => n.address)).toEqual(['198.18.0.1', '198.18.0.4']);
    expect(neighbor(b, '198.18.0.4').holdTime).toBeUndefined();
    expect(neighbor(b, '198.18.0.1')).toEqual(neighbor(ok, '198.18.0.1'));
    expect(b.config!.originate).toEqual(ok.config!.originate);
    const text = b.problems.join('\n');
    expect(text).toMatch(/BGPPeer bad-sel: spec.nodeSelector: .*use ==/);
    expect(text).toMatch(/BGPPeer bad-peer-sel: spec.peerSelector: /);
    expect(text).toMatch(/BGPPeer no-as: asNumber undefined is not an AS number/);
    expect(text).toMatch(/BGPPeer bad-ip: spec.peerIP "198.18.0.300" is not an address/);
    expect(text).toMatch(/BGPPeer bad-hold: holdTime: "9" is not a duration/);
  });

  it('an explicit BGPPeer to a mesh node wins over the mesh; two BGPPeers to one address are a problem', () => {
    const rs = [A, B, bgpPeer('z-global', { peerIP: '10.0.0.2', asNumber: 64512 }), bgpPeer('a-node', { node: 'a', peerIP: '10.0.0.2', asNumber: 64512, password: { value: 'x' } })];
    const a = valid(build(rs, 'a'));
    expect(a.peers.get('10.0.0.2')).toEqual({ type: 'node specific', resource: 'BGPPeer a-node', node: 'b' });
    expect(neighbor(a, '10.0.0.2').password).toBe('x');
    expect(a.problems).toEqual([expect.stringMatching(/^BGPPeer a-node and BGPPeer z-global peer with 10.0.0.2/)]);
  });
});

describe('what is originated and exported', () => {
  const rs = [
    A,
    B,
    bgpPeer('tor', { peerIP: '198.18.0.1', asNumber: 65100 }),
    pool('p4', '10.65.0.0/16'),
    block('10.65.1.0/26', 'a', ['a', 'b']), // a's block; ordinal 1 lent to b
    block('10.65.2.0/26', 'b', ['b', 'a']), // b's block; ordinal 1 borrowed by a
    block('10.65.3.0/26', 'a'),
    bgpConfig({
      serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
      serviceExternalIPs: [{ cidr: '192.0.2.0/24' }],
      communities: [{ name: 'blocks', value: '65000:100' }],
      prefixAdvertisements: [{ cidr: '10.65.0.0/16', communities: ['blocks', '65000:7'] }],
    }),
  ];

  it('originates exactly its blocks, its borrowed addresses and the service ranges, with prefixAdvertisements communities', () => {
    const a = valid(build(rs, 'a'));
    expect(a.config!.originate).toEqual([
      { prefix: '10.65.1.0/26', communities: ['65000:100', '65000:7'] },
      { prefix: '10.65.2.1/32', communities: ['65000:100', '65000:7'] },
      { prefix: '10.65.3.0/26', communities: ['65000:100', '65000:7'] },
      { prefix: '10.96.0.0/12' },
      { prefix: '192.0.2.0/24' },
    ]);
    expect(a.problems).toEqual([]);
  });

  it('exports to eBGP and iBGP only what it originates: no pool, nothing more specific in its blocks, nothing learned', () => {
    const a = valid(build(rs, 'a'));
    const probe = ['10.65.1.0/26', '10.65.1.0/27', '10.65.1.1/32', '10.65.2.1/32', '10.65.2.0/26', '10.65.0.0/16', '10.96.0.0/12', '0.0.0.0/0'];
    const expected = {
      '10.65.1.0/26': 'accept',
      '10.65.1.0/27': 'reject',
      '10.65.1.1/32': 'reject', // lent to b: b advertises it, not a
      '10.65.2.1/32': 'accept',
      '10.65.2.0/26': 'reject', // b's block
      '10.65.0.0/16': 'reject',
      '10.96.0.0/12': 'accept',
      '0.0.0.0/0': 'reject',
    };
    expect(verdicts(neighbor(a, '198.18.0.1').exportPolicy, probe)).toEqual(expected);
    expect(verdicts(neighbor(a, '10.0.0.2').exportPolicy, probe)).toEqual(expected);
  });

  it('imports everything except routes inside its own blocks, but accepts the addresses it lent', () => {
    const a = valid(build(rs, 'a'));
    expect(verdicts(neighbor(a, '10.0.0.2').importPolicy, ['10.65.1.0/26', '10.65.1.0/28', '10.65.1.5/32', '10.65.1.1/32', '10.65.2.0/26', '10.65.0.0/16', '0.0.0.0/0'])).toEqual({
      '10.65.1.0/26': 'reject',
      '10.65.1.0/28': 'reject',
      '10.65.1.5/32': 'reject',
      '10.65.1.1/32': 'accept', // b's workload holds it
      '10.65.2.0/26': 'accept',
      '10.65.0.0/16': 'accept',
      '0.0.0.0/0': 'accept',
    });
    expect(neighbor(a, '198.18.0.1').importPolicy).toEqual(neighbor(a, '10.0.0.2').importPolicy);
  });

  it('graceful restart on (120 s), ECMP across peers', () => {
    const c = valid(build(rs, 'a')).config!;
    expect(c.gracefulRestart).toEqual({ enabled: true, restartTime: 120 });
    expect(c.maxPaths).toBeGreaterThan(1);
  });

  it('an IPv6 block and borrowed address are /128 and IPv6-only', () => {
    const b6 = [node('a', '10.0.0.1/24', { ipv6Address: 'fd00::1/64' }), block('fd00:65::/122', 'a'), block('fd00:65::40/122', 'b', ['b', 'a'])];
    expect(valid(build(b6, 'a')).config!.originate).toEqual([{ prefix: 'fd00:65::/122' }, { prefix: 'fd00:65::41/128' }]);
  });
});

describe('this node cannot speak BGP', () => {
  it('no BGP address: no config, a problem that says what to do', () => {
    const b = build([node('a', undefined), B], 'a');
    expect(b.config).toBeUndefined();
    expect(b.problems).toEqual([expect.stringMatching(/^Node a: no BGP address .*--node-ip/)]);
  });

  it('no Node resource: no config', () => {
    const b = build([B], 'a');
    expect(b.config).toBeUndefined();
    expect(b.problems).toEqual([expect.stringMatching(/^Node a: no such Node resource/)]);
  });

  it('the unspecified address or another node\'s address is a problem, not a session', () => {
    const z = build([node('a', '0.0.0.0/0')], 'a');
    expect(z.config).toBeUndefined();
    expect(z.problems).toEqual([expect.stringMatching(/^Node a: no BGP address/), expect.stringMatching(/^Node a: spec.bgp.ipv4Address "0.0.0.0\/0" is the unspecified address/)]);
    const b = build([A, node('twin', '10.0.0.1/24')], 'a');
    expect(b.config!.neighbors).toEqual([]);
    expect(b.problems).toEqual(['Node twin has the same IPv4 BGP address as this node (10.0.0.1); no session with it']);
  });

  it('a mesh password in a secretKeyRef keeps the mesh down and says so', () => {
    const b = build([bgpConfig({ nodeMeshPassword: { secretKeyRef: { name: 's', key: 'k' } } }), A, B], 'a');
    expect(b.config!.neighbors).toEqual([]);
    expect(b.problems).toEqual([expect.stringMatching(/^BGPConfiguration default: nodeMeshPassword.secretKeyRef \(s\/k\) cannot be read/)]);
  });

  it('a bad address is a problem; the other family still works', () => {
    const b = build([node('a', '10.0.0.1/24', { ipv6Address: 'fd00::zz/64' }), B], 'a');
    expect(b.config!.neighbors.map((n) => n.address)).toEqual(['10.0.0.2']);
    expect(b.problems).toEqual([expect.stringMatching(/^Node a: spec.bgp.ipv6Address/)]);
  });
});
