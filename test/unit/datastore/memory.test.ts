import { describe, expect, it } from 'vitest';
import { openDatastore, EmbeddedDatastore, ClosedError } from '../../../src/datastore/index.js';
import { datastoreContract, EventLog, pool } from '../../support/datastore-contract.js';

datastoreContract('memory:', async () => {
  const ds = await openDatastore('memory:');
  return { ds, cleanup: () => ds.close() };
});

describe('memory: specifics', () => {
  it('is empty each time it is opened (no persistence)', async () => {
    const a = await openDatastore('memory:');
    await a.create(pool('p'));
    await a.close();
    const b = await openDatastore('memory:');
    expect((await b.list({ kind: 'IPPool' })).items).toEqual([]);
    await b.close();
  });

  it('gives resync to a watch that starts before compacted history', async () => {
    const ds = (await openDatastore('memory:')) as EmbeddedDatastore;
    const { revision } = await ds.list({ kind: 'IPPool' });
    await ds.create(pool('a'));
    await ds.create(pool('b'));
    ds.compact();
    const log = new EventLog();
    const w = ds.watch({ kind: 'IPPool', afterRevision: revision }, log.handler);
    await log.until((e) => e.length >= 1, 'resync');
    expect(log.changes().map((e) => e.type)).toEqual(['resync']);
    // A watch from the current revision still works.
    const log2 = new EventLog();
    const w2 = ds.watch({ kind: 'IPPool', afterRevision: ds.currentRevision() }, log2.handler);
    await ds.create(pool('c'));
    await log2.until((e) => e.length >= 1, 'event');
    expect(log2.changes().map((e) => e.type)).toEqual(['added']);
    await w.close();
    await w2.close();
    await ds.close();
  });

  it('refuses to work after close, with ClosedError', async () => {
    const ds = await openDatastore('memory:');
    await ds.close();
    await expect(ds.get({ kind: 'IPPool', name: 'x' })).rejects.toBeInstanceOf(ClosedError);
    await expect(ds.create(pool('x'))).rejects.toBeInstanceOf(ClosedError);
  });
});
