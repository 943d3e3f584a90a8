// readForQuery on a file store (src/datastore/file/query.ts): one read of the file, without the
// lock, parsing eagerly only what it must; its answers equal a full open's.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { scanItems } from '../../../src/datastore/file/format.js';
import { CorruptDatastoreError, openDatastore, readForQuery, type Resource } from '../../../src/datastore/index.js';

const dir = mkdtempSync(join(tmpdir(), 'twill-ds-query-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const V = 'twill.io/v1';
const wep = (ns: string, name: string, ip: string): Resource => ({ apiVersion: V, kind: 'WorkloadEndpoint', metadata: { name, namespace: ns }, spec: { node: 'h1', interfaceName: `tw${name}`, ipNetworks: [`${ip}/32`] } }) as Resource;
const pool = (name: string, cidr: string): Resource => ({ apiVersion: V, kind: 'IPPool', metadata: { name }, spec: { cidr } }) as Resource;
const names = (rs: readonly Resource[]): string[] => rs.map((r) => `${r.metadata.namespace ?? ''}/${r.metadata.name}`);

async function store(name: string, resources: readonly Resource[]): Promise<string> {
  const url = `file:${join(dir, name)}`;
  const ds = await openDatastore(url);
  try {
    for (const r of resources) await ds.create(r);
  } finally {
    await ds.close();
  }
  return url;
}

describe('readForQuery (file:)', () => {
  it('lists what a full open lists, finds lazy objects by their text, and reads while another process holds the lock', async () => {
    const url = await store('a.json', [wep('b', 'web', '10.0.0.1'), wep('a', 'db', '10.0.0.2'), wep('a', 'web', '10.0.0.3'), pool('p1', '10.0.0.0/24')]);
    const held = await openDatastore(url); // holds the lock: a writer would wait, a query does not
    try {
      const spec = { kinds: ['WorkloadEndpoint', 'IPPool'] as const, lazy: ['WorkloadEndpoint'] as const };
      const q = await readForQuery(url, { kinds: [...spec.kinds], lazy: [...spec.lazy] });
      const full = (await held.list({ kind: 'WorkloadEndpoint' })).items;
      expect(q.list('WorkloadEndpoint')).toEqual(full);
      expect(q.list('IPPool')).toEqual((await held.list({ kind: 'IPPool' })).items);
      expect(q.revision).toBe((await held.list({ kind: 'IPPool' })).revision);
      const lazy = q.lazy('WorkloadEndpoint');
      expect(names(lazy.containing('"web"'))).toEqual(['a/web', 'b/web']);
      expect(names(lazy.containing('"10.0.0.2/32"'))).toEqual(['a/db']);
      expect(names(lazy.containing('"nobody"'))).toEqual([]);
      expect(names(lazy.matching(/"ipNetworks":\["10\.0\.0\.[13]\//))).toEqual(['a/web', 'b/web']);
      // The same stored object is the same parsed object in every answer.
      expect(lazy.containing('"db"')[0]).toBe(lazy.all()[0]);
    } finally {
      await held.close();
    }
  });

  it('a missing file is an empty store (nothing is created); another layout is read whole', async () => {
    const q = await readForQuery(`file:${join(dir, 'none', 'x.json')}`, { kinds: ['IPPool'] });
    expect(q.list('IPPool')).toEqual([]);
    const url = await store('b.json', [wep('a', 'web', '10.0.0.1'), pool('p1', '10.0.0.0/24')]);
    const path = url.slice('file:'.length);
    const pretty = JSON.stringify(JSON.parse((await import('node:fs')).readFileSync(path, 'utf8')), null, 2);
    writeFileSync(path, pretty);
    const w = await readForQuery(url, { kinds: ['WorkloadEndpoint'], lazy: ['WorkloadEndpoint'] });
    expect(names(w.lazy('WorkloadEndpoint').containing('"nothing such"'))).toEqual(['a/web']); // not searchable as text: always there
  });

  it('a bad line of a kind the question reads fails as a full open does; a bad line of a lazy kind only when found', async () => {
    const url = await store('c.json', [wep('a', 'web', '10.0.0.1'), pool('p1', '10.0.0.0/24')]);
    const path = url.slice('file:'.length);
    const text = (await import('node:fs')).readFileSync(path, 'utf8');
    writeFileSync(path, text.replace('"resourceVersion":"2"', '"resourceVersion":"99"'));
    const err = await readForQuery(url, { kinds: ['IPPool'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptDatastoreError);
    expect((err as Error).message).toBe(((await openDatastore(url).catch((e: unknown) => e)) as Error).message);
    // Not asked for (its kind is proven by its first bytes): not parsed, not checked.
    expect((await readForQuery(url, { kinds: ['WorkloadEndpoint'] })).list('WorkloadEndpoint')).toHaveLength(1);
    writeFileSync(path, text.replace('"ipNetworks":["10.0.0.1/32"]', '"ipNetworks":["10.0.0.1/32"],,'));
    const q = await readForQuery(url, { kinds: ['WorkloadEndpoint', 'IPPool'], lazy: ['WorkloadEndpoint'] });
    expect(q.list('IPPool')).toHaveLength(1);
    expect(q.lazy('WorkloadEndpoint').containing('"db"')).toEqual([]);
    expect(() => q.lazy('WorkloadEndpoint').containing('"web"')).toThrow(/item 0 is not JSON/);
  });

  it('a line whose first bytes say one kind but which holds a second "kind" key is parsed (JSON.parse takes the last)', async () => {
    const np = { apiVersion: V, kind: 'NetworkPolicy', metadata: { name: 'np1', namespace: 'a' }, spec: { selector: 'all()' } } as Resource;
    const url = await store('d.json', [np]);
    const path = url.slice('file:'.length);
    const text = (await import('node:fs')).readFileSync(path, 'utf8');
    const line = text.split('\n').find((l) => l.includes('"np1"'))!;
    const forged = line.replace('"kind":"NetworkPolicy",', '"kind":"WorkloadEndpoint",').replace(/\}\}$/, ',"kind":"NetworkPolicy"}}');
    writeFileSync(path, text.replace(line, forged));
    for (const kinds of [['NetworkPolicy', 'WorkloadEndpoint'], ['NetworkPolicy']] as const) {
      const q = await readForQuery(url, { kinds: [...kinds], lazy: ['WorkloadEndpoint'] });
      expect(names(q.list('NetworkPolicy'))).toEqual(['a/np1']);
    }
  });

  it("scanItems: serialize()'s layout exactly, anything else undefined (then read as a whole document)", () => {
    const H = '{"format":"twill-datastore","version":1,"revision":3,"items":[';
    const a = '{"createRevision":1,"resource":{"x":1}}';
    const b = '{"createRevision":2,"resource":{"y":[2]}}';
    const spans = (t: string): string[] | undefined => {
      const s = scanItems(t);
      return s && s.start.map((st, i) => `${s.createRevision[i]}:${t.slice(st, s.end[i])}`);
    };
    expect(spans(`${H}\n${a},\n${b}\n]}\n`)).toEqual(['1:{"x":1}', '2:{"y":[2]}']);
    expect(spans(`${H}\n]}\n`)).toEqual([]);
    expect(spans(`${H}\n\n]}\n`)).toEqual([]);
    for (const bad of [`${H}\n${a},\n]}\n`, `${H}\n${a},\n\n]}\n`, `${H}\n${a}\n${b}\n]}\n`, `${H}\n${a}\n]}`, `${H}\n{"createRevision":01,"resource":{}}\n]}\n`]) {
      expect(scanItems(bad)).toBeUndefined();
    }
  });
});
