// The etcd backend against a real etcd: the shared contract, plus restarts, compaction,
// unreachable endpoints and TLS options.
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DatastoreConfigError,
  openDatastore,
  startSyncer,
  type SyncEvent,
  UnreachableError,
  type Datastore,
  type Resource,
  type WatchEvent,
} from '../../../src/datastore/index.js';
import { datastoreContract, EventLog, netset, pool } from '../../support/datastore-contract.js';
import { missing } from '../../support/env.js';
import { freePort, startEtcd, type EtcdServer } from '../../support/etcd.js';

const skip = missing({ tools: ['etcd'] });

describe.skipIf(skip)('etcd backend', () => {
  let server: EtcdServer;
  let raw: Etcd3;

  beforeAll(async () => {
    server = await startEtcd();
    raw = new Etcd3({ hosts: server.endpoint });
  });
  afterAll(async () => {
    raw?.close();
    await server?.destroy();
  });

  datastoreContract('etcd://', async () => {
    await raw.delete().prefix('/twill/');
    const ds = await openDatastore(server.url);
    return { ds, cleanup: () => ds.close() };
  });

  async function fresh(): Promise<Datastore> {
    await raw.delete().prefix('/twill/');
    return openDatastore(server.url);
  }

  /** Retries a write while etcd is coming back. */
  async function eventually<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (e) {
        if (!(e instanceof UnreachableError) || i > 100) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  it('stores /twill/v1/<Kind>/[<namespace>/]<name> as JSON, resourceVersion = mod_revision', async () => {
    const ds = await fresh();
    try {
      const s = await ds.create(netset('web', 'prod', ['10.1.0.0/16']));
      const p = await ds.create(pool('pool-a'));
      const kvNs = await raw.get('/twill/v1/NetworkSet/prod/web').exec();
      const kvPool = await raw.get('/twill/v1/IPPool/pool-a').exec();
      expect(kvNs.kvs[0]?.mod_revision).toBe(s.metadata.resourceVersion);
      expect(kvPool.kvs[0]?.mod_revision).toBe(p.metadata.resourceVersion);
      const stored = JSON.parse(kvNs.kvs[0]!.value.toString()) as Resource;
      expect(stored.spec).toEqual({ nets: ['10.1.0.0/16'] });
      expect(stored.metadata.uid).toBe(s.metadata.uid);
      expect(stored.metadata.creationTimestamp).toBe(s.metadata.creationTimestamp);
    } finally {
      await ds.close();
    }
  });

  it('keeps uid and creationTimestamp when a different client updates with compare-and-swap', async () => {
    const a = await fresh();
    const b = await openDatastore(server.url);
    try {
      const created = await a.create(pool('shared'));
      const bare = pool('shared', '10.99.0.0/16');
      bare.metadata.resourceVersion = created.metadata.resourceVersion;
      const updated = await b.update(bare);
      expect(updated.metadata.uid).toBe(created.metadata.uid);
      expect(updated.metadata.creationTimestamp).toBe(created.metadata.creationTimestamp);
      expect(await a.get({ kind: 'IPPool', name: 'shared' })).toEqual(updated);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('lists more objects than one page holds, at one revision', async () => {
    const ds = await fresh();
    try {
      for (let i = 0; i < 2500; i += 100) {
        await ds.txn(
          Array.from({ length: 100 }, (_, j) => ({
            op: 'create' as const,
            resource: pool(`p-${String(i + j).padStart(5, '0')}`),
          })),
        );
      }
      const res = await ds.list({ kind: 'IPPool' });
      expect(res.items).toHaveLength(2500);
      expect(res.items[0]!.metadata.name).toBe('p-00000');
      expect(res.items[2499]!.metadata.name).toBe('p-02499');
    } finally {
      await ds.close();
    }
  });

  it('a watch survives an etcd restart: changes made while it reconnects arrive once, in order', async () => {
    const ds = await fresh();
    const log = new EventLog();
    const { revision } = await ds.list({ kind: 'IPPool' });
    const w = ds.watch({ kind: 'IPPool', afterRevision: revision }, log.handler);
    try {
      await ds.create(pool('before-1'));
      await ds.create(pool('before-2'));
      await log.until((evs) => evs.length >= 2, 'events before the restart');

      await server.stop();
      await log.until(() => log.events.some((e) => e.type === 'error'), 'a reported disconnect');
      expect(log.events.find((e) => e.type === 'error')).toMatchObject({ error: expect.any(UnreachableError) });
      await server.start();

      // Another client writes as soon as etcd is back, likely before the watch has reconnected.
      const other = await eventually(() => openDatastore(server.url));
      try {
        for (const n of ['after-1', 'after-2', 'after-3']) await eventually(() => other.create(pool(n)));
        await eventually(() => other.delete({ kind: 'IPPool', name: 'before-1' }));
      } finally {
        await other.close();
      }
      // And this client can write again too.
      await eventually(() => ds.create(pool('after-4')));
      await log.until(() => log.changes().length >= 7, 'all seven changes');
      await new Promise((r) => setTimeout(r, 300));
      const seen = log.changes().map((e: WatchEvent) =>
        e.type === 'added' ? `+${e.resource.metadata.name}` : e.type === 'deleted' ? `-${e.key.name}` : e.type,
      );
      expect(seen).toEqual(['+before-1', '+before-2', '+after-1', '+after-2', '+after-3', '-before-1', '+after-4']);
      // The stream said it was back (a consumer with nothing changing would otherwise never know).
      const kinds = log.events.map((e) => e.type);
      expect(kinds.indexOf('resumed')).toBeGreaterThan(kinds.indexOf('error'));
      const revs = log.changes().map((e) => ('revision' in e ? Number(e.revision) : NaN));
      expect([...revs].sort((a, b) => a - b)).toEqual(revs);
    } finally {
      await w.close();
      await ds.close();
    }
  });

  it('a syncer says in-sync again once etcd is back, with no change made meanwhile (its watches reconnected)', { timeout: 60_000 }, async () => {
    const ds = await fresh();
    const statuses: string[] = [];
    const syncer = startSyncer(ds, ['IPPool', 'NetworkSet'], { onUpdates: () => undefined, onInSync: () => undefined, onStatus: (st) => statuses.push(st) });
    const until = async (cond: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${statuses.join(', ')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      await until(() => statuses.includes('in-sync'), 'in-sync');
      await server.stop();
      await until(() => statuses[statuses.length - 1] === 'error', 'an error status');
      await server.start();
      await until(() => statuses[statuses.length - 1] === 'in-sync', 'in-sync again');
    } finally {
      await syncer.stop();
      await ds.close();
    }
  });

  it('a syncer keeps its consumer in step across an etcd restart', { timeout: 60_000 }, async () => {
    const ds = await fresh();
    await ds.create(pool('s1'));
    await ds.create(netset('n1', 'x'));
    const view = new Map<string, string | undefined>();
    let inSync = 0;
    const statuses: string[] = [];
    const syncer = startSyncer(ds, ['IPPool', 'NetworkSet'], {
      onUpdates: (evs: SyncEvent[]) => {
        for (const e of evs) {
          if (e.type === 'set') view.set(`${e.resource.kind}/${e.resource.metadata.name}`, e.resource.metadata.resourceVersion);
          else view.delete(`${e.key.kind}/${e.key.name}`);
        }
      },
      onInSync: () => inSync++,
      onStatus: (st) => statuses.push(st),
    });
    const until = async (cond: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify([...view])}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      await until(() => inSync === 1, 'in-sync');
      expect([...view.keys()].sort()).toEqual(['IPPool/s1', 'NetworkSet/n1']);
      await server.stop();
      await until(() => statuses.includes('error'), 'an error status');
      await server.start();
      const other = await eventually(() => openDatastore(server.url));
      try {
        await eventually(() => other.create(pool('s2')));
        await eventually(() => other.delete({ kind: 'NetworkSet', name: 'n1', namespace: 'x' }));
      } finally {
        await other.close();
      }
      await until(() => view.has('IPPool/s2') && !view.has('NetworkSet/n1'), 'changes made after the restart');
      const truth = new Map<string, string | undefined>();
      for (const kind of ['IPPool', 'NetworkSet'] as const) {
        for (const r of (await ds.list({ kind })).items) truth.set(`${r.kind}/${r.metadata.name}`, r.metadata.resourceVersion);
      }
      expect(view).toEqual(truth);
      expect(statuses[statuses.length - 1]).toBe('in-sync');
    } finally {
      await syncer.stop();
      await ds.close();
    }
  });

  it('a watch from a compacted revision gets resync', async () => {
    const ds = await fresh();
    try {
      const { revision } = await ds.list({ kind: 'IPPool' });
      await ds.create(pool('c1'));
      const c2 = await ds.create(pool('c2'));
      await raw.kv.compact({ revision: c2.metadata.resourceVersion!, physical: true });
      const log = new EventLog();
      const w = ds.watch({ kind: 'IPPool', afterRevision: revision }, log.handler);
      await log.until((evs) => evs.length >= 1, 'resync');
      expect(log.changes()[0]).toMatchObject({ type: 'resync', reason: expect.stringMatching(/compacted/) });
      // The consumer re-lists and watches from there: that works.
      const again = await ds.list({ kind: 'IPPool' });
      expect(again.items.map((r) => r.metadata.name)).toEqual(['c1', 'c2']);
      const log2 = new EventLog();
      const w2 = ds.watch({ kind: 'IPPool', afterRevision: again.revision }, log2.handler);
      await ds.create(pool('c3'));
      await log2.until((evs) => evs.length >= 1, 'event after re-list');
      expect(log2.changes().map((e) => e.type)).toEqual(['added']);
      await w.close();
      await w2.close();
    } finally {
      await ds.close();
    }
  });

  it('an etcd that cannot be reached gives UnreachableError naming the address (no hang)', { timeout: 20_000 }, async () => {
    const port = await freePort();
    const err = await openDatastore(`etcd://127.0.0.1:${port}`, { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnreachableError);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
  });

  it('a call while etcd is down fails with UnreachableError, and works again once etcd is back', { timeout: 60_000 }, async () => {
    const ds = await fresh();
    try {
      await ds.create(pool('x'));
      await server.stop();
      const err = await ds.get({ kind: 'IPPool', name: 'x' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnreachableError);
      expect((err as Error).message).toContain(server.url.replace('etcd://', ''));
      await server.start();
      const got = await eventually(() => ds.get({ kind: 'IPPool', name: 'x' }));
      expect(got?.metadata.name).toBe('x');
    } finally {
      await ds.close();
    }
  });

  it('a TLS option naming a file that cannot be read gives a clear error naming the file', async () => {
    const err = await openDatastore(server.url, { etcdCa: '/nonexistent/ca.pem' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatastoreConfigError);
    expect((err as Error).message).toContain('/nonexistent/ca.pem');
    expect((err as Error).message).toMatch(/CA/);
    const err2 = await openDatastore(server.url, { etcdCert: '/tmp/cert.pem' }).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(DatastoreConfigError);
    expect((err2 as Error).message).toMatch(/certificate and key must be given together/);
  });
  it('a value that is not JSON is skipped by list() and reported by key; a starting syncer gets in sync and hears of it', { timeout: 30_000 }, async () => {
    const ds = await fresh();
    try {
      await ds.create(pool('good-a', '10.10.0.0/16'));
      await ds.create(pool('victim', '10.11.0.0/16'));
      await ds.create(pool('good-b', '10.12.0.0/16'));
      {
        // Written behind Twill's back.
        await raw.put('/twill/v1/IPPool/victim').value('{"truncated": ');
        await raw.put('/twill/v1/IPPool/garbage').value('not json at all');
        const listed = await ds.list({ kind: 'IPPool' });
        expect(listed.items.map((r) => r.metadata.name)).toEqual(['good-a', 'good-b']);
        expect(listed.corrupt?.map((c) => [c.key.name, c.path])).toEqual([
          ['garbage', '/twill/v1/IPPool/garbage'],
          ['victim', '/twill/v1/IPPool/victim'],
        ]);
        expect(listed.corrupt![0]!.message).toMatch(/is not JSON/);
      }
      // A fresh syncer (a restarting agent) gets in sync with the good ones and hears of the bad.
      const events2: SyncEvent[] = [];
      let corrupt2: string[] = [];
      let synced = false;
      const s2 = startSyncer(ds, ['IPPool'], {
        onUpdates: (e) => events2.push(...e),
        onInSync: () => (synced = true),
        onCorrupt: (v) => (corrupt2 = v.map((c) => c.key.name)),
      });
      try {
        for (let i = 0; i < 200 && !synced; i++) await new Promise((r) => setTimeout(r, 25));
        expect(synced).toBe(true);
        expect(events2.map((e) => (e.type === 'set' ? e.resource.metadata.name : '-'))).toEqual(['good-a', 'good-b']);
        expect(corrupt2).toEqual(['garbage', 'victim']);
      } finally {
        await s2.stop();
      }
    } finally {
      await raw.delete().prefix('/twill/');
      await ds.close();
    }
  });
  it('a running syncer that sees a value go bad keeps the last good version, reports it, and stays in sync', { timeout: 30_000 }, async () => {
    const ds = await fresh();
    const until = async (what: string, cond: () => boolean): Promise<void> => {
      for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
      if (!cond()) throw new Error(`never happened: ${what}`);
    };
    const events: SyncEvent[] = [];
    const statuses: string[] = [];
    let corrupt: string[] = [];
    let inSync = 0;
    const syncer = startSyncer(ds, ['IPPool'], {
      onUpdates: (e) => events.push(...e),
      onInSync: () => inSync++,
      onStatus: (st) => statuses.push(st),
      onCorrupt: (v) => (corrupt = v.map((c) => c.key.name)),
    });
    try {
      await ds.create(pool('victim', '10.11.0.0/16'));
      await until('in sync', () => inSync > 0);
      await until('victim seen', () => events.some((e) => e.type === 'set' && e.resource.metadata.name === 'victim'));
      await raw.put('/twill/v1/IPPool/victim').value('{"truncated": ');
      await until('victim reported corrupt', () => corrupt.includes('victim'));
      await until('in sync again', () => statuses[statuses.length - 1] === 'in-sync');
      expect(events.filter((e) => e.type === 'deleted')).toEqual([]);
      expect(statuses).not.toContain('error');
      // Repaired: deleted and written again through Twill, the watch carries on and it is no longer reported.
      await raw.delete().key('/twill/v1/IPPool/victim');
      await ds.create(pool('victim', '10.13.0.0/16'));
      await until('victim back', () => events.some((e) => e.type === 'set' && e.resource.metadata.name === 'victim' && e.resource.kind === 'IPPool' && e.resource.spec.cidr === '10.13.0.0/16'));
      expect(corrupt).toEqual([]);
    } finally {
      await syncer.stop();
      await raw.delete().prefix('/twill/');
      await ds.close();
    }
  });
});
