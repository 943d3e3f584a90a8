// RuleRenderer.update: applying each flush's render delta to what was rendered before gives
// exactly renderAll of the final state, and a delta lists only chains and sets that changed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CalcGraph } from '../../../../felix/calc/index.js';
import {
  RuleRenderer,
  isEmptyRenderDelta,
  policyChain,
  renderAll,
  type FamilyDelta,
  type Rendered,
  type RenderedFamily,
} from '../../../../felix/rules/index.js';
import { np, set, wep } from '../calc/builders.js';
import { opArb, toEvent } from '../calc/universe.js';

interface FamModel {
  tables: Record<string, Map<string, string>>;
  hooks: string;
  ipsets: Map<string, string>;
}

function emptyModel(): FamModel {
  return { tables: { filter: new Map(), nat: new Map(), raw: new Map(), mangle: new Map() }, hooks: '[]', ipsets: new Map() };
}

function applyFamilyDelta(m: FamModel, d: FamilyDelta): void {
  for (const t of ['filter', 'nat', 'raw', 'mangle'] as const) {
    for (const c of d[t].upserts) {
      const text = JSON.stringify(c.rules);
      expect(m.tables[t]!.get(c.name), `upsert of unchanged chain ${c.name}`).not.toBe(text);
      m.tables[t]!.set(c.name, text);
    }
    for (const n of d[t].deletes) {
      expect(m.tables[t]!.has(n), `delete of unknown chain ${n}`).toBe(true);
      m.tables[t]!.delete(n);
    }
  }
  if (d.hooks !== undefined) m.hooks = JSON.stringify(d.hooks);
  for (const s of d.ipsetUpserts) {
    const text = JSON.stringify(s);
    expect(m.ipsets.get(s.name), `upsert of unchanged set ${s.name}`).not.toBe(text);
    m.ipsets.set(s.name, text);
  }
  for (const n of d.ipsetDeletes) {
    expect(m.ipsets.has(n)).toBe(true);
    m.ipsets.delete(n);
  }
}

function modelOf(f: RenderedFamily | undefined): FamModel {
  const m = emptyModel();
  if (f === undefined) return m;
  for (const t of ['filter', 'nat', 'raw', 'mangle'] as const) for (const c of f[t]) m.tables[t]!.set(c.name, JSON.stringify(c.rules));
  m.hooks = JSON.stringify(f.hooks);
  for (const s of f.ipsets) m.ipsets.set(s.name, JSON.stringify(s));
  return m;
}

function text(m: FamModel): string {
  const sorted = (x: Map<string, string>): [string, string][] => [...x.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify({
    tables: Object.fromEntries(Object.entries(m.tables).map(([k, v]) => [k, sorted(v)])),
    hooks: m.hooks,
    ipsets: sorted(m.ipsets),
  });
}

describe('incremental rendering', () => {
  it('deltas applied in sequence equal a full render of the final state', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 50 }), fc.array(fc.nat({ max: 50 }), { maxLength: 8 }), (ops, cutList) => {
        const g = new CalcGraph({ nodeName: 'host1' });
        const rr = new RuleRenderer({ dispatchFanout: 2 });
        const m4 = emptyModel();
        const m6 = emptyModel();
        const cuts = new Set(cutList);
        const step = (): void => {
          const rd = rr.update(g.flush());
          applyFamilyDelta(m4, rd.v4);
          applyFamilyDelta(m6, rd.v6);
        };
        ops.forEach((op, i) => {
          g.apply([toEvent(op)]);
          if (cuts.has(i)) step();
        });
        step();
        const full: Rendered = renderAll(g.snapshot(), { dispatchFanout: 2 });
        expect(text(m4)).toBe(text(modelOf(full.v4)));
        expect(text(m6)).toBe(text(modelOf(full.v6)));
        expect(JSON.stringify(rr.current())).toBe(JSON.stringify(full));
        expect(isEmptyRenderDelta(rr.update(g.flush()))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('a rule change rewrites only that policy chain', () => {
    const g = new CalcGraph({ nodeName: 'host1' });
    const rr = new RuleRenderer();
    g.apply([
      set(wep('a', { ips: ['10.0.0.1/32'] })),
      set(wep('b', { ips: ['10.0.0.2/32'] })),
      set(np('p', { ingress: [{ action: 'Allow', protocol: 'TCP' }] })),
    ]);
    rr.update(g.flush());
    g.apply([set(np('p', { ingress: [{ action: 'Allow', protocol: 'UDP' }] }))]);
    const d = rr.update(g.flush());
    expect(d.v4.filter.upserts.map((c) => c.name)).toEqual([policyChain('np/default/p', 'in')]);
    expect(d.v4.filter.deletes).toEqual([]);
    expect(d.v4.hooks).toBeUndefined();
    expect(d.v4.ipsetUpserts).toEqual([]);
  });

  it('a new endpoint adds its chains and rewrites only the dispatch chains', () => {
    const g = new CalcGraph({ nodeName: 'host1' });
    const rr = new RuleRenderer();
    g.apply([set(wep('a', { ips: ['10.0.0.1/32'] }))]);
    rr.update(g.flush());
    g.apply([set(wep('b', { ips: ['10.0.0.2/32'] }))]);
    const d = rr.update(g.flush());
    expect(d.v4.filter.upserts.map((c) => c.name)).toEqual(['tw-from-wl-dispatch', 'tw-fw-twb', 'tw-to-wl-dispatch', 'tw-tw-twb']);
  });
});
