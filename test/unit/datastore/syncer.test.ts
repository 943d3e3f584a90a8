import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { keyOf, type Kind } from '../../../src/api/types.js';
import {
  openDatastore,
  startSyncer,
  UnreachableError,
  type Datastore,
  type ListOptions,
  type ListResult,
  type Resource,
  type SyncEvent,
  type WatchEvent,
  type WatchOptions,
  type Watcher,
} from '../../../src/datastore/index.js';
import { netset, pool } from '../../support/datastore-contract.js';

/** A datastore whose watches the test can break (changes are then missed) and end with resync. */
class Breakable implements Datastore {
  readonly location = 'breakable:';
  listFailures = 0;
  private live: { inner: Watcher; handler: (ev: WatchEvent) => void; kind: Kind | undefined }[] = [];
  constructor(readonly inner: Datastore) {}
  get: Datastore['get'] = (k) => this.inner.get(k);
  list = <R extends Resource = Resource>(o: ListOptions): Promise<ListResult<R>> => {
    if (this.listFailures > 0) {
      this.listFailures--;
      return Promise.reject(new UnreachableError(this.location));
    }
    return this.inner.list<R>(o);
  };
  create: Datastore['create'] = (r) => this.inner.create(r);
  update: Datastore['update'] = (r, o) => this.inner.update(r, o);
  upsert: Datastore['upsert'] = (r) => this.inner.upsert(r);
  delete: Datastore['delete'] = (k, o) => this.inner.delete(k, o);
  txn: Datastore['txn'] = (ops) => this.inner.txn(ops);
  watch(opts: WatchOptions, handler: (ev: WatchEvent) => void): Watcher {
    const entry = { inner: this.inner.watch(opts, handler), handler, kind: opts.kind };
    this.live.push(entry);
    return {
      close: async () => {
        this.live = this.live.filter((e) => e !== entry);
        await entry.inner.close();
      },
    };
  }
  /** Stops delivering events to current watches (as if the stream were lost). */
  async breakWatches(): Promise<void> {
    for (const e of this.live) await e.inner.close();
  }
  /** Tells current watches their history is gone. */
  resync(kind?: Kind): void {
    for (const e of [...this.live]) if (kind === undefined || e.kind === kind) e.handler({ type: 'resync', reason: 'test' });
  }
  error(kind?: Kind): void {
    for (const e of [...this.live]) if (kind === undefined || e.kind === kind) e.handler({ type: 'error', error: new UnreachableError(this.location) });
  }
  /** Tells current watches they are live again after an error. */
  reconnected(kind?: Kind): void {
    for (const e of [...this.live]) if (kind === undefined || e.kind === kind) e.handler({ type: 'reconnected' });
  }
  close = (): Promise<void> => this.inner.close();
}

/** A consumer that keeps the view the syncer describes. */
class Consumer {
  readonly view = new Map<string, Resource>();
  readonly batches: SyncEvent[][] = [];
  readonly log: string[] = [];
  inSync = 0;
  readonly statuses: string[] = [];
  onUpdates = (evs: SyncEvent[]): void => {
    this.batches.push(evs);
    for (const e of evs) {
      if (e.type === 'set') {
        this.view.set(id(keyOf(e.resource)), e.resource);
        this.log.push(`set ${e.resource.metadata.name}`);
      } else {
        this.view.delete(id(e.key));
        this.log.push(`del ${e.key.name}`);
      }
    }
  };
  onInSync = (): void => {
    this.inSync++;
    this.log.push('in-sync');
  };
  onStatus = (s: string): void => {
    this.statuses.push(s);
  };
  async until(cond: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; log: ${this.log.join(', ')}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

function id(k: { kind: string; namespace?: string; name: string }): string {
  return `${k.kind}/${k.namespace ?? ''}/${k.name}`;
}

async function storeView(ds: Datastore, kinds: Kind[]): Promise<Map<string, Resource>> {
  const m = new Map<string, Resource>();
  for (const kind of kinds) for (const r of (await ds.list({ kind })).items) m.set(id(keyOf(r)), r);
  return m;
}

describe('startSyncer', () => {
  it('lists the requested kinds, reports them, says in-sync, then streams changes in order', async () => {
    const ds = await openDatastore('memory:');
    await ds.create(pool('a'));
    await ds.create(pool('b'));
    await ds.create(netset('s', 'x'));
    await ds.create({ apiVersion: 'twill.io/v1', kind: 'BGPPeer', metadata: { name: 'not-wanted' }, spec: {} });
    const c = new Consumer();
    const s = startSyncer(ds, ['IPPool', 'NetworkSet'], c);
    await c.until(() => c.inSync === 1, 'in-sync');
    expect(c.log.slice().sort()).toEqual(['in-sync', 'set a', 'set b', 'set s']);
    expect(c.log[c.log.length - 1]).toBe('in-sync');
    const a = (await ds.get({ kind: 'IPPool', name: 'a' }))!;
    await ds.update({ ...a, spec: { cidr: '10.9.0.0/16' } } as Resource);
    await ds.create(pool('c'));
    await ds.delete({ kind: 'IPPool', name: 'b' });
    await ds.create({ apiVersion: 'twill.io/v1', kind: 'BGPPeer', metadata: { name: 'still-not-wanted' }, spec: {} });
    await c.until(() => c.log.length >= 7, 'three changes');
    expect(c.log.slice(4)).toEqual(['set a', 'set c', 'del b']);
    expect(c.view).toEqual(await storeView(ds, ['IPPool', 'NetworkSet']));
    expect(c.statuses).toEqual(['connecting', 'in-sync']);
    await s.stop();
    await ds.close();
  });

  it('on resync re-lists and reports only what changed, then in-sync again', async () => {
    const ds = new Breakable(await openDatastore('memory:'));
    await ds.create(pool('same'));
    const changed = await ds.create(pool('changed'));
    await ds.create(pool('vanishes'));
    const c = new Consumer();
    const s = startSyncer(ds, ['IPPool'], c);
    await c.until(() => c.inSync === 1, 'first in-sync');
    await ds.breakWatches();
    await ds.update({ ...changed, spec: { cidr: '10.1.0.0/16' } } as Resource);
    await ds.delete({ kind: 'IPPool', name: 'vanishes' });
    await ds.create(pool('new'));
    const before = c.log.length;
    ds.resync('IPPool');
    await c.until(() => c.inSync === 2, 'second in-sync');
    expect(c.log.slice(before).slice(0, -1).sort()).toEqual(['del vanishes', 'set changed', 'set new']);
    expect(c.log[c.log.length - 1]).toBe('in-sync');
    expect(c.statuses).toEqual(['connecting', 'in-sync', 'resyncing', 'in-sync']);
    expect(c.view).toEqual(await storeView(ds, ['IPPool']));
    // And it keeps streaming afterwards.
    await ds.create(pool('later'));
    await c.until(() => c.log.includes('set later'), 'event after resync');
    await s.stop();
    await ds.close();
  });

  it('resyncs after a real compaction of the embedded store', async () => {
    const inner = await openDatastore('memory:');
    const ds = new Breakable(inner);
    const c = new Consumer();
    const s = startSyncer(ds, ['IPPool'], c);
    await c.until(() => c.inSync === 1, 'in-sync');
    await ds.breakWatches();
    await ds.create(pool('p1'));
    (inner as unknown as { compact(): void }).compact();
    ds.resync();
    await c.until(() => c.inSync === 2, 'in-sync after compaction');
    expect([...c.view.keys()]).toEqual(['IPPool//p1']);
    await s.stop();
    await ds.close();
  });

  it('keeps retrying a failing list, reporting the error, until it works', async () => {
    const ds = new Breakable(await openDatastore('memory:'));
    await ds.create(pool('p'));
    ds.listFailures = 3;
    const c = new Consumer();
    const s = startSyncer(ds, ['IPPool'], c, { retryMs: 5, maxRetryMs: 20 });
    await c.until(() => c.inSync === 1, 'in-sync');
    expect(c.statuses).toEqual(['connecting', 'error', 'error', 'error', 'in-sync']);
    expect(c.log).toEqual(['set p', 'in-sync']);
    await s.stop();
    await ds.close();
  });

  it('reports watch errors and recovers its status with the next change', async () => {
    const ds = new Breakable(await openDatastore('memory:'));
    const c = new Consumer();
    const s = startSyncer(ds, ['IPPool'], c);
    await c.until(() => c.inSync === 1, 'in-sync');
    ds.error();
    await ds.create(pool('p'));
    await c.until(() => c.log.includes('set p'), 'event');
    expect(c.statuses).toEqual(['connecting', 'in-sync', 'error', 'in-sync']);
    await s.stop();
    await ds.close();
  });

  it('is in sync again once every watch that failed has reconnected, with no change made meanwhile', async () => {
    const ds = new Breakable(await openDatastore('memory:'));
    const c = new Consumer();
    const s = startSyncer(ds, ['IPPool', 'NetworkSet'], c);
    await c.until(() => c.inSync === 1, 'in-sync');
    ds.error();
    ds.reconnected('IPPool');
    expect(c.statuses).toEqual(['connecting', 'in-sync', 'error', 'error']);
    ds.reconnected('NetworkSet');
    expect(c.statuses).toEqual(['connecting', 'in-sync', 'error', 'error', 'in-sync']);
    expect(c.inSync).toBe(1);
    await s.stop();
    await ds.close();
  });

  it('is in sync at once with no kinds, and says nothing after stop', async () => {
    const ds = await openDatastore('memory:');
    const c = new Consumer();
    const s = startSyncer(ds, [], c);
    await c.until(() => c.inSync === 1, 'in-sync');
    const c2 = new Consumer();
    const s2 = startSyncer(ds, ['IPPool'], c2);
    await c2.until(() => c2.inSync === 1, 'in-sync');
    await s2.stop();
    await ds.create(pool('after-stop'));
    await new Promise((r) => setTimeout(r, 50));
    expect(c2.log).toEqual(['in-sync']);
    await s.stop();
    await ds.close();
  });

  it('the consumer view always converges to the store, whatever mix of changes and resyncs happens', { timeout: 60_000 }, async () => {
    type Step =
      | { t: 'create' | 'update' | 'delete'; name: string; ns: string | undefined; kind: 'IPPool' | 'NetworkSet' }
      | { t: 'break' }
      | { t: 'resync' };
    const step: fc.Arbitrary<Step> = fc.oneof(
      { weight: 6, arbitrary: fc.record({
        t: fc.constantFrom('create' as const, 'update' as const, 'delete' as const),
        name: fc.constantFrom('a', 'b', 'c', 'd'),
        ns: fc.constantFrom(undefined, 'x', 'y'),
        kind: fc.constantFrom('IPPool' as const, 'NetworkSet' as const),
      }) },
      { weight: 1, arbitrary: fc.constant({ t: 'break' as const }) },
      { weight: 1, arbitrary: fc.constant({ t: 'resync' as const }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), async (steps) => {
        const ds = new Breakable(await openDatastore('memory:'));
        const c = new Consumer();
        const s = startSyncer(ds, ['IPPool', 'NetworkSet'], c);
        let broken = false;
        let n = 0;
        for (const st of steps) {
          if (st.t === 'break') {
            await ds.breakWatches();
            broken = true;
          } else if (st.t === 'resync') {
            ds.resync();
            broken = false;
          } else {
            const r = st.kind === 'IPPool' ? pool(st.name, `10.${n++ % 250}.0.0/16`) : netset(st.name, st.ns, [`10.${n++ % 250}.0.0/16`]);
            const key = keyOf(r);
            const exists = (await ds.get(key)) !== undefined;
            if (st.t === 'create' && !exists) await ds.create(r);
            if (st.t === 'update' && exists) await ds.update(r);
            if (st.t === 'delete' && exists) await ds.delete(key);
          }
          if (Math.random() < 0.3) await new Promise((r) => setImmediate(r));
        }
        if (broken) ds.resync();
        // Quiesce: a marker write that must come through the live stream.
        const target = c.inSync + (broken ? 1 : 0);
        await c.until(() => c.inSync >= Math.max(1, target), 'in-sync');
        await ds.create({ apiVersion: 'twill.io/v1', kind: 'IPPool', metadata: { name: 'zz-marker' }, spec: { cidr: '1.0.0.0/8' } });
        await c.until(() => c.view.has('IPPool//zz-marker'), 'marker');
        expect(c.view).toEqual(await storeView(ds, ['IPPool', 'NetworkSet']));
        await s.stop();
        await ds.close();
      }),
      { numRuns: 60, endOnFailure: true },
    );
  });
});
