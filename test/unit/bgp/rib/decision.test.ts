// The decision process, one tie-breaker at a time, with the reason it gives.
import { describe, expect, it } from 'vitest';
import { parseIpv4, type PathAttributes } from '../../../../bgp/packet/index.js';
import { explain, selectBest, type DecisionOptions } from '../../../../bgp/rib/decision.js';
import type { Path } from '../../../../bgp/rib/path.js';
import type { SourceKind } from '../../../../bgp/rib/path.js';
import { LOCAL_AS, LOCAL_ID, nh, rib, seq, set, source } from './fixtures.js';

const base: PathAttributes = { origin: 0, asPath: seq(65001), nextHop: nh('192.0.2.1') };

function path(kind: SourceKind, address: string, a: Partial<PathAttributes> = {}, routerId = address, asn = 65001): Path {
  const r = shared;
  return source(r, kind, address, asn, routerId).path(set(r, { ...base, ...a }), true);
}
const shared = rib();
const opts: DecisionOptions = { alwaysCompareMed: false, localAs: LOCAL_AS, localId: LOCAL_ID };

function decide(winner: Path, loser: Path, o = opts): string {
  expect(selectBest([winner, loser], o)).toBe(winner);
  expect(selectBest([loser, winner], o)).toBe(winner);
  return explain(winner, loser, o)!.text;
}

describe('decision process', () => {
  it('1. highest LOCAL_PREF', () => {
    const a = path('ibgp', '10.0.0.1', { localPref: 200, asPath: seq(1, 2, 3) });
    const b = path('ibgp', '10.0.0.2', { localPref: 100 });
    expect(decide(a, b)).toBe('higher LOCAL_PREF (200 vs 100)');
  });

  it('LOCAL_PREF defaults to 100 when absent', () => {
    const a = path('ebgp', '10.0.0.1', {});
    const b = path('ibgp', '10.0.0.2', { localPref: 50 });
    expect(decide(a, b)).toBe('higher LOCAL_PREF (100 vs 50)');
  });

  it('2. shortest AS_PATH (an AS_SET counts as one)', () => {
    const a = path('ebgp', '10.0.0.1', { asPath: [{ type: 2, asns: [65001] }, { type: 1, asns: [7, 8, 9] }] });
    const b = path('ebgp', '10.0.0.2', { asPath: seq(65001, 65002, 65003) });
    expect(decide(a, b)).toBe('shorter AS_PATH (2 vs 3)');
  });

  it('3. lowest ORIGIN', () => {
    const a = path('ebgp', '10.0.0.9', { origin: 0 });
    const b = path('ebgp', '10.0.0.2', { origin: 2 });
    expect(decide(a, b)).toBe('lower ORIGIN (IGP vs INCOMPLETE)');
  });

  it('4. lowest MED between paths from the same neighbour AS', () => {
    const a = path('ebgp', '10.0.0.9', { med: 10 });
    const b = path('ebgp', '10.0.0.2', { med: 20 });
    expect(decide(a, b)).toBe('lower MED (10 vs 20)');
  });

  it('4. MED is not compared between different neighbour ASes, unless alwaysCompareMed', () => {
    const a = path('ebgp', '10.0.0.1', { med: 50, asPath: seq(65001) });
    const b = path('ebgp', '10.0.0.2', { med: 10, asPath: seq(65002) }, '10.0.0.2', 65002);
    expect(decide(a, b)).toBe('lower router id (10.0.0.1 vs 10.0.0.2)');
    expect(decide(b, a, { ...opts, alwaysCompareMed: true })).toBe('lower MED (10 vs 50)');
  });

  it('4. missing MED counts as 0', () => {
    const a = path('ebgp', '10.0.0.9', {});
    const b = path('ebgp', '10.0.0.2', { med: 1 });
    expect(decide(a, b)).toBe('lower MED (0 vs 1)');
  });

  it('4. MED works by neighbour-AS groups, so the result does not depend on the order of the candidates', () => {
    // p1 and p3 come from AS 100: p3's lower MED eliminates p1. Between p2 and p3 the router id decides.
    const p1 = path('ebgp', '10.0.1.1', { asPath: seq(100), med: 20 }, '1.0.0.1', 100);
    const p2 = path('ebgp', '10.0.1.2', { asPath: seq(200), med: 5 }, '1.0.0.2', 200);
    const p3 = path('ebgp', '10.0.1.3', { asPath: seq(100), med: 10 }, '1.0.0.3', 100);
    for (const order of [[p1, p2, p3], [p1, p3, p2], [p2, p1, p3], [p2, p3, p1], [p3, p1, p2], [p3, p2, p1]]) {
      expect(selectBest(order, opts)).toBe(p2);
    }
  });

  it('5. locally originated over eBGP over iBGP', () => {
    const local = shared.local.path(set(shared, { origin: 0, asPath: seq(65001) }), true);
    const e = path('ebgp', '10.0.0.1', {});
    const i = path('ibgp', '10.0.0.0', {}, '1.1.1.1', LOCAL_AS);
    expect(decide(e, i)).toBe('ebgp vs ibgp');
    expect(decide(local, e)).toBe('locally originated vs ebgp');
  });

  it('6. lowest router id, using ORIGINATOR_ID when present', () => {
    const a = path('ibgp', '10.0.0.9', {}, '10.9.9.9', LOCAL_AS);
    const b = path('ibgp', '10.0.0.2', {}, '10.9.9.10', LOCAL_AS);
    expect(decide(a, b)).toBe('lower router id (10.9.9.9 vs 10.9.9.10)');
    const reflected = path('ibgp', '10.0.0.3', { originatorId: parseIpv4('10.0.0.1') }, '10.200.0.1', LOCAL_AS);
    expect(decide(reflected, a)).toBe('lower router id (10.0.0.1 vs 10.9.9.9)');
  });

  it('6. router ids compare as unsigned numbers', () => {
    const a = path('ebgp', '10.0.0.1', {}, '100.0.0.1');
    const b = path('ebgp', '10.0.0.2', {}, '200.0.0.1');
    expect(decide(a, b)).toBe('lower router id (100.0.0.1 vs 200.0.0.1)');
  });

  it('7. lowest peer address when everything else ties (IPv4 before IPv6)', () => {
    const a = path('ebgp', '10.0.0.2', {}, '1.1.1.1');
    const b = path('ebgp', '10.0.0.10', {}, '1.1.1.1');
    expect(decide(a, b)).toBe('lower peer address (10.0.0.2 vs 10.0.0.10)');
    const c = path('ebgp', '2001:db8::1', {}, '1.1.1.1');
    expect(decide(b, c)).toBe('lower peer address (10.0.0.10 vs 2001:db8::1)');
  });

  it('explain says nothing decided between a path and itself', () => {
    const a = path('ebgp', '10.0.0.1', {});
    expect(explain(a, a, opts)).toBeUndefined();
  });
});
