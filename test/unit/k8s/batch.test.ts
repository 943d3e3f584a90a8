// TxnBatcher: writes submitted together are committed as one transaction; one bad op costs
// only itself (the others are committed, it gets its own typed error).
import { describe, expect, test } from 'vitest';
import type { ProfileResource } from '../../../src/api/types.js';
import { openDatastore } from '../../../src/datastore/index.js';
import { AlreadyExistsError } from '../../../src/datastore/errors.js';
import { TxnBatcher } from '../../../src/k8s/batch.js';

const profile = (name: string): ProfileResource => ({ apiVersion: 'twill.io/v1', kind: 'Profile', metadata: { name }, spec: {} });

describe('TxnBatcher', () => {
  test('ops of one turn share a transaction (one revision)', async () => {
    const ds = await openDatastore('memory:');
    const b = new TxnBatcher(ds);
    await Promise.all(['a', 'b', 'c'].map((n) => b.write({ op: 'create', resource: profile(n) })));
    const { items } = await ds.list({ kind: 'Profile' });
    expect(items.map((p) => p.metadata.name)).toEqual(['a', 'b', 'c']);
    expect(new Set(items.map((p) => p.metadata.resourceVersion)).size).toBe(1);
    await ds.close();
  });

  test('a failing op is rejected alone; the rest are committed', async () => {
    const ds = await openDatastore('memory:');
    await ds.create(profile('taken'));
    const b = new TxnBatcher(ds);
    const r = await Promise.allSettled(['x', 'taken', 'y'].map((n) => b.write({ op: 'create', resource: profile(n) })));
    expect(r.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((r[1] as PromiseRejectedResult).reason).toBeInstanceOf(AlreadyExistsError);
    expect((await ds.list({ kind: 'Profile' })).items.map((p) => p.metadata.name)).toEqual(['taken', 'x', 'y']);
    await ds.close();
  });
});
