// The Datastore contract: one suite every backend (memory:, file:, etcd://) must pass.
// `open` must return an EMPTY store each time; `cleanup` closes it and removes what it made.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { API_VERSION, type Resource } from '../../src/api/types.js';
import {
  AlreadyExistsError,
  ConflictError,
  GuardConflictError,
  InvalidKeyError,
  InvalidTxnError,
  NotFoundError,
  type Datastore,
  type WatchEvent,
} from '../../src/datastore/index.js';

export interface OpenedStore {
  ds: Datastore;
  cleanup(): Promise<void>;
}

export function pool(name: string, cidr = '10.65.0.0/16', extra: Record<string, unknown> = {}): Resource {
  return { apiVersion: API_VERSION, kind: 'IPPool', metadata: { name }, spec: { cidr, ...extra } };
}

export function netset(name: string, namespace: string | undefined, nets: string[] = ['10.0.0.0/8']): Resource {
  return {
    apiVersion: API_VERSION,
    kind: 'NetworkSet',
    metadata: namespace === undefined ? { name } : { name, namespace },
    spec: { nets },
  };
}

/** Collects watch events; `until` waits (generously) for a condition on what arrived. */
export class EventLog {
  readonly events: WatchEvent[] = [];
  readonly handler = (ev: WatchEvent): void => {
    this.events.push(ev);
  };
  changes(): WatchEvent[] {
    return this.events.filter((e) => e.type !== 'error' && e.type !== 'resumed');
  }
  async until(cond: (evs: WatchEvent[]) => boolean, what: string, limitMs = 15_000): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (!cond(this.changes())) {
      if (Date.now() > deadline) {
        throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.events.map(describeEvent))}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

export function describeEvent(e: WatchEvent): string {
  switch (e.type) {
    case 'added':
    case 'modified':
      return `${e.type} ${e.resource.kind}/${e.resource.metadata.namespace ?? ''}/${e.resource.metadata.name}@${e.revision}`;
    case 'deleted':
      return `deleted ${e.key.kind}/${e.key.namespace ?? ''}/${e.key.name}@${e.revision}`;
    case 'resync':
      return `resync (${e.reason})`;
    case 'error':
      return `error (${e.error.message})`;
    case 'resumed':
      return 'resumed';
  }
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

export function datastoreContract(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Datastore contract: ${name}`, () => {
    let ds: Datastore;
    let opened: OpenedStore | undefined;

    beforeEach(async () => {
      opened = await open();
      ds = opened.ds;
    });
    afterEach(async () => {
      await opened?.cleanup();
      opened = undefined;
    });

    describe('create and get', () => {
      it('returns undefined for a missing object', async () => {
        expect(await ds.get({ kind: 'IPPool', name: 'nope' })).toBeUndefined();
        expect(await ds.get({ kind: 'NetworkSet', name: 'nope', namespace: 'x' })).toBeUndefined();
      });

      it('stamps resourceVersion, uid and creationTimestamp on create, and get returns the same object', async () => {
        const created = await ds.create(pool('p1', '10.1.0.0/16', { natOutgoing: true }));
        expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
        expect(created.metadata.uid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(Number.isNaN(Date.parse(created.metadata.creationTimestamp ?? ''))).toBe(false);
        expect(created.spec).toEqual({ cidr: '10.1.0.0/16', natOutgoing: true });
        expect(await ds.get({ kind: 'IPPool', name: 'p1' })).toEqual(created);
      });

      it('gives every object its own uid', async () => {
        const a = await ds.create(pool('a'));
        const b = await ds.create(pool('b'));
        expect(a.metadata.uid).not.toEqual(b.metadata.uid);
      });

      it('refuses to create an object that exists, with AlreadyExistsError naming it', async () => {
        await ds.create(pool('dup'));
        const err = await rejection(ds.create(pool('dup', '10.9.0.0/16')));
        expect(err).toBeInstanceOf(AlreadyExistsError);
        expect((err as AlreadyExistsError).code).toBe('AlreadyExists');
        expect((err as Error).message).toContain('IPPool dup');
        expect((await ds.get<Resource>({ kind: 'IPPool', name: 'dup' }))?.spec).toEqual({ cidr: '10.65.0.0/16' });
      });

      it('puts namespaced objects in namespace "default" unless told otherwise, and keeps namespaces apart', async () => {
        const d = await ds.create(netset('s', undefined, ['10.0.0.0/8']));
        expect(d.metadata.namespace).toBe('default');
        const o = await ds.create(netset('s', 'other', ['192.168.0.0/16']));
        expect(o.metadata.namespace).toBe('other');
        expect((await ds.get({ kind: 'NetworkSet', name: 's' }))?.spec).toEqual({ nets: ['10.0.0.0/8'] });
        expect((await ds.get({ kind: 'NetworkSet', name: 's', namespace: 'other' }))?.spec).toEqual({
          nets: ['192.168.0.0/16'],
        });
      });

      it('keys cluster-scoped objects by name alone', async () => {
        const r = pool('scoped');
        r.metadata.namespace = 'ignored';
        const created = await ds.create(r);
        expect(created.metadata.namespace).toBeUndefined();
        expect(await ds.get({ kind: 'IPPool', name: 'scoped', namespace: 'whatever' })).toEqual(created);
      });

      it('ignores a resourceVersion or uid given on create', async () => {
        const r = pool('fresh');
        r.metadata.resourceVersion = '999999';
        r.metadata.uid = 'not-a-uid';
        const created = await ds.create(r);
        expect(created.metadata.uid).not.toBe('not-a-uid');
        expect(created.metadata.resourceVersion).not.toBe('999999');
      });

      it('rejects names and namespaces it cannot store', async () => {
        expect(await rejection(ds.create(pool('a/b')))).toBeInstanceOf(InvalidKeyError);
        expect(await rejection(ds.create(pool('')))).toBeInstanceOf(InvalidKeyError);
        expect(await rejection(ds.create(netset('n', 'x/y')))).toBeInstanceOf(InvalidKeyError);
        expect(await rejection(ds.get({ kind: 'IPPool', name: 'a/b' }))).toBeInstanceOf(InvalidKeyError);
        expect((await ds.list({ kind: 'IPPool' })).items).toEqual([]);
      });
    });

    describe('copies', () => {
      it('hands out copies: mutating a returned or listed object, or the input, changes nothing stored', async () => {
        const input = pool('c', '10.2.0.0/16');
        const created = await ds.create(input);
        input.spec = { cidr: '1.1.1.0/24' };
        created.metadata.labels = { changed: 'yes' };
        const got = await ds.get<Resource>({ kind: 'IPPool', name: 'c' });
        (got!.spec as { cidr: string }).cidr = '2.2.2.0/24';
        const listed = await ds.list({ kind: 'IPPool' });
        listed.items[0]!.metadata.name = 'renamed';
        const again = await ds.get<Resource>({ kind: 'IPPool', name: 'c' });
        expect(again?.spec).toEqual({ cidr: '10.2.0.0/16' });
        expect(again?.metadata.labels).toBeUndefined();
        expect(again?.metadata.name).toBe('c');
      });
    });

    describe('update and upsert', () => {
      it('updates in place: new resourceVersion, same uid and creationTimestamp', async () => {
        const created = await ds.create(pool('u'));
        const next = { ...created, spec: { cidr: '10.3.0.0/16' } } as Resource;
        const updated = await ds.update(next);
        expect(Number(updated.metadata.resourceVersion)).toBeGreaterThan(Number(created.metadata.resourceVersion));
        expect(updated.metadata.uid).toBe(created.metadata.uid);
        expect(updated.metadata.creationTimestamp).toBe(created.metadata.creationTimestamp);
        expect(await ds.get({ kind: 'IPPool', name: 'u' })).toEqual(updated);
      });

      it('keeps uid and creationTimestamp even when the caller leaves them out', async () => {
        const created = await ds.create(pool('u2'));
        const bare = pool('u2', '10.4.0.0/16');
        const updated = await ds.update(bare);
        expect(updated.metadata.uid).toBe(created.metadata.uid);
        expect(updated.metadata.creationTimestamp).toBe(created.metadata.creationTimestamp);
        expect(updated.spec).toEqual({ cidr: '10.4.0.0/16' });
      });

      it('fails with NotFoundError when the object does not exist', async () => {
        const err = await rejection(ds.update(pool('ghost')));
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as Error).message).toContain('IPPool ghost');
        expect(await ds.get({ kind: 'IPPool', name: 'ghost' })).toBeUndefined();
      });

      it('compares on metadata.resourceVersion: a stale copy gets ConflictError (expected vs actual)', async () => {
        const v1 = await ds.create(pool('cas'));
        const v2 = await ds.update({ ...v1, spec: { cidr: '10.5.0.0/16' } } as Resource);
        const err = await rejection(ds.update({ ...v1, spec: { cidr: '10.6.0.0/16' } } as Resource));
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as ConflictError).expected).toBe(v1.metadata.resourceVersion);
        expect((err as ConflictError).actual).toBe(v2.metadata.resourceVersion);
        expect((await ds.get<Resource>({ kind: 'IPPool', name: 'cas' }))?.spec).toEqual({ cidr: '10.5.0.0/16' });
      });

      it('an explicit revision option overrides metadata.resourceVersion', async () => {
        const v1 = await ds.create(pool('rev'));
        const stale = { ...v1, metadata: { ...v1.metadata, resourceVersion: '1' } } as Resource;
        const updated = await ds.update(stale, { revision: v1.metadata.resourceVersion });
        expect(updated.spec).toEqual(v1.spec);
        const err = await rejection(ds.update(updated, { revision: v1.metadata.resourceVersion }));
        expect(err).toBeInstanceOf(ConflictError);
      });

      it('lets exactly one of two racing compare-and-swap updates win', async () => {
        const v1 = await ds.create(pool('race'));
        const results = await Promise.allSettled([
          ds.update({ ...v1, spec: { cidr: '10.7.0.0/16' } } as Resource),
          ds.update({ ...v1, spec: { cidr: '10.8.0.0/16' } } as Resource),
        ]);
        const ok = results.filter((r) => r.status === 'fulfilled');
        const failed = results.filter((r) => r.status === 'rejected');
        expect(ok).toHaveLength(1);
        expect(failed).toHaveLength(1);
        expect((failed[0] as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
        const winner = (ok[0] as PromiseFulfilledResult<Resource>).value;
        expect(await ds.get({ kind: 'IPPool', name: 'race' })).toEqual(winner);
      });

      it('upsert creates a missing object and replaces an existing one without a revision check', async () => {
        const a = await ds.upsert(pool('up', '10.10.0.0/16'));
        expect(a.metadata.uid).toBeTruthy();
        const stale = { ...a, metadata: { ...a.metadata, resourceVersion: '1' }, spec: { cidr: '10.11.0.0/16' } };
        const b = await ds.upsert(stale as Resource);
        expect(b.spec).toEqual({ cidr: '10.11.0.0/16' });
        expect(b.metadata.uid).toBe(a.metadata.uid);
        expect(b.metadata.creationTimestamp).toBe(a.metadata.creationTimestamp);
        expect(Number(b.metadata.resourceVersion)).toBeGreaterThan(Number(a.metadata.resourceVersion));
      });
    });

    describe('delete', () => {
      it('returns the deleted object, after which get finds nothing', async () => {
        const created = await ds.create(netset('d', 'ns1'));
        const deleted = await ds.delete({ kind: 'NetworkSet', name: 'd', namespace: 'ns1' });
        expect(deleted).toEqual(created);
        expect(await ds.get({ kind: 'NetworkSet', name: 'd', namespace: 'ns1' })).toBeUndefined();
      });

      it('fails with NotFoundError for a missing object', async () => {
        const err = await rejection(ds.delete({ kind: 'IPPool', name: 'gone' }));
        expect(err).toBeInstanceOf(NotFoundError);
      });

      it('checks the revision when one is given', async () => {
        const v1 = await ds.create(pool('dr'));
        const v2 = await ds.update({ ...v1, spec: { cidr: '10.12.0.0/16' } } as Resource);
        const err = await rejection(ds.delete({ kind: 'IPPool', name: 'dr' }, { revision: v1.metadata.resourceVersion }));
        expect(err).toBeInstanceOf(ConflictError);
        expect((err as ConflictError).actual).toBe(v2.metadata.resourceVersion);
        expect(await ds.get({ kind: 'IPPool', name: 'dr' })).toEqual(v2);
        await ds.delete({ kind: 'IPPool', name: 'dr' }, { revision: v2.metadata.resourceVersion });
        expect(await ds.get({ kind: 'IPPool', name: 'dr' })).toBeUndefined();
      });

      it('a re-created object is a new object (new uid)', async () => {
        const a = await ds.create(pool('again'));
        await ds.delete({ kind: 'IPPool', name: 'again' });
        const b = await ds.create(pool('again'));
        expect(b.metadata.uid).not.toBe(a.metadata.uid);
      });
    });

    describe('list', () => {
      it('lists one kind, sorted by namespace then name, with a revision to watch from', async () => {
        for (const [n, ns] of [
          ['b', 'a'],
          ['a', 'a-b'],
          ['c', 'a'],
          ['a', 'a'],
          ['z', 'default'],
          ['m', 'b'],
        ] as const) {
          await ds.create(netset(n, ns));
        }
        await ds.create(pool('not-a-netset'));
        await ds.create({ apiVersion: API_VERSION, kind: 'GlobalNetworkSet', metadata: { name: 'g' }, spec: { nets: [] } });
        await ds.create({ apiVersion: API_VERSION, kind: 'NetworkPolicy', metadata: { name: 'np' }, spec: {} });
        const res = await ds.list({ kind: 'NetworkSet' });
        expect(res.items.map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
          'a/a',
          'a/b',
          'a/c',
          'a-b/a',
          'b/m',
          'default/z',
        ]);
        expect(res.items.every((r) => r.kind === 'NetworkSet')).toBe(true);
        expect(res.revision).toMatch(/^\d+$/);
        const latest = Math.max(...res.items.map((r) => Number(r.metadata.resourceVersion)));
        expect(Number(res.revision)).toBeGreaterThanOrEqual(latest);
      });

      it('filters by namespace and by name prefix', async () => {
        for (const [n, ns] of [
          ['web-1', 'a'],
          ['web-2', 'a'],
          ['db-1', 'a'],
          ['web-3', 'ab'],
          ['web-4', 'b'],
        ] as const) {
          await ds.create(netset(n, ns));
        }
        const inA = await ds.list({ kind: 'NetworkSet', namespace: 'a' });
        expect(inA.items.map((r) => r.metadata.name)).toEqual(['db-1', 'web-1', 'web-2']);
        const webInA = await ds.list({ kind: 'NetworkSet', namespace: 'a', namePrefix: 'web' });
        expect(webInA.items.map((r) => r.metadata.name)).toEqual(['web-1', 'web-2']);
        const webAll = await ds.list({ kind: 'NetworkSet', namePrefix: 'web-' });
        expect(webAll.items.map((r) => `${r.metadata.namespace}/${r.metadata.name}`)).toEqual([
          'a/web-1',
          'a/web-2',
          'ab/web-3',
          'b/web-4',
        ]);
        for (const n of ['pool-b', 'pool-a', 'other']) await ds.create(pool(n));
        const pools = await ds.list({ kind: 'IPPool', namePrefix: 'pool-' });
        expect(pools.items.map((r) => r.metadata.name)).toEqual(['pool-a', 'pool-b']);
      });

      it('lists nothing for an empty kind', async () => {
        const res = await ds.list({ kind: 'BGPPeer' });
        expect(res.items).toEqual([]);
        expect(res.revision).toMatch(/^\d+$/);
      });
    });

    describe('txn', () => {
      it('applies every op at one revision and returns the results in order', async () => {
        const existing = await ds.create(pool('t-upd'));
        await ds.create(pool('t-del'));
        const res = await ds.txn([
          { op: 'create', resource: pool('t-new', '10.20.0.0/16') },
          { op: 'update', resource: { ...existing, spec: { cidr: '10.21.0.0/16' } } as Resource },
          { op: 'upsert', resource: pool('t-ups', '10.22.0.0/16') },
          { op: 'delete', key: { kind: 'IPPool', name: 't-del' } },
        ]);
        expect(res.map((r) => r.metadata.name)).toEqual(['t-new', 't-upd', 't-ups', 't-del']);
        const revs = new Set(res.slice(0, 3).map((r) => r.metadata.resourceVersion));
        expect(revs.size).toBe(1);
        expect(res[1]!.metadata.uid).toBe(existing.metadata.uid);
        const names = (await ds.list({ kind: 'IPPool' })).items.map((r) => r.metadata.name);
        expect(names).toEqual(['t-new', 't-upd', 't-ups']);
      });

      it('writes nothing when one op fails, and throws the first failing op\'s error', async () => {
        const v1 = await ds.create(pool('t-a'));
        await ds.create(pool('t-c'));
        const before = await ds.list({ kind: 'IPPool' });
        const err = await rejection(
          ds.txn([
            { op: 'create', resource: pool('t-b') },
            { op: 'update', resource: { ...v1, spec: { cidr: '10.30.0.0/16' } } as Resource },
            { op: 'update', resource: pool('t-missing') },
            { op: 'create', resource: pool('t-c') },
          ]),
        );
        expect(err).toBeInstanceOf(NotFoundError);
        expect((err as NotFoundError).key.name).toBe('t-missing');
        const after = await ds.list({ kind: 'IPPool' });
        expect(after.items).toEqual(before.items);
      });

      it('reports AlreadyExists, Conflict and NotFound from the op that failed', async () => {
        const v1 = await ds.create(pool('t-x'));
        await ds.update({ ...v1, spec: { cidr: '10.31.0.0/16' } } as Resource);
        expect(await rejection(ds.txn([{ op: 'create', resource: pool('t-y') }, { op: 'create', resource: pool('t-x') }]))).toBeInstanceOf(
          AlreadyExistsError,
        );
        expect(await rejection(ds.txn([{ op: 'update', resource: v1 }, { op: 'create', resource: pool('t-y') }]))).toBeInstanceOf(
          ConflictError,
        );
        expect(
          await rejection(ds.txn([{ op: 'delete', key: { kind: 'IPPool', name: 't-x' }, revision: v1.metadata.resourceVersion }])),
        ).toBeInstanceOf(ConflictError);
        expect(await rejection(ds.txn([{ op: 'delete', key: { kind: 'IPPool', name: 't-nope' } }]))).toBeInstanceOf(NotFoundError);
        expect(await ds.get({ kind: 'IPPool', name: 't-y' })).toBeUndefined();
      });

      it('refuses a transaction that touches one object twice, before checking any op', async () => {
        const err = await rejection(
          ds.txn([
            { op: 'update', resource: pool('t-missing') },
            { op: 'create', resource: pool('t-twice') },
            { op: 'upsert', resource: pool('t-twice') },
          ]),
        );
        expect(err).toBeInstanceOf(InvalidTxnError);
        expect(await ds.get({ kind: 'IPPool', name: 't-twice' })).toBeUndefined();
      });

      it('an empty transaction does nothing', async () => {
        expect(await ds.txn([])).toEqual([]);
      });

      it('a guard fails the transaction when an object of its kind (and name prefix) was created or changed after its revision', async () => {
        await ds.create(pool('g-a', '10.1.0.0/16'));
        const { revision } = await ds.list({ kind: 'IPPool' });
        const guard = { kind: 'IPPool' as const, namePrefix: 'g-', revision };
        // Unchanged since: passes (an unrelated kind or name changing does not matter).
        await ds.create(pool('other', '10.9.0.0/16'));
        await ds.txn([{ op: 'create', resource: pool('g-b', '10.2.0.0/16') }], { guards: [guard] });
        // g-b was created after the revision: the same guard now fails, and nothing is written.
        const err = await rejection(ds.txn([{ op: 'create', resource: pool('g-c', '10.3.0.0/16') }], { guards: [guard] }));
        expect(err).toBeInstanceOf(GuardConflictError);
        expect(err).toBeInstanceOf(ConflictError);
        expect(await ds.get({ kind: 'IPPool', name: 'g-c' })).toBeUndefined();
        // From a fresh revision it passes again; a deletion after it does not count.
        const fresh = (await ds.list({ kind: 'IPPool' })).revision;
        await ds.delete({ kind: 'IPPool', name: 'g-a' });
        await ds.txn([{ op: 'create', resource: pool('g-c', '10.3.0.0/16') }], { guards: [{ ...guard, revision: fresh }] });
      });
    });

    describe('watch', () => {
      it('delivers added, modified and deleted in order, from a list revision', async () => {
        await ds.create(pool('w-before'));
        const { revision } = await ds.list({ kind: 'IPPool' });
        const log = new EventLog();
        const w = ds.watch({ kind: 'IPPool', afterRevision: revision }, log.handler);
        try {
          const a = await ds.create(pool('w1'));
          const b = await ds.update({ ...a, spec: { cidr: '10.40.0.0/16' } } as Resource);
          await ds.create(netset('other-kind', 'x'));
          await ds.delete({ kind: 'IPPool', name: 'w1' });
          await log.until((evs) => evs.length >= 3, 'three IPPool events');
          const evs = log.changes();
          expect(evs.map((e) => e.type)).toEqual(['added', 'modified', 'deleted']);
          expect(evs[0]).toMatchObject({ type: 'added', resource: a, revision: a.metadata.resourceVersion });
          expect(evs[1]).toMatchObject({ type: 'modified', resource: b, revision: b.metadata.resourceVersion });
          const del = evs[2] as Extract<WatchEvent, { type: 'deleted' }>;
          expect(del.key).toEqual({ kind: 'IPPool', name: 'w1' });
          expect(del.previous).toEqual(b);
          expect(Number(del.revision)).toBeGreaterThan(Number(b.metadata.resourceVersion));
        } finally {
          await w.close();
        }
      });

      it('replays changes made between the list and the start of the watch', async () => {
        const { revision } = await ds.list({ kind: 'IPPool' });
        await ds.create(pool('r1'));
        await ds.create(pool('r2'));
        const log = new EventLog();
        const w = ds.watch({ kind: 'IPPool', afterRevision: revision }, log.handler);
        try {
          await ds.create(pool('r3'));
          await log.until((evs) => evs.length >= 3, 'three events');
          expect(log.changes().map((e) => (e.type === 'added' ? e.resource.metadata.name : e.type))).toEqual(['r1', 'r2', 'r3']);
        } finally {
          await w.close();
        }
      });

      it('without a start revision, delivers only later changes; watches every kind when none is given', async () => {
        await ds.create(pool('old'));
        const log = new EventLog();
        const w = ds.watch({}, log.handler);
        try {
          // A write that lands after the watch is established must arrive; writes before it must not.
          await new Promise((r) => setTimeout(r, 200));
          await ds.create(netset('n1', 'x'));
          await ds.create(pool('new'));
          await log.until((evs) => evs.length >= 2, 'two events');
          const names = log.changes().map((e) => (e.type === 'added' ? `${e.resource.kind}/${e.resource.metadata.name}` : e.type));
          expect(names).toEqual(['NetworkSet/n1', 'IPPool/new']);
        } finally {
          await w.close();
        }
      });

      it('filters by namespace', async () => {
        const { revision } = await ds.list({ kind: 'NetworkSet' });
        const log = new EventLog();
        const w = ds.watch({ kind: 'NetworkSet', namespace: 'a', afterRevision: revision }, log.handler);
        try {
          await ds.create(netset('in-ab', 'ab'));
          await ds.create(netset('in-a', 'a'));
          await ds.create(netset('in-b', 'b'));
          await ds.create(netset('in-a-2', 'a'));
          await log.until((evs) => evs.length >= 2, 'two events');
          await ds.create(netset('in-a-3', 'a'));
          await log.until((evs) => evs.length >= 3, 'three events');
          expect(log.changes().map((e) => (e.type === 'added' ? e.resource.metadata.name : e.type))).toEqual([
            'in-a',
            'in-a-2',
            'in-a-3',
          ]);
        } finally {
          await w.close();
        }
      });

      it('reports every object of a transaction at the same revision', async () => {
        const { revision } = await ds.list({ kind: 'IPPool' });
        const log = new EventLog();
        const w = ds.watch({ kind: 'IPPool', afterRevision: revision }, log.handler);
        try {
          await ds.txn([
            { op: 'create', resource: pool('tx1') },
            { op: 'create', resource: pool('tx2') },
          ]);
          await log.until((evs) => evs.length >= 2, 'two events');
          const evs = log.changes() as Extract<WatchEvent, { type: 'added' | 'modified' }>[];
          expect(evs.map((e) => e.resource.metadata.name).sort()).toEqual(['tx1', 'tx2']);
          expect(evs[0]!.revision).toBe(evs[1]!.revision);
        } finally {
          await w.close();
        }
      });

      it('hands each watcher its own copies', async () => {
        const { revision } = await ds.list({ kind: 'IPPool' });
        const l1 = new EventLog();
        const l2 = new EventLog();
        const w1 = ds.watch({ kind: 'IPPool', afterRevision: revision }, (ev) => {
          if (ev.type === 'added') ev.resource.metadata.name = 'mutated';
          l1.handler(ev);
        });
        const w2 = ds.watch({ kind: 'IPPool', afterRevision: revision }, l2.handler);
        try {
          await ds.create(pool('shared'));
          await l1.until((e) => e.length >= 1, 'event on w1');
          await l2.until((e) => e.length >= 1, 'event on w2');
          expect((l2.changes()[0] as Extract<WatchEvent, { type: 'added' | 'modified' }>).resource.metadata.name).toBe('shared');
          expect((await ds.get({ kind: 'IPPool', name: 'shared' }))?.metadata.name).toBe('shared');
        } finally {
          await w1.close();
          await w2.close();
        }
      });

      it('stops delivering after close', async () => {
        const { revision } = await ds.list({ kind: 'IPPool' });
        const closedLog = new EventLog();
        const openLog = new EventLog();
        const w = ds.watch({ kind: 'IPPool', afterRevision: revision }, closedLog.handler);
        const w2 = ds.watch({ kind: 'IPPool', afterRevision: revision }, openLog.handler);
        try {
          await w.close();
          await ds.create(pool('after-close'));
          await openLog.until((e) => e.length >= 1, 'event on the open watcher');
          expect(closedLog.changes()).toEqual([]);
        } finally {
          await w2.close();
        }
      });
    });
  });
}
