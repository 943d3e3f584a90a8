import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  DocumentParseError,
  parseDocuments,
  stripServerFields,
  toJson,
  toYaml,
} from '../../../src/api/documents.js';
import { formatCidr, hostMask } from '../../../src/api/cidr.js';
import { validateResource, validateResources } from '../../../src/api/validate.js';
import { PUBLIC_KINDS, type Resource } from '../../../src/api/types.js';
import { VALID } from './fixtures.js';

function valid(input: unknown): Resource {
  const r = validateResource(input);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.resource;
}

function parseError(input: string | Buffer, source = 'x.yaml'): DocumentParseError {
  try {
    parseDocuments(input, source);
  } catch (e) {
    if (e instanceof DocumentParseError) return e;
    throw e;
  }
  throw new Error('expected a DocumentParseError');
}

const POOLS_YAML = `# two pools
apiVersion: twill.io/v1
kind: IPPool
metadata:
  name: pool-v4
spec:
  cidr: 10.65.0.0/16
  natOutgoing: true
---
apiVersion: twill.io/v1
kind: IPPool
metadata:
  name: pool-v6
spec:
  cidr: fd5e:7a11::/48
---
`;

describe('parseDocuments', () => {
  test('multi-document YAML: one value per document, numbered sources and lines', () => {
    const docs = parseDocuments(POOLS_YAML, 'pools.yaml');
    expect(docs.map((d) => d.source)).toEqual(['pools.yaml#1', 'pools.yaml#2']);
    expect(docs.map((d) => d.line)).toEqual([2, 10]);
    expect(docs.map((d) => (d.value as { metadata: { name: string } }).metadata.name)).toEqual(['pool-v4', 'pool-v6']);
    expect(validateResources(docs).ok).toBe(true);
  });

  test('a Buffer works the same, with a UTF-8 byte order mark', () => {
    const buf = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(POOLS_YAML)]);
    expect(parseDocuments(buf, 'pools.yaml')).toHaveLength(2);
  });

  test('YAML 1.2: yes/no/on stay strings and are reported as such', () => {
    const [doc] = parseDocuments('apiVersion: twill.io/v1\nkind: IPPool\nmetadata: {name: p}\nspec: {cidr: 10.0.0.0/8, natOutgoing: yes}\n', 'p.yaml');
    const r = validateResource(doc?.value);
    expect(r.ok ? [] : r.problems).toEqual([
      { path: 'spec.natOutgoing', message: 'expected true or false, found a string ("yes") (write true without quotes)' },
    ]);
  });

  test('a JSON object', () => {
    const docs = parseDocuments(JSON.stringify(VALID.NetworkPolicy), 'np.json');
    expect(docs).toEqual([{ value: VALID.NetworkPolicy, source: 'np.json#1' }]);
  });

  test('a JSON array of objects (tab-indented)', () => {
    const text = JSON.stringify([VALID.IPPool, VALID.NetworkSet], null, '\t');
    const docs = parseDocuments(text, 'all.json');
    expect(docs.map((d) => d.value)).toEqual([VALID.IPPool, VALID.NetworkSet]);
    expect(docs.map((d) => d.source)).toEqual(['all.json#1', 'all.json#2']);
  });

  test('a kind: List with items (YAML), with the line of each item', () => {
    const text = `apiVersion: v1
kind: List
items:
  - apiVersion: twill.io/v1
    kind: NetworkSet
    metadata: {name: a, namespace: n}
    spec: {nets: [192.0.2.0/24]}
  - apiVersion: twill.io/v1
    kind: NetworkSet
    metadata: {name: b, namespace: n}
`;
    const docs = parseDocuments(text, 'list.yaml');
    expect(docs.map((d) => [d.source, d.line])).toEqual([
      ['list.yaml#1', 4],
      ['list.yaml#2', 8],
    ]);
    expect(validateResources(docs).ok).toBe(true);
  });

  test('a typed list as calicoctl prints it (NetworkPolicyList)', () => {
    const text = JSON.stringify({ apiVersion: 'twill.io/v1', kind: 'NetworkPolicyList', items: [VALID.NetworkPolicy] });
    expect(parseDocuments(text, 'l.json').map((d) => d.value)).toEqual([VALID.NetworkPolicy]);
  });

  test('a YAML list at the top level and documents mixed with it are numbered in order', () => {
    const text = `- {apiVersion: twill.io/v1, kind: Profile, metadata: {name: a}}
- {apiVersion: twill.io/v1, kind: Profile, metadata: {name: b}}
---
{apiVersion: twill.io/v1, kind: Profile, metadata: {name: c}}
`;
    const docs = parseDocuments(text, 'mix.yaml');
    expect(docs.map((d) => [(d.value as { metadata: { name: string } }).metadata.name, d.source, d.line])).toEqual([
      ['a', 'mix.yaml#1', 1],
      ['b', 'mix.yaml#2', 2],
      ['c', 'mix.yaml#3', 4],
    ]);
  });

  test.each([
    ['empty', ''],
    ['whitespace', '  \n\n'],
    ['comments only', '# nothing here\n---\n# still nothing\n'],
    ['separators only', '---\n---\n'],
  ])('%s input: "no resources found"', (_what, text) => {
    const e = parseError(text, 'empty.yaml');
    expect(e.message).toBe('no resources found in empty.yaml');
    expect(e.code).toBe('DocumentParse');
  });

  test('binary garbage (NUL bytes)', () => {
    const e = parseError(Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x12, 0x34, 0x00, 0xff]), 'x.bin');
    expect(e.message).toBe('x.bin does not look like YAML or JSON (it contains NUL bytes)');
  });

  test('invalid UTF-8', () => {
    const e = parseError(Buffer.from([0x6b, 0x69, 0x6e, 0x64, 0x3a, 0x20, 0xc3, 0x28]), 'x.bin');
    expect(e.message).toBe('x.bin does not look like YAML or JSON (it is not valid UTF-8 text)');
  });

  test('UTF-16 gets a hint to convert', () => {
    const e = parseError(Buffer.from('\ufeffkind: IPPool\n', 'utf16le'), 'w.yaml');
    expect(e.message).toBe('w.yaml does not look like YAML or JSON (it contains NUL bytes)');
    expect(e.hint).toMatch(/UTF-16.*convert it to UTF-8/);
  });

  test('control characters in a string', () => {
    const e = parseError('kind: IPPool\u0007\n', 'c.yaml');
    expect(e.message).toBe('c.yaml does not look like YAML or JSON (it contains the control character 0x07)');
  });

  test('YAML syntax errors name line and column', () => {
    const e = parseError('apiVersion: twill.io/v1\nkind: IPPool\nmetadata:\n  name: [a, b\n', 'bad.yaml');
    expect(e.message).toMatch(/^bad\.yaml:\d+:\d+: invalid YAML: /);
    expect(e.line).toBeGreaterThanOrEqual(4);
    const e2 = parseError('a: b: c\n', 'b2.yaml');
    expect(e2.message).toBe('b2.yaml:1:4: invalid YAML: Nested mappings are not allowed in compact mappings');
    expect([e2.line, e2.column]).toEqual([1, 4]);
  });

  test('duplicate keys are a syntax error', () => {
    const e = parseError('kind: IPPool\nkind: Profile\n', 'dup.yaml');
    expect(e.message).toBe('dup.yaml:2:1: invalid YAML: Map keys must be unique');
  });

  test('broken JSON is reported with a position too', () => {
    const e = parseError('{"kind": "IPPool",\n "metadata": {"name": "x"\n', 'bad.json');
    expect(e.message).toMatch(/^bad\.json:\d+:\d+: invalid YAML: /);
  });

  test('documents that are not objects', () => {
    expect(parseError('just some text\n', 'notes.txt').message).toBe(
      'notes.txt#1 (line 1): expected a resource (an object with apiVersion, kind, metadata and spec), found a string ("just some text")',
    );
    expect(parseError(POOLS_YAML + '42\n', 'p.yaml').message).toBe(
      'p.yaml#3 (line 17): expected a resource (an object with apiVersion, kind, metadata and spec), found a number (42)',
    );
    expect(parseError('[{"kind": "IPPool"}, "x"]', 'a.json').message).toBe(
      'a.json#2: expected a resource (an object with apiVersion, kind, metadata and spec) in the list, found a string ("x")',
    );
    expect(parseError('kind: List\nitems: 3\n', 'l.yaml').message).toBe(
      'l.yaml: a kind: List needs items (a list of resources), found a number (3)',
    );
  });
});

describe('printing', () => {
  const all = PUBLIC_KINDS.map((k) => valid(VALID[k]));

  test('toYaml: one document per resource, keys in canonical order', () => {
    const scrambled = {
      spec: { natOutgoing: true, cidr: '10.65.0.0/16' },
      metadata: { labels: { b: '2', a: '1' }, name: 'pool-v4' },
      kind: 'IPPool',
      apiVersion: 'twill.io/v1',
    };
    expect(toYaml([valid(scrambled)])).toBe(`apiVersion: twill.io/v1
kind: IPPool
metadata:
  name: pool-v4
  labels:
    a: "1"
    b: "2"
spec:
  cidr: 10.65.0.0/16
  blockSize: 26
  natOutgoing: true
  disabled: false
  nodeSelector: all()
`);
    const text = toYaml(all);
    expect(text.split(/^---$/m)).toHaveLength(all.length);
  });

  test('toYaml → parseDocuments → validate gives back every example unchanged', () => {
    const back = parseDocuments(toYaml(all), 'out.yaml').map((d) => valid(d.value));
    expect(back).toEqual(all);
  });

  test('toJson: one object for one resource, a List otherwise; both read back', () => {
    const one = JSON.parse(toJson([all[0] as Resource])) as { kind: string };
    expect(one.kind).toBe('Node');
    const list = JSON.parse(toJson(all)) as { kind: string; items: unknown[] };
    expect(list.kind).toBe('List');
    expect(list.items).toHaveLength(all.length);
    expect(parseDocuments(toJson(all), 'o.json').map((d) => valid(d.value))).toEqual(all);
    expect(JSON.parse(toJson([all[0] as Resource], { asList: true })).kind).toBe('List');
  });

  test('strings a YAML 1.1 reader would mistake are quoted and read back as strings', () => {
    const r = valid({
      apiVersion: 'twill.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'p', labels: { enabled: 'yes', flag: 'on', n: 'n', num: '010' } },
      spec: { ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['20:50', 22] } }] },
    });
    const text = toYaml([r]);
    expect(text).toContain('enabled: "yes"');
    expect(text).toContain('- "20:50"');
    const [doc] = parseDocuments(text, 'p.yaml');
    expect(valid(doc?.value)).toEqual(r);
  });

  test('server fields survive printing and can be stripped for comparison', () => {
    const stored = {
      ...all[3],
      metadata: { ...(all[3] as Resource).metadata, resourceVersion: '17', uid: 'u-1', creationTimestamp: '2024-05-01T12:00:00Z' },
    } as Resource;
    const [doc] = parseDocuments(toYaml([stored]), 's.yaml');
    const back = valid(doc?.value);
    expect(back).toEqual(stored);
    expect(stripServerFields(back)).toEqual(all[3]);
    expect(back.metadata.resourceVersion).toBe('17'); // not mutated
  });

  test('stripServerFields can drop status too', () => {
    const node = all[0] as Resource;
    expect(node.status).toBeDefined();
    expect('status' in stripServerFields(node, { status: true })).toBe(false);
    expect(stripServerFields(node).status).toEqual(node.status);
  });
});

// ---------------------------------------------------------------------------------------------
// Generated valid policies: print → parse → validate is the identity.

const dnsLabel = fc.stringMatching(/^[a-z][a-z0-9-]{0,14}[a-z0-9]$/);
const labelKey = fc.oneof(
  fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9._-]{0,10}[a-zA-Z0-9]$/),
  fc.tuple(dnsLabel, fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/)).map(([p, n]) => `${p}.io/${n}`),
);
const labelValue = fc.oneof(fc.constant(''), fc.constantFrom('yes', 'no', 'on', 'true', '1', '010', 'null'), fc.stringMatching(/^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,10}[a-zA-Z0-9])?$/));
const labels = fc.dictionary(labelKey, labelValue, { maxKeys: 4 });
const selectorText = fc.oneof(
  fc.constantFrom('all()', "app == 'web'", 'has(tier) && tier != "db"', 'role in {"a", "b"} || !has(x)'),
  fc.tuple(labelKey, fc.stringMatching(/^[a-z0-9]{1,8}$/)).map(([k, v]) => `${k} == "${v}"`),
);
const v4Net = fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 })).map(([a, len]) =>
  formatCidr({ family: 4, addr: BigInt(a) & ~hostMask(4, len) & 0xffffffffn, prefixLength: len }),
);
const v6Net = fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }), fc.integer({ min: 0, max: 128 })).map(([a, len]) =>
  formatCidr({ family: 6, addr: a & ~hostMask(6, len) & (2n ** 128n - 1n), prefixLength: len }),
);
const port = fc.oneof(
  fc.integer({ min: 1, max: 65535 }),
  fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 })).map(([a, b]) => `${Math.min(a, b)}:${Math.max(a, b)}`),
  fc.constantFrom('http', 'metrics', 'grpc-web'),
);

const rule = fc
  .record(
    {
      action: fc.constantFrom('Allow', 'Deny', 'Pass', 'Log'),
      protocol: fc.constantFrom('TCP', 'UDP', 'SCTP', 6),
      ipVersion: fc.constantFrom(4, 6),
      src: fc.record({ selector: selectorText, notSelector: selectorText, namespaceSelector: selectorText }, { requiredKeys: [] }),
      ports: fc.array(port, { maxLength: 4 }),
      notPorts: fc.array(port, { maxLength: 2 }),
      nets: fc.array(fc.boolean(), { maxLength: 3 }),
    },
    { requiredKeys: ['action'] },
  )
  .chain((r) =>
    fc
      .array(r.ipVersion === 6 ? v6Net : v4Net, { minLength: r.nets?.length ?? 0, maxLength: r.nets?.length ?? 0 })
      .map((nets) => {
        const out: Record<string, unknown> = { action: r.action };
        if (r.ipVersion !== undefined) out.ipVersion = r.ipVersion;
        if (r.protocol !== undefined) out.protocol = r.protocol;
        const source: Record<string, unknown> = { ...(r.src ?? {}) };
        if (nets.length > 0 && r.ipVersion !== undefined) source.nets = nets;
        if (Object.keys(source).length > 0) out.source = source;
        if (r.protocol !== undefined && ((r.ports?.length ?? 0) > 0 || (r.notPorts?.length ?? 0) > 0)) {
          out.destination = { ...(r.ports?.length ? { ports: r.ports } : {}), ...(r.notPorts?.length ? { notPorts: r.notPorts } : {}) };
        }
        return out;
      }),
  );

const policy = fc.record(
  {
    global: fc.boolean(),
    name: dnsLabel,
    namespace: dnsLabel,
    labels,
    order: fc.oneof(fc.integer({ min: -1000, max: 100000 }), fc.double({ min: 0, max: 1000, noNaN: true })),
    selector: selectorText,
    ingress: fc.array(rule, { maxLength: 3 }),
    egress: fc.array(rule, { maxLength: 3 }),
  },
  { requiredKeys: ['global', 'name'] },
).map((p) => {
  const metadata: Record<string, unknown> = { name: p.name };
  if (!p.global && p.namespace !== undefined) metadata.namespace = p.namespace;
  if (p.labels !== undefined) metadata.labels = p.labels;
  const spec: Record<string, unknown> = {};
  for (const k of ['order', 'selector', 'ingress', 'egress'] as const) if (p[k] !== undefined) spec[k] = p[k];
  return { apiVersion: 'twill.io/v1', kind: p.global ? 'GlobalNetworkPolicy' : 'NetworkPolicy', metadata, spec };
});

describe('generated policies', () => {
  test('every generated policy is valid; YAML and JSON round trips are the identity', () => {
    fc.assert(
      fc.property(fc.array(policy, { minLength: 1, maxLength: 3 }), (inputs) => {
        const rs = inputs.map((i) => {
          const r = validateResource(i);
          if (!r.ok) throw new Error(`${JSON.stringify(i)}: ${JSON.stringify(r.problems)}`);
          return r.resource;
        });
        const fromYaml = parseDocuments(toYaml(rs), 'g.yaml').map((d) => valid(d.value));
        expect(fromYaml).toEqual(rs);
        const fromJson = parseDocuments(toJson(rs), 'g.json').map((d) => valid(d.value));
        expect(fromJson).toEqual(rs);
        // And validating again changes nothing.
        expect(rs.map((r) => valid(r))).toEqual(rs);
      }),
      { numRuns: 60 },
    );
  });
});
