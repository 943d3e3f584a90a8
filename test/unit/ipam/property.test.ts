// Random interleavings of allocate / release / host removal / GC over a small pool, several
// allocator instances ("processes") per host, every datastore call delayed and reordered by
// fast-check's scheduler. Afterwards: no address held twice, nothing leaked, nothing lost, and the
// stored bookkeeping (blocks, handles, affinities) is consistent.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { IPAMHandleResource } from '../../../src/api/types.js';
import type { Datastore } from '../../../src/datastore/types.js';
import { Ipam, PoolExhaustedError, allAllocations, checkState, gcPass, newGcState, readIpamState } from '../../../ipam/index.js';
import { memoryStore, pool } from './fixtures.js';

function scheduled(ds: Datastore, s: fc.Scheduler): Datastore {
  const gate = (label: string): Promise<unknown> => s.schedule(Promise.resolve(label), label);
  return {
    location: ds.location,
    get: async (k) => (await gate(`get ${k.kind}`), ds.get(k)),
    list: async (o) => (await gate(`list ${o.kind}`), ds.list(o)),
    create: async (r) => (await gate(`create ${r.kind}`), ds.create(r)),
    update: async (r, o) => (await gate(`update ${r.kind}`), ds.update(r, o)),
    upsert: async (r) => (await gate(`upsert ${r.kind}`), ds.upsert(r)),
    delete: async (k, o) => (await gate(`delete ${k.kind}`), ds.delete(k, o)),
    txn: async (ops) => (await gate(`txn ${ops.length}`), ds.txn(ops)),
    watch: (o, h) => ds.watch(o, h),
    close: () => ds.close(),
  } as Datastore;
}

type Cmd =
  | { t: 'alloc'; host: number; proc: number; n4: number }
  | { t: 'releaseHandle'; pick: number }
  | { t: 'releaseIp'; pick: number }
  | { t: 'removeHost'; host: number }
  | { t: 'gc' };

const HOSTS = 3;
const PROCS = 2;

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('alloc' as const), host: fc.nat(HOSTS - 1), proc: fc.nat(PROCS - 1), n4: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('releaseHandle' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('releaseIp' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('removeHost' as const), host: fc.nat(HOSTS - 1) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'gc' as const }) },
);

describe('IPAM under random interleavings (property)', () => {
  it('never hands out an address twice, never leaks, never loses one', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(cmdArb, { minLength: 5, maxLength: 24 }), async (s, cmds) => {
        const raw = await memoryStore();
        // 40 addresses in blocks of 8: hosts claim, fill, borrow and hit exhaustion.
        await raw.create(pool('p', '10.65.0.0/26', { blockSize: 29 }));
        await raw.create(pool('p2', '10.66.0.0/29', { blockSize: 29, disabled: true }));
        const ds = scheduled(raw, s);
        const ipams = Array.from({ length: HOSTS * PROCS }, () => new Ipam(ds, { maxRetries: 1000 }));
        const live = new Map<string, { ips: Map<string, number> }>(); // handle → ip → sequence
        const busy = new Set<string>();
        const gcState = newGcState();
        let clock = 0;
        let seq = 0;
        const unexpected: unknown[] = [];
        const pickHandle = (pick: number): string | undefined => {
          const free = [...live.keys()].filter((h) => !busy.has(h) && (live.get(h)?.ips.size ?? 0) > 0);
          return free.length ? free[pick % free.length] : undefined;
        };
        const run = async (c: Cmd): Promise<void> => {
          switch (c.t) {
            case 'alloc': {
              const handleID = `net.c${seq++}`;
              try {
                const r = await ipams[c.host * PROCS + c.proc]!.autoAssign({ node: `h${c.host}`, handleID, num4: c.n4 });
                expect(r.ips).toHaveLength(c.n4);
                live.set(handleID, { ips: new Map(r.ips.map((a) => [a.ip, a.sequence])) });
              } catch (e) {
                if (!(e instanceof PoolExhaustedError)) unexpected.push(e);
              }
              return;
            }
            case 'releaseHandle': {
              const h = pickHandle(c.pick);
              if (!h) return;
              busy.add(h);
              try {
                const out = await ipams[c.pick % ipams.length]!.releaseByHandle(h);
                expect(out.map((o) => o.ip).sort()).toEqual([...live.get(h)!.ips.keys()].sort());
                live.delete(h);
              } catch (e) {
                unexpected.push(e);
              } finally {
                busy.delete(h);
              }
              return;
            }
            case 'releaseIp': {
              const h = pickHandle(c.pick);
              if (!h) return;
              busy.add(h);
              try {
                const entry = live.get(h)!;
                const [ip, sequence] = [...entry.ips][c.pick % entry.ips.size]!;
                const out = await ipams[c.pick % ipams.length]!.releaseIps([{ ip, sequence, handleID: h }]);
                expect(out[0]!.status).toBe('released');
                entry.ips.delete(ip);
                if (entry.ips.size === 0) live.delete(h);
              } catch (e) {
                unexpected.push(e);
              } finally {
                busy.delete(h);
              }
              return;
            }
            case 'removeHost':
              try {
                await ipams[c.host * PROCS]!.removeHost(`h${c.host}`);
              } catch (e) {
                unexpected.push(e);
              }
              return;
            case 'gc':
              try {
                clock += 1000;
                // No workload endpoints here, so an infinite grace: only empty blocks are collected.
                await gcPass(ds, gcState, clock, { graceMs: Number.POSITIVE_INFINITY });
              } catch (e) {
                unexpected.push(e);
              }
              return;
          }
        };
        let done = false;
        const all = Promise.all(cmds.map((c) => run(c))).finally(() => {
          done = true;
        });
        while (!done) {
          await s.waitAll();
          if (!done) await new Promise((r) => setTimeout(r, 1));
        }
        await all;
        expect(unexpected).toEqual([]);

        // The store agrees with the model exactly.
        const state = await readIpamState(raw);
        const stored = allAllocations(state);
        const ips = stored.map((a) => a.ip);
        expect(new Set(ips).size).toBe(ips.length); // no address twice
        const expected = new Map<string, string>();
        for (const [h, e] of live) for (const ip of e.ips.keys()) expected.set(ip, h);
        expect(new Map(stored.map((a) => [a.ip, a.handleID]))).toEqual(expected); // no leak, no loss
        const handles = new Map(state.handles.map((h: IPAMHandleResource) => [h.spec.handleID, Object.values(h.spec.block).reduce((x, y) => x + y, 0)]));
        expect(handles).toEqual(new Map([...live].map(([h, e]) => [h, e.ips.size])));
        const structural = checkState(state, { now: 0, graceMs: 0 }).filter(
          (p) => !['leaked-allocation', 'block-of-missing-node', 'recent-allocation-without-endpoint'].includes(p.type),
        );
        expect(structural).toEqual([]);
        // Nothing from the disabled pool.
        expect(stored.some((a) => a.ip.startsWith('10.66.'))).toBe(false);
      }),
      { numRuns: 60 },
    );
  }, 120_000);
});
