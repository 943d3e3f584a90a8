// The allocation path.
//
// Requests from one host go through that host's queue. While one transaction is in flight, new
// requests wait; the next batch takes all of them (up to maxBatch) and writes them in ONE
// transaction: every block it touched (compare-and-swap on the block's revision) plus every handle
// (create, or compare-and-swap update). A host's blocks are cached between batches; the CAS makes
// a stale cache harmless (conflict → re-read that block → retry).
//
// Order for each request and family: the host's own blocks (in usable pools), then a newly
// claimed block (the block's create() is the lock: two hosts can never own one block), then —
// unless strictAffinity — single addresses borrowed from other blocks. When nothing is left the
// request fails with PoolExhaustedError saying how full each pool is.

import { API_VERSION } from '../src/api/types.js';
import type {
  BlockAffinityResource,
  IPAMBlockResource,
  IPAMConfigResource,
  IPAMConfigSpec,
  IPAMHandleResource,
  NodeResource,
  Resource,
} from '../src/api/types.js';
import { cidrsOverlap, formatCidr, parseCidr, subnets, type Cidr, type IpFamily } from '../src/api/cidr.js';
import type { Labels } from '../src/api/selector/index.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../src/datastore/errors.js';
import type { Datastore, TxnOp } from '../src/datastore/types.js';
import { allocateOrdinals, cloneSpec, freeCount, ipAt, newBlockSpec, type Secondary } from './block.js';
import { IpamConflictError, IpamRequestError, NoSuchPoolError, PoolExhaustedError, type PoolFullness, type SkippedPool } from './errors.js';
import { affinityHost, affinityName, blockName, handleName, hostAffinity } from './names.js';
import { countValue, loadPools, poolAddressCount, poolBlockCount, poolMatchesNode, poolOfCidr, type IpamPool } from './pools.js';
import { backoff } from './retry.js';
import type { AssignRequest, Assigned, IpamOptions } from './types.js';

interface Config {
  strictAffinity: boolean;
  autoAllocateBlocks: boolean;
  maxBlocksPerHost: number;
}

/** Thrown by plan() when a request fails on a cached context (runBatch reloads it and replans). */
class StaleContext extends Error {}

interface AllocContext {
  at: number;
  /** Served from the cache (contextCacheMs): a request it cannot serve is retried with a fresh one. */
  cached?: boolean;
  pools: IpamPool[];
  invalid: { name: string; reason: string }[];
  config: Config;
  labels: Labels;
}

interface Pending {
  req: Required<Pick<AssignRequest, 'node' | 'handleID'>> & { want: Record<IpFamily, number>; secondary: Secondary; pools: string[] | undefined };
  /** undefined: not known (assume it does not exist); null: known not to exist. */
  handle: IPAMHandleResource | null | undefined;
  /** Set once resolve or reject was called: the request must not be written again. */
  settled: boolean;
  resolve(v: Assigned[]): void;
  reject(e: unknown): void;
}

interface HostState {
  node: string;
  queue: Pending[];
  running: boolean;
  /** The host's blocks by name (undefined until loaded). */
  blocks: Map<string, IPAMBlockResource> | undefined;
  /** The revision the host's BlockAffinity objects were listed at (guards a block claim). */
  affinityRevision?: string;
}

interface WorkBlock {
  res: IPAMBlockResource;
  spec: IPAMBlockResource['spec'];
  cidr: Cidr;
  own: boolean;
  changed: boolean;
}

interface Planned {
  p: Pending;
  allocs: { wb: WorkBlock; ordinal: number; sequence: number }[];
}

const FAMILIES: readonly IpFamily[] = [4, 6];
/** Free blocks considered at once when claiming. */
const CLAIM_WINDOW = 32;

function readConfig(spec: IPAMConfigSpec | undefined): Config {
  return {
    strictAffinity: spec?.strictAffinity === true,
    autoAllocateBlocks: spec?.autoAllocateBlocks !== false,
    maxBlocksPerHost: spec?.maxBlocksPerHost ?? 0,
  };
}

function isLiveHostBlock(b: IPAMBlockResource, node: string): boolean {
  return b.spec.deleted !== true && b.spec.affinity === hostAffinity(node);
}

export class Allocator {
  private readonly hosts = new Map<string, HostState>();
  private readonly contexts = new Map<string, AllocContext>();
  private readonly maxRetries: number;
  private readonly maxBatch: number;
  private readonly contextCacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly ds: Datastore,
    opts: IpamOptions = {},
  ) {
    this.maxRetries = opts.maxRetries ?? 100;
    this.maxBatch = Math.max(1, Math.min(opts.maxBatch ?? 32, 50));
    this.contextCacheMs = opts.contextCacheMs ?? 0;
    this.now = opts.now ?? Date.now;
  }

  assign(r: AssignRequest): Promise<Assigned[]> {
    const num4 = r.num4 ?? 0;
    const num6 = r.num6 ?? 0;
    if (!r.node) return Promise.reject(new IpamRequestError('allocation request has no node name'));
    if (!r.handleID) return Promise.reject(new IpamRequestError(`allocation request for node ${r.node} has no handle id`));
    for (const [f, n] of [[4, num4], [6, num6]] as const) {
      if (!Number.isInteger(n) || n < 0 || n > 256) {
        return Promise.reject(new IpamRequestError(`num${f} must be an integer 0..256 (got ${String(n)})`));
      }
    }
    if (num4 + num6 === 0) {
      return Promise.reject(new IpamRequestError(`allocation request for handle ${r.handleID} asks for no address (num4 and num6 are 0)`));
    }
    const secondary: Secondary = {};
    for (const [k, v] of Object.entries(r.attrs ?? {})) if (typeof v === 'string') secondary[k] = v;
    if (secondary.node === undefined) secondary.node = r.node;
    if (secondary.timestamp === undefined) secondary.timestamp = new Date(this.now()).toISOString();
    return new Promise<Assigned[]>((resolve, reject) => {
      const host = this.host(r.node);
      const p: Pending = {
        req: { node: r.node, handleID: r.handleID, want: { 4: num4, 6: num6 }, secondary, pools: r.pools },
        handle: undefined,
        settled: false,
        resolve: (v) => {
          p.settled = true;
          resolve(v);
        },
        reject: (e) => {
          p.settled = true;
          reject(e);
        },
      };
      host.queue.push(p);
      if (!host.running) {
        // Start on the next turn of the event loop, so requests made in the same turn (e.g. by
        // callers whose previous allocation just completed together) share one transaction.
        host.running = true;
        setImmediate(() => void this.drain(host));
      }
    });
  }

  /** Forgets cached blocks of a host (e.g. after its affinities were changed elsewhere). */
  forgetHost(node: string): void {
    const h = this.hosts.get(node);
    if (h) h.blocks = undefined;
    this.contexts.delete(node);
  }

  private host(node: string): HostState {
    let h = this.hosts.get(node);
    if (!h) {
      h = { node, queue: [], running: false, blocks: undefined };
      this.hosts.set(node, h);
    }
    return h;
  }

  private async drain(host: HostState): Promise<void> {
    try {
      while (host.queue.length > 0) {
        const batch = host.queue.splice(0, this.maxBatch);
        await this.runBatch(host, batch);
      }
    } finally {
      host.running = false;
    }
  }

  private async runBatch(host: HostState, batch: Pending[]): Promise<void> {
    let live = batch;
    let ctx: AllocContext;
    try {
      ctx = await this.context(host.node);
    } catch (e) {
      for (const p of live) p.reject(e);
      return;
    }
    for (let attempt = 0; attempt < this.maxRetries; attempt++) {
      live = live.filter((p) => !p.settled);
      if (live.length === 0) return;
      if (attempt > 0) await backoff(attempt);
      try {
        if (!host.blocks) await this.loadHostBlocks(host);
        const planned = await this.plan(host, live, ctx);
        live = planned.map((x) => x.p);
        if (planned.length === 0) return;
        const ops = this.ops(planned);
        const results = await this.ds.txn(ops.ops);
        this.settle(host, planned, ops.blocks, results, ctx);
        return;
      } catch (e) {
        if (e instanceof StaleContext) {
          this.contexts.delete(host.node);
          try {
            ctx = await this.context(host.node);
          } catch (e2) {
            for (const p of live) if (!p.settled) p.reject(e2);
            return;
          }
          continue;
        }
        let recovered = false;
        try {
          recovered = await this.recover(host, live, e);
        } catch (e2) {
          e = e2;
        }
        if (!recovered) {
          for (const p of live) if (!p.settled) p.reject(e);
          return;
        }
      }
    }
    const err = new IpamConflictError(`allocating for node ${host.node}`, this.maxRetries);
    for (const p of live) if (!p.settled) p.reject(err);
  }

  private async context(node: string): Promise<AllocContext> {
    const cached = this.contexts.get(node);
    const t = Date.now();
    if (cached && t - cached.at < this.contextCacheMs) return { ...cached, cached: true };
    const [pools, cfg] = await Promise.all([
      loadPools(this.ds),
      this.ds.get<IPAMConfigResource>({ kind: 'IPAMConfig', name: 'default' }),
    ]);
    let labels: Labels = {};
    if (pools.pools.some((p) => p.nodeSelector !== undefined)) {
      const n = await this.ds.get<NodeResource>({ kind: 'Node', name: node });
      labels = n?.metadata.labels ?? {};
    }
    const ctx: AllocContext = { at: t, pools: pools.pools, invalid: pools.invalid, config: readConfig(cfg?.spec), labels };
    this.contexts.set(node, ctx);
    return ctx;
  }

  private async loadHostBlocks(host: HostState): Promise<void> {
    const { items, revision } = await this.ds.list<BlockAffinityResource>({ kind: 'BlockAffinity', namePrefix: `${host.node}-` });
    host.affinityRevision = revision;
    const mine = items.filter((a) => a.spec.node === host.node && a.spec.state !== 'pendingDeletion');
    const blocks = await Promise.all(
      mine.map((a) => this.ds.get<IPAMBlockResource>({ kind: 'IPAMBlock', name: blockName(a.spec.cidr) })),
    );
    const m = new Map<string, IPAMBlockResource>();
    for (const b of blocks) if (b && isLiveHostBlock(b, host.node)) m.set(b.metadata.name, b);
    host.blocks = m;
  }

  /** The pools a request may use for one family, in order, and the ones it may not (with why). */
  private usablePools(ctx: AllocContext, node: string, family: IpFamily, restrict: string[] | undefined): { usable: IpamPool[]; skipped: SkippedPool[] } {
    const skipped: SkippedPool[] = [];
    let candidates: IpamPool[];
    if (restrict && restrict.length > 0) {
      candidates = [];
      for (const want of restrict) {
        let p = ctx.pools.find((x) => x.name === want);
        if (!p) {
          try {
            const c = formatCidr(parseCidr(want));
            p = ctx.pools.find((x) => x.cidrText === c);
          } catch {
            // not a CIDR either
          }
        }
        if (!p) {
          const bad = ctx.invalid.find((x) => x.name === want);
          if (bad) throw new IpamRequestError(`IP pool "${want}" cannot be used: ${bad.reason}`);
          throw new NoSuchPoolError(want, ctx.pools.map((x) => `${x.name} (${x.cidrText})`));
        }
        if (p.family === family && !candidates.includes(p)) candidates.push(p);
      }
    } else {
      candidates = ctx.pools.filter((p) => p.family === family);
      for (const bad of ctx.invalid) skipped.push({ pool: bad.name, cidr: '?', reason: `invalid: ${bad.reason}` });
    }
    const usable: IpamPool[] = [];
    for (const p of candidates) {
      if (p.disabled) skipped.push({ pool: p.name, cidr: p.cidrText, reason: 'disabled' });
      else if (!poolMatchesNode(p, ctx.labels)) {
        skipped.push({ pool: p.name, cidr: p.cidrText, reason: `nodeSelector "${p.nodeSelector ?? ''}" does not match node ${node}` });
      } else usable.push(p);
    }
    return { usable, skipped };
  }

  private async plan(host: HostState, live: Pending[], ctx: AllocContext): Promise<Planned[]> {
    const node = host.node;
    const work = new Map<string, WorkBlock>();
    const addWork = (res: IPAMBlockResource, own: boolean): void => {
      if (work.has(res.metadata.name)) return;
      // The spec is shared with the cache until this plan allocates from it (then it is cloned).
      work.set(res.metadata.name, { res, spec: res.spec, cidr: parseCidr(res.spec.cidr), own, changed: false });
    };
    for (const b of host.blocks?.values() ?? []) addWork(b, true);
    let reloaded = false;
    let all: IPAMBlockResource[] | undefined;
    const allBlocks = async (): Promise<IPAMBlockResource[]> => {
      all ??= (await this.ds.list<IPAMBlockResource>({ kind: 'IPAMBlock' })).items;
      return all;
    };
    const inPools = (wb: WorkBlock, pools: IpamPool[]): boolean => pools.some((p) => p.family === wb.cidr.family && poolOfCidr([p], wb.cidr) !== undefined);
    const freeOf = (own: boolean, pools: IpamPool[]): number => {
      let n = 0;
      for (const wb of work.values()) if (wb.own === own && inPools(wb, pools)) n += freeCount(wb.spec);
      return n;
    };

    const out: Planned[] = [];
    for (const p of live) {
      try {
        const usableBy = new Map<IpFamily, IpamPool[]>();
        for (const f of FAMILIES) {
          const want = p.req.want[f];
          if (want === 0) continue;
          const { usable, skipped } = this.usablePools(ctx, node, f, p.req.pools);
          usableBy.set(f, usable);
          let own = freeOf(true, usable);
          let claimBlocked: string | undefined;
          while (own < want && usable.length > 0) {
            if (!reloaded) {
              // Another process of this host may have claimed a block since we cached ours.
              reloaded = true;
              await this.loadHostBlocks(host);
              for (const b of host.blocks?.values() ?? []) {
                const wb = work.get(b.metadata.name);
                if (!wb) addWork(b, true);
                else if (wb.res.metadata.resourceVersion !== b.metadata.resourceVersion) {
                  // Our cached copy was stale. If this batch already planned on it, start over.
                  if (wb.changed) throw new ConflictError({ kind: 'IPAMBlock', name: b.metadata.name }, wb.res.metadata.resourceVersion, b.metadata.resourceVersion);
                  work.delete(b.metadata.name);
                  addWork(b, true);
                }
              }
              own = freeOf(true, usable);
              continue;
            }
            const claimed = await this.claimBlock(host, f, usable, ctx, await allBlocks());
            if (typeof claimed === 'string') {
              claimBlocked = claimed;
              break;
            }
            all?.push(claimed);
            addWork(claimed, true);
            own = freeOf(true, usable);
          }
          if (own >= want) continue;
          let other = 0;
          if (!ctx.config.strictAffinity && usable.length > 0) {
            for (const b of await allBlocks()) {
              if (b.spec.deleted === true || b.spec.affinity === hostAffinity(node) || freeCount(b.spec) === 0) continue;
              const wb = work.get(b.metadata.name);
              if (!wb) addWork(b, false);
            }
            other = freeOf(false, usable);
          }
          if (own + other < want) {
            throw this.exhausted(node, f, usable, skipped, ctx, await allBlocks(), claimBlocked);
          }
        }
        // Capacity is there: take the addresses (own blocks first, then borrowed).
        const allocs: Planned['allocs'] = [];
        for (const f of FAMILIES) {
          let want = p.req.want[f];
          if (want === 0) continue;
          const usable = usableBy.get(f) ?? [];
          const ordered = [...work.values()]
            .filter((wb) => inPools(wb, usable) && freeCount(wb.spec) > 0)
            .sort((a, b) => Number(b.own) - Number(a.own) || (a.cidr.addr < b.cidr.addr ? -1 : a.cidr.addr > b.cidr.addr ? 1 : 0));
          for (const wb of ordered) {
            if (want === 0) break;
            if (!wb.changed) wb.spec = cloneSpec(wb.res.spec);
            const got = allocateOrdinals(wb.spec, want, p.req.handleID, p.req.secondary);
            wb.changed = true;
            for (const g of got) allocs.push({ wb, ordinal: g.ordinal, sequence: g.sequence });
            want -= got.length;
          }
        }
        out.push({ p, allocs });
      } catch (e) {
        // Only a problem of this request ends it here; anything else aborts the whole batch.
        if (!(e instanceof PoolExhaustedError || e instanceof NoSuchPoolError || e instanceof IpamRequestError)) throw e;
        // A cached view of the pools may be what is wrong (a pool created a moment ago): replan
        // the batch with a fresh one before telling the caller.
        if (ctx.cached) throw new StaleContext();
        p.reject(e);
      }
    }
    return out;
  }

  /** Claims a new block for the host; returns it, or a reason why none could be claimed. */
  private async claimBlock(
    host: HostState,
    family: IpFamily,
    usable: IpamPool[],
    ctx: AllocContext,
    existing: IPAMBlockResource[],
  ): Promise<IPAMBlockResource | string> {
    const node = host.node;
    if (!ctx.config.autoAllocateBlocks) return 'IPAMConfig autoAllocateBlocks is false, so no new block is claimed';
    const held = host.blocks?.size ?? 0;
    if (ctx.config.maxBlocksPerHost > 0 && held >= ctx.config.maxBlocksPerHost) {
      return `node ${node} already holds ${held} block(s), the IPAMConfig maxBlocksPerHost limit`;
    }
    // A block another process of this host claimed since we read the host's affinities is as
    // good as a new one (and saves a block).
    for (const b of existing) {
      if (!isLiveHostBlock(b, node) || host.blocks?.has(b.metadata.name) || freeCount(b.spec) === 0) continue;
      let c: Cidr;
      try {
        c = parseCidr(b.spec.cidr);
      } catch {
        continue;
      }
      if (c.family === family && poolOfCidr(usable, c) !== undefined) {
        (host.blocks ??= new Map()).set(b.metadata.name, b);
        return b;
      }
    }
    const taken = new Set<string>();
    const odd: Cidr[] = [];
    for (const b of existing) {
      taken.add(b.spec.cidr);
      try {
        odd.push(parseCidr(b.spec.cidr));
      } catch {
        // ignore unparsable blocks
      }
    }
    for (const pool of usable) {
      if (pool.family !== family) continue;
      const others = odd.filter((c) => c.family === family && c.prefixLength !== pool.blockSize && cidrsOverlap(c, pool.cidr));
      const gen = subnets(pool.cidr, pool.blockSize);
      // A window of free candidates, refilled lazily (an IPv6 pool has more blocks than we could list).
      const window: Cidr[] = [];
      const refill = (): void => {
        while (window.length < CLAIM_WINDOW) {
          const n = gen.next();
          if (n.done) return;
          const text = formatCidr(n.value);
          if (taken.has(text) || others.some((c) => cidrsOverlap(c, n.value))) continue;
          window.push(n.value);
        }
      };
      let lost = false;
      for (refill(); window.length > 0; refill()) {
        // The first try takes the lowest free block. After losing a race, pick at random among the
        // next free ones, so a crowd of hosts starting together does not queue up block by block.
        const i = lost ? Math.floor(Math.random() * window.length) : 0;
        const cand = window.splice(i, 1)[0] as Cidr;
        const text = formatCidr(cand);
        const block: IPAMBlockResource = {
          apiVersion: API_VERSION,
          kind: 'IPAMBlock',
          metadata: { name: blockName(text) },
          spec: newBlockSpec(cand, hostAffinity(node), ctx.config.strictAffinity),
        };
        const affinity: BlockAffinityResource = {
          apiVersion: API_VERSION,
          kind: 'BlockAffinity',
          metadata: { name: affinityName(node, text) },
          spec: { node, cidr: text, state: 'confirmed' },
        };
        try {
          // Guarded by the host's affinities as last read: had another process of this host
          // claimed a block since, this claim fails (GuardConflictError) and the batch starts
          // over with that block — a host never claims two blocks where one suffices, nor goes
          // past maxBlocksPerHost.
          const guard = host.affinityRevision !== undefined ? { guards: [{ kind: 'BlockAffinity' as const, namePrefix: `${node}-`, revision: host.affinityRevision }] } : {};
          const [stored] = await this.ds.txn(
            [
              { op: 'create', resource: block },
              { op: 'upsert', resource: affinity },
            ],
            guard,
          );
          const b = stored as IPAMBlockResource;
          (host.blocks ??= new Map()).set(b.metadata.name, b);
          // The guard held: nothing else changed the host's affinities before this write.
          if (b.metadata.resourceVersion !== undefined) host.affinityRevision = b.metadata.resourceVersion;
          return b;
        } catch (e) {
          if (!(e instanceof AlreadyExistsError)) throw e;
          taken.add(text);
          lost = true;
          // Another process of this same host may have won the race for this block: then it
          // is ours to use, and claiming a second block would only waste addresses.
          const b = await this.ds.get<IPAMBlockResource>({ kind: 'IPAMBlock', name: blockName(text) });
          if (b && isLiveHostBlock(b, node)) {
            (host.blocks ??= new Map()).set(b.metadata.name, b);
            return b;
          }
          // another host won it: try another
        }
      }
    }
    return '';
  }

  private exhausted(
    node: string,
    family: IpFamily,
    usable: IpamPool[],
    skipped: SkippedPool[],
    ctx: AllocContext,
    blocks: IPAMBlockResource[],
    claimBlocked: string | undefined,
  ): PoolExhaustedError {
    const tried: PoolFullness[] = [];
    let freeOther = 0;
    for (const pool of usable) {
      const f: PoolFullness = {
        pool: pool.name,
        cidr: pool.cidrText,
        totalAddresses: countValue(poolAddressCount(pool)),
        inUse: 0,
        blocksClaimed: 0,
        blocksTotal: countValue(poolBlockCount(pool)),
        freeInOwnBlocks: 0,
        freeInOtherBlocks: 0,
      };
      for (const b of blocks) {
        let c: Cidr;
        try {
          c = parseCidr(b.spec.cidr);
        } catch {
          continue;
        }
        if (poolOfCidr([pool], c) === undefined) continue;
        f.blocksClaimed++;
        const free = freeCount(b.spec);
        f.inUse += b.spec.allocations.length - free;
        if (b.spec.affinity === hostAffinity(node)) f.freeInOwnBlocks += free;
        else f.freeInOtherBlocks += free;
      }
      freeOther += f.freeInOtherBlocks;
      tried.push(f);
    }
    const notes: string[] = [];
    if (claimBlocked) notes.push(`no new block: ${claimBlocked}`);
    if (ctx.config.strictAffinity && freeOther > 0) {
      notes.push(`${freeOther} address(es) are free in other hosts' blocks, but IPAMConfig strictAffinity is on, so they are not borrowed`);
    }
    return new PoolExhaustedError(node, family, tried, skipped, notes);
  }

  private ops(planned: Planned[]): { ops: TxnOp[]; blocks: WorkBlock[] } {
    const ops: TxnOp[] = [];
    const blocks: WorkBlock[] = [];
    const seen = new Set<WorkBlock>();
    for (const x of planned) {
      for (const a of x.allocs) {
        if (seen.has(a.wb)) continue;
        seen.add(a.wb);
        blocks.push(a.wb);
        ops.push({ op: 'update', resource: { ...a.wb.res, spec: a.wb.spec }, revision: a.wb.res.metadata.resourceVersion ?? '' });
      }
    }
    // One handle op per handle id (several requests may share one).
    const byHandle = new Map<string, Planned[]>();
    for (const x of planned) {
      const g = byHandle.get(x.p.req.handleID);
      if (g) g.push(x);
      else byHandle.set(x.p.req.handleID, [x]);
    }
    for (const [handleID, group] of byHandle) {
      const existing = group.map((x) => x.p.handle).find((h) => h) ?? undefined;
      const counts: Record<string, number> = { ...(existing?.spec.block ?? {}) };
      for (const x of group) for (const a of x.allocs) counts[a.wb.spec.cidr] = (counts[a.wb.spec.cidr] ?? 0) + 1;
      if (existing) {
        ops.push({
          op: 'update',
          resource: { ...existing, spec: { handleID, block: counts } },
          revision: existing.metadata.resourceVersion ?? '',
        });
      } else {
        ops.push({
          op: 'create',
          resource: { apiVersion: API_VERSION, kind: 'IPAMHandle', metadata: { name: handleName(handleID) }, spec: { handleID, block: counts } },
        });
      }
    }
    return { ops, blocks };
  }

  private settle(host: HostState, planned: Planned[], blocks: WorkBlock[], results: Resource[], ctx: AllocContext): void {
    blocks.forEach((wb, i) => {
      const stored = results[i] as IPAMBlockResource | undefined;
      if (stored && wb.own) host.blocks?.set(stored.metadata.name, stored);
    });
    for (const x of planned) {
      x.p.resolve(
        x.allocs.map((a) => {
          const ip = ipAt(a.wb.spec, a.ordinal, a.wb.cidr);
          const owner = affinityHost(a.wb.spec.affinity);
          return {
            ip,
            family: a.wb.cidr.family,
            cidr: `${ip}/${a.wb.cidr.family === 4 ? 32 : 128}`,
            pool: poolOfCidr(ctx.pools, a.wb.cidr)?.name ?? '',
            block: a.wb.spec.cidr,
            blockOwner: owner,
            borrowed: owner !== host.node,
            handleID: x.p.req.handleID,
            sequence: a.sequence,
          };
        }),
      );
    }
  }

  /** After a failed transaction: refresh what was stale. False when the error is not a CAS failure. */
  private async recover(host: HostState, live: Pending[], e: unknown): Promise<boolean> {
    if (!(e instanceof ConflictError || e instanceof NotFoundError || e instanceof AlreadyExistsError)) return false;
    const key = e.key;
    if (key.kind === 'IPAMBlock') {
      if (host.blocks?.has(key.name)) {
        const b = await this.ds.get<IPAMBlockResource>({ kind: 'IPAMBlock', name: key.name });
        if (b && isLiveHostBlock(b, host.node)) host.blocks.set(key.name, b);
        else host.blocks.delete(key.name);
      }
      return true;
    }
    if (key.kind === 'IPAMHandle') {
      const h = await this.ds.get<IPAMHandleResource>({ kind: 'IPAMHandle', name: key.name });
      for (const p of live) if (handleName(p.req.handleID) === key.name) p.handle = h ?? null;
      return true;
    }
    return key.kind === 'BlockAffinity';
  }
}
