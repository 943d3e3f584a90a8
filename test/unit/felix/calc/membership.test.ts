// Selector → member sets and policy → endpoint selection, checked against a brute-force
// evaluation written separately from the indexes (every object against every selector).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CalcGraph } from '../../../../felix/calc/index.js';
import { parseSelector } from '../../../../src/api/selector/index.js';
import type { Resource } from '../../../../src/api/types.js';
import type { SyncEvent } from '../../../../src/datastore/syncer.js';
import { gnetset, gnp, netset, np, profile, wep } from './builders.js';

const KEYS = ['app', 'tier', 'env'];
const VALUES = ['x', 'y', 'z'];
const NAMESPACES = ['n1', 'n2', 'n3'];

const atomArb = fc.oneof(
  fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES)).map(([k, v]) => `${k} == "${v}"`),
  fc.tuple(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES)).map(([k, v]) => `${k} != "${v}"`),
  fc.constantFrom(...KEYS).map((k) => `has(${k})`),
  fc.constantFrom(...KEYS).map((k) => `!has(${k})`),
  fc.tuple(fc.constantFrom(...KEYS), fc.subarray(VALUES, { minLength: 1 })).map(([k, vs]) => `${k} in {${vs.map((v) => `"${v}"`).join(', ')}}`),
  fc.constant('all()'),
);
const selectorArb = fc.oneof(
  atomArb,
  fc.tuple(atomArb, atomArb).map(([a, b]) => `${a} && ${b}`),
  fc.tuple(atomArb, atomArb).map(([a, b]) => `(${a}) || (${b})`),
);
const nsSelectorArb = fc.oneof(selectorArb, fc.constant('global()'), fc.constant('twill.io/name == "n2"'));
const labelsArb = fc.dictionary(fc.constantFrom(...KEYS), fc.constantFrom(...VALUES), { maxKeys: 3 });

interface Obj {
  kind: 'wep' | 'ns' | 'gns';
  ns: string | undefined;
  labels: Record<string, string>;
  ips: string[];
  node: string;
}

const objArb: fc.Arbitrary<Omit<Obj, 'ips'>> = fc.record({
  kind: fc.constantFrom('wep' as const, 'wep' as const, 'ns' as const, 'gns' as const),
  ns: fc.constantFrom(...NAMESPACES),
  labels: labelsArb,
  node: fc.constantFrom('host1', 'host2'),
});

interface RuleCase {
  global: boolean;
  ns: string;
  selector: string | undefined;
  nsSelector: string | undefined;
  policySelector: string;
  policyNsSelector: string | undefined;
}
const ruleArb: fc.Arbitrary<RuleCase> = fc.record({
  global: fc.boolean(),
  ns: fc.constantFrom(...NAMESPACES),
  selector: fc.option(selectorArb, { nil: undefined }),
  nsSelector: fc.option(nsSelectorArb, { nil: undefined }),
  policySelector: selectorArb,
  policyNsSelector: fc.option(selectorArb, { nil: undefined }),
});

describe('member sets and policy selection match a brute-force evaluation', () => {
  it('for random objects, namespaces and selectors', () => {
    fc.assert(
      fc.property(
        fc.array(objArb, { minLength: 1, maxLength: 14 }),
        fc.array(fc.option(labelsArb, { nil: undefined }), { minLength: 3, maxLength: 3 }),
        fc.array(ruleArb, { minLength: 1, maxLength: 5 }),
        (rawObjs, nsLabelList, rules) => {
          const objs: Obj[] = rawObjs.map((o, i) => ({
            ...o,
            ns: o.kind === 'gns' ? undefined : o.ns,
            ips: o.kind === 'wep' ? [`10.0.${i}.1`] : [`192.168.${i}.0/24`],
          }));
          const nsLabels = new Map<string, Record<string, string>>();
          const events: SyncEvent[] = [];
          NAMESPACES.forEach((ns, i) => {
            const l = nsLabelList[i];
            nsLabels.set(ns, { ...(l ?? {}), 'twill.io/name': ns });
            if (l !== undefined) events.push({ type: 'set', resource: profile(`kns.${ns}`, { labelsToApply: l }) });
          });
          objs.forEach((o, i) => {
            let r: Resource;
            if (o.kind === 'wep') r = wep(`o${i}`, { ns: o.ns!, node: o.node, ips: [`${o.ips[0]}/32`], labels: o.labels });
            else if (o.kind === 'ns') r = netset(`o${i}`, o.ips, o.labels, o.ns!);
            else r = gnetset(`o${i}`, o.ips, o.labels);
            events.push({ type: 'set', resource: r });
          });
          rules.forEach((c, i) => {
            const rule = {
              action: 'Allow' as const,
              source: {
                ...(c.selector !== undefined ? { selector: c.selector } : {}),
                ...(c.nsSelector !== undefined ? { namespaceSelector: c.nsSelector } : {}),
              },
            };
            const spec = { selector: c.policySelector, ingress: [rule], types: ['Ingress' as const] };
            events.push({
              type: 'set',
              resource: c.global
                ? gnp(`r${i}`, { ...spec, ...(c.policyNsSelector !== undefined ? { namespaceSelector: c.policyNsSelector } : {}) })
                : np(`r${i}`, spec, c.ns),
            });
          });

          const g = new CalcGraph({ nodeName: 'host1' });
          // objects after policies, so the indexes see both arrival orders across runs
          g.apply(events.filter((e) => e.type === 'set' && e.resource.kind.endsWith('Policy')));
          g.flush();
          g.apply(events.filter((e) => !(e.type === 'set' && e.resource.kind.endsWith('Policy'))));
          const s = g.snapshot();

          const ownLabels = (o: Obj): Record<string, string> =>
            o.ns !== undefined ? { ...o.labels, 'twill.io/namespace': o.ns } : o.labels;
          const inScope = (o: Obj, c: RuleCase, nsSel: string | undefined, sel: string | undefined, policyNs: string | undefined): boolean => {
            if (nsSel !== undefined) {
              const ok =
                o.ns === undefined
                  ? parseSelector(nsSel).evaluate({}, { global: true })
                  : parseSelector(nsSel).evaluate(nsLabels.get(o.ns)!, { global: false });
              if (!ok) return false;
            } else if (policyNs !== undefined && o.ns !== policyNs) {
              return false;
            }
            return sel === undefined || parseSelector(sel).evaluate(ownLabels(o), { global: o.ns === undefined });
          };

          rules.forEach((c, i) => {
            const id = c.global ? `gnp/r${i}` : `np/${c.ns}/r${i}`;
            // which local endpoints does the policy apply to?
            const expectEndpoints = objs
              .map((o, j) => ({ o, j }))
              .filter(({ o }) => o.kind === 'wep' && o.node === 'host1')
              .filter(({ o }) => inScope(o, c, c.global ? c.policyNsSelector : undefined, c.policySelector, c.global ? undefined : c.ns))
              .map(({ j }) => `two${j}`)
              .sort();
            const actualEndpoints = [...s.endpoints.values()]
              .filter((e) => e.ingressPolicies.some((p) => p.id === id))
              .map((e) => e.interfaceName)
              .sort();
            expect(actualEndpoints, `${id} selects`).toEqual(expectEndpoints);
            const p = s.policies.get(id);
            if (expectEndpoints.length === 0) {
              expect(p).toBeUndefined();
              return;
            }
            const setId = p!.ingress![0]!.source.selectorSetId;
            if (c.selector === undefined && c.nsSelector === undefined) {
              expect(setId).toBeUndefined();
              return;
            }
            const expected = objs
              .filter((o) => inScope(o, c, c.nsSelector, c.selector, c.global ? undefined : c.ns))
              .map((o) => (o.kind === 'wep' ? o.ips[0]! : o.ips[0]!))
              .sort();
            expect(s.ipsets.get(setId!)!.members4, `${id} source set`).toEqual(expected);
          });
        },
      ),
      { numRuns: 400 },
    );
  });
});
