// The translation depends only on which objects exist, never on the order updates arrive in;
// and a change to one object changes only what it touches.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../../../src/api/types.js';
import type { SyncEvent } from '../../../../src/datastore/syncer.js';
import { BgpAgentInputs } from '../../../../bgp/agent/index.js';
import { resolveConfig } from '../../../../bgp/server/config.js';
import { bgpConfig, bgpPeer, block, build, node, pool } from './builders.js';

const NODES = ['n1', 'n2', 'n3', 'n4'];

const nodeArb = (name: string, i: number): fc.Arbitrary<Resource> =>
  fc
    .record({
      v4: fc.boolean(),
      v6: fc.boolean(),
      as: fc.option(fc.constantFrom(65001, 65002), { nil: undefined }),
      rr: fc.option(fc.constantFrom('244.0.0.1', '244.0.0.2'), { nil: undefined }),
      rack: fc.constantFrom('a', 'b'),
    })
    .map((o) =>
      node(
        name,
        o.v4 ? `10.0.0.${i + 1}/24` : undefined,
        {
          ...(o.v6 ? { ipv6Address: `fd00::${i + 1}/64` } : {}),
          ...(o.as !== undefined ? { asNumber: o.as } : {}),
          ...(o.rr !== undefined ? { routeReflectorClusterID: o.rr } : {}),
        },
        { rack: o.rack, ...(o.rr !== undefined ? { rr: 'true' } : {}) },
      ),
    );

const peerArb = (name: string): fc.Arbitrary<Resource> =>
  fc
    .record({
      scope: fc.constantFrom<Record<string, string>>({}, { node: 'n1' }, { nodeSelector: 'rack == "a"' }, { nodeSelector: 'rack = "a"' }),
      target: fc.constantFrom<Record<string, unknown>>(
        { peerIP: '198.18.0.1', asNumber: 65100 },
        { peerIP: '198.18.0.2:1790', asNumber: 65100 },
        { peerIP: 'fd00::99', asNumber: 64512 },
        { peerSelector: 'has(rr)' },
        { peerSelector: 'rack == "b"' },
      ),
      password: fc.constantFrom<Record<string, unknown>>({}, { password: { value: 'pw' } }, { password: { secretKeyRef: { name: 's', key: 'k' } } }),
      hold: fc.constantFrom<Record<string, string>>({}, { holdTime: '9s' }, { holdTime: '1s' }, { holdTime: '400ms', keepaliveTime: '0.2s' }, { maxRestartTime: '2h' }),
    })
    .map((o) => bgpPeer(name, { ...o.scope, ...o.target, ...o.password, ...o.hold }));

const blockArb = (cidr: string): fc.Arbitrary<Resource> =>
  fc
    .record({ owner: fc.option(fc.constantFrom(...NODES), { nil: undefined }), allocs: fc.array(fc.constantFrom(...NODES), { maxLength: 4 }) })
    .map((o) => block(cidr, o.owner, o.allocs));

const configArb: fc.Arbitrary<Resource> = fc
  .record({ mesh: fc.boolean(), as: fc.constantFrom(64512, 65000), svc: fc.boolean() })
  .map((o) => bgpConfig({ nodeToNodeMeshEnabled: o.mesh, asNumber: o.as, ...(o.svc ? { serviceClusterIPs: [{ cidr: '10.96.0.0/12' }] } : {}) }));

/** Every object that may exist, each with an arbitrary content. */
const universeArb: fc.Arbitrary<Resource[]> = fc.tuple(
  fc.tuple(...NODES.map((n, i) => nodeArb(n, i))),
  fc.tuple(peerArb('p1'), peerArb('p2'), peerArb('p3')),
  fc.tuple(blockArb('10.65.0.0/26'), blockArb('10.65.0.64/26'), blockArb('10.65.0.128/26'), blockArb('fd00:65::/122')),
  configArb,
).map(([nodes, peers, blocks, cfg]) => [...nodes, ...peers, ...blocks, cfg, pool('p4', '10.65.0.0/16')]);

const keyOf = (r: Resource): string => `${r.kind}/${r.metadata.name}`;

/**
 * A history that ends with exactly `final` present: every final object may first exist in an
 * older version (`stale`), and `extra` objects come and go. Each object's own events stay in
 * order; the objects' histories are interleaved by `order`.
 */
function history(final: Resource[], stale: Resource[], extra: Resource[], order: number[]): SyncEvent[] {
  const chains: SyncEvent[][] = [];
  const finalKeys = new Set(final.map(keyOf));
  for (const r of final) {
    const old = stale.find((s) => keyOf(s) === keyOf(r));
    chains.push([...(old !== undefined ? [{ type: 'set', resource: old } as const] : []), { type: 'set', resource: r }]);
  }
  for (const r of extra) {
    if (finalKeys.has(keyOf(r))) continue;
    chains.push([
      { type: 'set', resource: r },
      { type: 'deleted', key: { kind: r.kind, name: r.metadata.name } },
    ]);
  }
  // order: a permutation of chain slots (one slot per event).
  const slots = chains.flatMap((c, i) => c.map(() => i));
  const next = chains.map(() => 0);
  const out: SyncEvent[] = [];
  for (const o of order) {
    const i = slots[o % slots.length]!;
    slots.splice(o % slots.length, 1);
    out.push(chains[i]![next[i]!++]!);
  }
  for (const i of slots) out.push(chains[i]![next[i]!++]!);
  return out;
}

describe('order independence', () => {
  it('any order of the same updates gives the same config, peers and problems on every node, and a config the speaker accepts', () => {
    fc.assert(
      fc.property(
        universeArb,
        universeArb,
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (universe, other, keep, staleMask, order) => {
          const final = universe.filter((_, i) => keep[i] !== false);
          const stale = other.filter((_, i) => staleMask[i] === true);
          const extra = universe.filter((_, i) => keep[i] === false).concat(other.filter((_, i) => staleMask[i] !== true));
          const store = new BgpAgentInputs();
          store.apply(history(final, stale, extra, order));
          for (const n of NODES) {
            const b = store.build(n);
            expect(b).toEqual(build(final, n));
            // Whatever the input, the speaker accepts the result (problems are reported, never passed on).
            if (b.config !== undefined) expect(() => resolveConfig(b.config!)).not.toThrow();
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('incrementality', () => {
  const base = [
    node('a', '10.0.0.1/24'),
    node('b', '10.0.0.2/24'),
    node('c', '10.0.0.3/24'),
    bgpPeer('tor1', { peerIP: '198.18.0.1', asNumber: 65100, password: { value: 'one' } }),
    bgpPeer('tor2', { peerIP: '198.18.0.2', asNumber: 65100 }),
    block('10.65.0.0/26', 'a'),
  ];

  it('changing one BGPPeer\'s password changes only that neighbour (so updateConfig resets only that session)', () => {
    const before = build(base, 'a').config!;
    const after = build(base.map((r) => (r.metadata.name === 'tor1' ? bgpPeer('tor1', { peerIP: '198.18.0.1', asNumber: 65100, password: { value: 'two' } }) : r)), 'a').config!;
    const changed = after.neighbors.filter((n) => JSON.stringify(n) !== JSON.stringify(before.neighbors.find((m) => m.address === n.address)));
    expect(changed.map((n) => n.address)).toEqual(['198.18.0.1']);
    expect(changed[0]!.password).toBe('two');
    expect({ ...after, neighbors: [] }).toEqual({ ...before, neighbors: [] });
    expect(after.neighbors.length).toBe(before.neighbors.length);
  });

  it('adding a BGPPeer adds one neighbour and leaves the others exactly as they were', () => {
    const before = build(base, 'a').config!;
    const after = build([...base, bgpPeer('tor3', { peerIP: '198.18.0.3', asNumber: 65100 })], 'a').config!;
    expect(after.neighbors.filter((n) => n.address !== '198.18.0.3')).toEqual(before.neighbors);
    expect(after.neighbors.map((n) => n.address)).toContain('198.18.0.3');
  });

  it('a new block on another host changes nothing on this one', () => {
    expect(build([...base, block('10.65.0.64/26', 'b')], 'a')).toEqual(build(base, 'a'));
  });
});
