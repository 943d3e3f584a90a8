// twillctl's read path: a file store read by readForQuery, its WorkloadEndpoint lines parsed only
// when a question finds them (felix/explain/endpoints.ts endpointSearch). On random clusters it
// must answer every question exactly as an Explainer over every resource parsed (the full read),
// whatever the endpoints are named by (NAMESPACE/NAME, workload or pod, a bare name, an IP), with
// interfaces shared on one node, a network wider than a host, endpoint lines it cannot search
// as text (another key order, escaped characters: parsed at once) and an unrelated line that is
// not JSON at all (never parsed: explain still answers).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { endpointSearch, EXPLAIN_KINDS, Explainer, type ExplainRequest } from '../../../../felix/explain/index.js';
import type { Resource, WorkloadEndpointResource } from '../../../../src/api/types.js';
import { queryText } from '../../../../src/datastore/file/query.js';
import { serialize } from '../../../../src/datastore/file/format.js';
import { keyPath, resourceKey } from '../../../../src/datastore/keys.js';
import { wep } from '../calc/builders.js';
import { randomCluster } from './random-cluster.js';

const SPEC = { kinds: EXPLAIN_KINDS, lazy: ['WorkloadEndpoint' as const] };

/** The file serialize() writes for these resources (all at revision 1). */
function storeText(resources: readonly Resource[]): string {
  const entries = resources.map((r) => {
    const stored = { ...r, metadata: { ...r.metadata, resourceVersion: '1' } };
    const key = resourceKey(stored);
    return { key, path: keyPath(key), json: JSON.stringify(stored), mod: 1, create: 1 };
  });
  return serialize({ revision: 1, entries });
}

function outcome(x: () => Explainer, flow: ExplainRequest): unknown {
  try {
    return x().explain(flow);
  } catch (e) {
    return { threw: e instanceof Error ? e.message : String(e) };
  }
}

/** The Explainer twillctl builds from a file's text. */
function lazyExplainer(text: string): Explainer {
  const snap = queryText('/test/store.json', text, SPEC);
  const resources = EXPLAIN_KINDS.filter((k) => k !== 'WorkloadEndpoint').flatMap((k) => snap.list(k));
  return new Explainer(resources, { scope: 'endpoints', endpoints: endpointSearch(snap.lazy<WorkloadEndpointResource>('WorkloadEndpoint')) });
}

/** The line of the item whose JSON contains `needle`, rewritten by `f` (the rest of the line kept). */
function rewriteLine(text: string, needle: string, f: (json: string) => string): string {
  return text
    .split('\n')
    .map((line) => {
      if (!line.includes(needle)) return line;
      const m = /^(\{"createRevision":\d+,"resource":)(.*)(\}(?:,)?)$/.exec(line)!;
      return `${m[1]}${f(m[2]!)}${m[3]}`;
    })
    .join('\n');
}

const extras = fc.record({
  workload: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
  sharedIface: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
  wide: fc.boolean(),
  reordered: fc.nat(5),
  escaped: fc.nat(5),
});

describe('the lazy file read answers as the full read', () => {
  it('on random clusters, endpoints named every way, odd lines included (fast-check)', () => {
    fc.assert(
      fc.property(randomCluster(), extras, ({ resources, flows }, x) => {
        const weps = resources.filter((r): r is WorkloadEndpointResource => r.kind === 'WorkloadEndpoint');
        const refs: string[] = [];
        weps.forEach((w, i) => {
          const ns = w.metadata.namespace!;
          refs.push(`${ns}/${w.metadata.name}`, w.metadata.name, w.spec.ipNetworks[0]!.split('/')[0]!);
          if (x.workload[i]) {
            w.spec.workload = `wl${i % 3}`; // sometimes two endpoints share one: "names 2 endpoints"
            w.spec.pod = `pod-${i}`;
            refs.push(`${ns}/wl${i % 3}`, `${ns}/pod-${i}`);
          }
          if (x.sharedIface[i]) w.spec.interfaceName = 'twshared'; // the smaller key wins its node
        });
        const all = [...resources];
        // A network wider than a host holds other endpoints' addresses (their set memberships count).
        if (x.wide) all.push(wep('wide', { ns: 'a', node: 'h2', ips: ['10.0.0.0/29'], labels: { app: 'x' }, profiles: ['kns.a'] }));
        let text = storeText(all);
        const names = weps.map((w) => w.metadata.name);
        // Another key order (the kind is not where the reader proves it) and escaped characters
        // (text search cannot see the value): both parsed at once, found by every search.
        const reordered = names[x.reordered % names.length]!;
        text = rewriteLine(text, `"name":"${reordered}"`, (j) => {
          const r = JSON.parse(j) as Resource;
          return JSON.stringify({ metadata: r.metadata, spec: r.spec, kind: r.kind, apiVersion: r.apiVersion });
        });
        const escaped = names[x.escaped % names.length]!;
        if (escaped !== reordered) text = rewriteLine(text, `"name":"${escaped}"`, (j) => j.replace(`"name":"${escaped}"`, `"name":"\\u0065${escaped.slice(1)}"`).replaceAll('"twshared"', '"tw\\u0073hared"'));
        // A WorkloadEndpoint line that is not JSON, naming nothing any question asks for.
        text = text.replace('\n]}\n', `,\n{"createRevision":1,"resource":{"apiVersion":"twill.io/v1","kind":"WorkloadEndpoint","metadata":{"name":"junk",}}\n]}\n`);

        const full = (): Explainer => new Explainer(all, { scope: 'endpoints' });
        const lazy = (): Explainer => lazyExplainer(text);
        const questions: ExplainRequest[] = [...flows, ...refs.flatMap((from, i) => [{ from, to: refs[(i * 7 + 3) % refs.length]!, protocol: 'tcp' as const, port: 80 }])];
        for (const q of questions) expect(outcome(lazy, q)).toEqual(outcome(full, q));
      }),
      { numRuns: Number(process.env.TW_EXPLAIN_RUNS ?? 60), seed: process.env.TW_EXPLAIN_SEED !== undefined ? Number(process.env.TW_EXPLAIN_SEED) : undefined },
    );
  });

  it('a question that needs the line that is not JSON fails naming the file and the item', () => {
    const ok = storeText([wep('web', { ns: 'a', node: 'h1', ips: ['10.0.0.1/32'] }), wep('db', { ns: 'a', node: 'h1', ips: ['10.0.0.2/32'] })]);
    const bad = ok.replace('\n]}\n', `,\n{"createRevision":1,"resource":{"apiVersion":"twill.io/v1","kind":"WorkloadEndpoint","metadata":{"name":"junk","namespace":"a"},}}\n]}\n`);
    expect(lazyExplainer(bad).explain({ from: 'a/web', to: '10.0.0.2', protocol: 'tcp', port: 80 }).verdict).toBe('deny');
    expect(() => lazyExplainer(bad).explain({ from: 'a/junk', to: 'a/db', protocol: 'tcp', port: 80 })).toThrow(/datastore file \/test\/store\.json .*item 2 is not JSON/);
  });
});
