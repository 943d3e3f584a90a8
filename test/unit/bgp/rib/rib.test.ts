// The RIB: Adj-RIB-In + Loc-RIB in one table, interning, import policy, loops, flushing.
import { describe, expect, it } from 'vitest';
import { formatPrefix } from '../../../../bgp/packet/index.js';
import { compilePolicy, ACCEPT_ALL } from '../../../../bgp/rib/policy.js';
import { LOCAL_AS, hosts, nh, pfx, rib, seq, set, source } from './fixtures.js';

const names = (ps: { afi: number }[]): string[] => [...new Set(ps.map((p) => formatPrefix(p as never)))].sort();

describe('Rib', () => {
  it('shares one attribute set and one path among all prefixes announced with the same attributes', () => {
    const r = rib();
    const s = source(r, 'ebgp', '192.0.2.1', 65001);
    const ps = hosts(10_000);
    for (let i = 0; i < ps.length; i += 500) {
      r.announce(s, ps.slice(i, i + 500), set(r, { origin: 0, asPath: seq(65001), nextHop: nh('192.0.2.1') }), ACCEPT_ALL);
    }
    expect(r.store.size).toBe(1);
    expect(s.pathCount).toBe(1);
    expect(s.received).toBe(10_000);
    expect(r.loc.size).toBe(10_000);
    r.withdraw(s, ps);
    expect(s.received).toBe(0);
    expect(s.pathCount).toBe(0);
    expect(r.store.size).toBe(0);
    expect(r.loc.size).toBe(0);
  });

  it('picks the best of two sources, and falls back when the best is withdrawn', () => {
    const r = rib();
    const a = source(r, 'ebgp', '192.0.2.1', 65001);
    const b = source(r, 'ebgp', '192.0.2.2', 65002);
    const p = pfx('198.51.100.0/24');
    r.announce(a, [p], set(r, { origin: 0, asPath: seq(65001, 65005), nextHop: nh('192.0.2.1') }), ACCEPT_ALL);
    r.loc.drainChanges();
    r.announce(b, [p], set(r, { origin: 0, asPath: seq(65002), nextHop: nh('192.0.2.2') }), ACCEPT_ALL);
    expect(r.loc.best(p)?.source).toBe(b);
    expect(names(r.loc.drainChanges())).toEqual(['198.51.100.0/24']);
    // A worse path from a non-best source changes nothing.
    r.announce(a, [p], set(r, { origin: 2, asPath: seq(65001, 65005, 65006), nextHop: nh('192.0.2.1') }), ACCEPT_ALL);
    expect(r.loc.best(p)?.source).toBe(b);
    expect(r.loc.drainChanges()).toEqual([]);
    expect(r.withdraw(b, [p])).toBe(1);
    expect(r.loc.best(p)?.source).toBe(a);
    expect(names(r.loc.drainChanges())).toEqual(['198.51.100.0/24']);
    expect(r.withdraw(b, [p])).toBe(0);
    r.withdraw(a, [p]);
    expect(r.loc.best(p)).toBeUndefined();
    expect(r.loc.size).toBe(0);
  });

  it('keeps prefixes the import policy rejects, unaccepted, and accepts them when the policy changes', () => {
    const r = rib();
    const s = source(r, 'ebgp', '192.0.2.1', 65001);
    const deny10 = compilePolicy({ default: 'accept', rules: [{ prefix: '10.0.0.0/8', le: 32, action: 'reject' }] }, 'import policy');
    r.announce(s, [pfx('10.1.0.0/16'), pfx('11.0.0.0/8')], set(r, { origin: 0, asPath: seq(65001), nextHop: nh('192.0.2.1') }), deny10);
    expect(s.received).toBe(2);
    expect(s.accepted).toBe(1);
    expect(r.loc.best(pfx('10.1.0.0/16'))).toBeUndefined();
    expect(r.loc.best(pfx('11.0.0.0/8'))?.source).toBe(s);
    r.loc.drainChanges();
    const gen = r.reapply(s, ACCEPT_ALL);
    while (!gen.next().done);
    expect(s.accepted).toBe(2);
    expect(r.loc.best(pfx('10.1.0.0/16'))?.source).toBe(s);
    expect(names(r.loc.drainChanges())).toEqual(['10.1.0.0/16']);
  });

  it('rejects paths whose AS_PATH contains our own AS (loop detection)', () => {
    const r = rib();
    const s = source(r, 'ebgp', '192.0.2.1', 65001);
    r.announce(s, [pfx('10.0.0.0/8')], set(r, { origin: 0, asPath: seq(65001, LOCAL_AS, 65009), nextHop: nh('192.0.2.1') }), ACCEPT_ALL);
    expect(s.received).toBe(1);
    expect(s.accepted).toBe(0);
    expect(r.loc.best(pfx('10.0.0.0/8'))).toBeUndefined();
    expect(r.loc.drainChanges()).toEqual([]);
  });

  it('flushes one source in bounded steps, leaving the others', () => {
    const r = rib();
    const a = source(r, 'ebgp', '192.0.2.1', 65001);
    const b = source(r, 'ebgp', '192.0.2.2', 65002);
    const ps = hosts(10_000);
    r.announce(a, ps, set(r, { origin: 0, asPath: seq(65001), nextHop: nh('192.0.2.1') }), ACCEPT_ALL);
    r.announce(b, ps.slice(0, 100), set(r, { origin: 0, asPath: seq(65002, 1), nextHop: nh('192.0.2.2') }), ACCEPT_ALL);
    r.loc.drainChanges();
    let steps = 0;
    const gen = r.flush(a, 1000);
    while (!gen.next().done) steps++;
    expect(steps).toBeGreaterThanOrEqual(9);
    expect(a.received).toBe(0);
    expect(a.alive).toBe(false);
    expect(b.received).toBe(100);
    expect(r.loc.size).toBe(100);
    expect(r.loc.best(ps[0]!)?.source).toBe(b);
    expect(r.loc.drainChanges().length).toBe(10_000);
    // A dead source accepts nothing more.
    r.announce(a, ps, set(r, { origin: 0, asPath: seq(65001), nextHop: nh('192.0.2.1') }), ACCEPT_ALL);
    expect(a.received).toBe(0);
  });

  it('replacing a path with the same one is no change', () => {
    const r = rib();
    const s = source(r, 'ebgp', '192.0.2.1', 65001);
    const a = set(r, { origin: 0, asPath: seq(65001), nextHop: nh('192.0.2.1') });
    r.announce(s, hosts(10), a, ACCEPT_ALL);
    r.loc.drainChanges();
    r.announce(s, hosts(10), a, ACCEPT_ALL);
    expect(r.loc.drainChanges()).toEqual([]);
    expect(s.received).toBe(10);
  });
});
