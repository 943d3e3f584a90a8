// The calculation's result depends only on the final datastore content: random update sequences
// over a small universe, applied in any order, with repeats, squashes and flushes anywhere, give
// the same (byte-identical) desired state; and the deltas add up to that state.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CalcGraph } from '../../../../felix/calc/index.js';
import type { DesiredState, DesiredStateDelta } from '../../../../felix/calc/types.js';
import { keyOf } from '../../../../src/api/types.js';
import { finalContent, opArb, toEvent } from './universe.js';

/** DesiredState as text, Map order included (so determinism of ordering is checked too). */
function text(s: DesiredState): string {
  return JSON.stringify(s, (_k, v: unknown) => (v instanceof Map ? [...v.entries()] : v));
}

/** Applies a delta to a model of the state. */
function applyDelta(model: Record<string, Map<string, unknown>>, d: DesiredStateDelta): void {
  for (const k of ['endpoints', 'policies', 'profiles', 'ipsets', 'routes', 'pools'] as const) {
    const m = (model[k] ??= new Map());
    for (const [key, v] of d[k].upserts) m.set(key, v);
    for (const key of d[k].deletes) m.delete(key);
  }
}

function sortedModel(model: Record<string, Map<string, unknown>>): string {
  const out: Record<string, [string, unknown][]> = {};
  for (const k of ['endpoints', 'policies', 'profiles', 'ipsets', 'routes', 'pools']) {
    out[k] = [...(model[k] ?? new Map()).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
  return JSON.stringify(out);
}

function stateModel(s: DesiredState): string {
  const model: Record<string, Map<string, unknown>> = {
    endpoints: s.endpoints as Map<string, unknown>,
    policies: s.policies as Map<string, unknown>,
    profiles: s.profiles as Map<string, unknown>,
    ipsets: s.ipsets as Map<string, unknown>,
    routes: s.routes as Map<string, unknown>,
    pools: s.pools as Map<string, unknown>,
  };
  return sortedModel(model);
}

describe('order independence', () => {
  it('reordered, repeated and squashed sequences give the same state; deltas add up to it', () => {
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 60 }),
        fc.array(fc.nat({ max: 60 }), { maxLength: 6 }),
        fc.infiniteStream(fc.nat()),
        fc.infiniteStream(fc.nat()),
        (ops, flushPoints, shuffleA, shuffleB) => {
          const events = ops.map(toEvent);

          // A: the sequence as it came, flushed at random points, deltas accumulated.
          const a = new CalcGraph({ nodeName: 'host1' });
          const model: Record<string, Map<string, unknown>> = {};
          let cfg: unknown;
          const cuts = new Set(flushPoints);
          events.forEach((e, i) => {
            a.apply([e]);
            if (cuts.has(i)) {
              const d = a.flush();
              applyDelta(model, d);
              if (d.config) cfg = d.config;
            }
          });
          const last = a.flush();
          applyDelta(model, last);
          if (last.config) cfg = last.config;
          const sa = a.snapshot();
          expect(sortedModel(model)).toBe(stateModel(sa));
          expect(cfg).toEqual(sa.config);

          // B: only the final content (squashed), in a shuffled order, each object set twice.
          const final = [...finalContent(events).values()];
          const ia = shuffleA[Symbol.iterator]();
          const shuffled = final
            .map((r) => ({ r, k: ia.next().value as number }))
            .sort((x, y) => x.k - y.k)
            .map((x) => x.r);
          const b = new CalcGraph({ nodeName: 'host1' });
          b.apply(shuffled.map((r) => ({ type: 'set', resource: structuredClone(r) })));
          b.apply(shuffled.map((r) => ({ type: 'set', resource: structuredClone(r) })));
          expect(text(b.snapshot())).toBe(text(sa));

          // C: final content in another order, one event per batch, deleting absent keys on the way.
          const ib = shuffleB[Symbol.iterator]();
          const c = new CalcGraph({ nodeName: 'host1' });
          for (const r of final.map((r) => ({ r, k: ib.next().value as number })).sort((x, y) => x.k - y.k)) {
            c.apply([{ type: 'deleted', key: { kind: 'NetworkPolicy', name: 'absent', namespace: 'a' } }]);
            c.apply([{ type: 'set', resource: structuredClone(r.r) }]);
            c.flush();
          }
          expect(text(c.snapshot())).toBe(text(sa));
          expect(b.problems()).toEqual(a.problems());
        },
      ),
      { numRuns: 300 },
    );
  });

  it('deleting everything returns to the empty state', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), (ops) => {
        const g = new CalcGraph({ nodeName: 'host1' });
        const events = ops.map(toEvent);
        g.apply(events);
        g.flush();
        g.apply([...finalContent(events).values()].map((r) => ({ type: 'deleted', key: keyOf(r) })));
        g.flush();
        expect(text(g.snapshot())).toBe(text(new CalcGraph({ nodeName: 'host1' }).snapshot()));
      }),
      { numRuns: 150 },
    );
  });
});
