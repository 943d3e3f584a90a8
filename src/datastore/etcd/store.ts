// The etcd backend. Keys `/twill/v1/<Kind>/[<namespace>/]<name>`, JSON values; resourceVersion is
// the key's mod_revision. Every write is one etcd transaction whose compares are the write's
// preconditions; when it fails, the same transaction reads the keys back so the caller gets the
// typed error of the first op that failed, at no extra round trip.

import type { Etcd3, ICompare, IKeyValue, IRequestOp, IResponseHeader, ITxnResponse, KVClient } from 'etcd3';
import { isNamespaced, type Resource, type ResourceKey } from '../../api/types.js';
import {
  AlreadyExistsError,
  BackendError,
  ClosedError,
  ConflictError,
  GuardConflictError,
  InvalidTxnError,
  NotFoundError,
} from '../errors.js';
import {
  casRevision,
  filterNamespace,
  keyPath,
  listPrefix,
  matchesFilter,
  newIdentity,
  normalizeKey,
  parsePath,
  resourceKey,
  sortResources,
  type Identity,
} from '../keys.js';
import type {
  Datastore,
  ListOptions,
  ListResult,
  CorruptValue,
  TxnGuard,
  TxnOp,
  TxnOptions,
  WatchEvent,
  WatchOptions,
  Watcher,
  WriteOptions,
} from '../types.js';
import { CallTimeout, isUnreachable, neverSent, toTwillError, unreachable } from './client.js';
import { decode, encode, IdentityCache, identityOf } from './codec.js';
import { EtcdWatch } from './watch.js';

/** etcd's default --max-txn-ops. */
export const MAX_TXN_OPS = 128;
const PAGE = 1000;
const MAX_RACE_RETRIES = 50;

/** The end of the key range covering every key that starts with `prefix`. */
/** The key range a guard covers (a namespaced kind is guarded whole: names are per namespace). */
function guardRange(g: TxnGuard): { guard: TxnGuard; start: Buffer; end: Buffer; after: number } {
  const after = Number(g.revision);
  if (!Number.isSafeInteger(after) || after < 0) throw new InvalidTxnError(`guard revision "${g.revision}" is not an etcd revision`);
  const start = Buffer.from(isNamespaced(g.kind) ? listPrefix(g.kind) : listPrefix(g.kind, undefined, g.namePrefix));
  return { guard: g, start, end: prefixEnd(start), after };
}

export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

interface PreparedOp {
  readonly op: TxnOp;
  readonly key: ResourceKey;
  readonly path: string;
  readonly buf: Buffer;
  /** The CAS revision for update/delete. */
  readonly rev: string | undefined;
}

/** What the store held for each key of a transaction, read at one revision. */
type KeyState = Map<string, IKeyValue | undefined>;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class EtcdDatastore implements Datastore {
  private readonly kv: KVClient;
  private readonly cache = new IdentityCache();
  private readonly watchers = new Set<EtcdWatch>();
  private closed = false;
  private clusterId: string | undefined;
  private maxRevision = 0;

  constructor(
    readonly location: string,
    private readonly client: Etcd3,
    private readonly timeoutMs: number,
    private readonly endpointCount: number,
  ) {
    this.kv = client.kv;
  }

  // --- plumbing --------------------------------------------------------------------------------

  /**
   * Runs one etcd call with a deadline. Reads are retried while etcd is unreachable (another
   * endpoint may answer); writes only when the request certainly never left this process.
   */
  private async call<T>(fn: () => Promise<T>, idempotent: boolean): Promise<T> {
    if (this.closed) throw new ClosedError(this.location);
    const deadline = Date.now() + this.timeoutMs;
    const attempts = Math.max(2, this.endpointCount + 1);
    for (let attempt = 1; ; attempt++) {
      const remaining = deadline - Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        return await Promise.race([
          fn(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new CallTimeout(this.timeoutMs)), Math.max(remaining, 1) + 250);
          }),
        ]);
      } catch (e) {
        if (!isUnreachable(e)) throw toTwillError(this.location, e);
        const retry = (idempotent || neverSent(e)) && attempt < attempts && Date.now() + 50 < deadline;
        if (!retry) throw unreachable(this.location, e);
        await sleep(50 * attempt);
        if (this.closed) throw new ClosedError(this.location);
      } finally {
        if (timer) clearTimeout(timer);
      }
    }
  }

  /** Forget cached identities if we are talking to a different (or restored) cluster. */
  private observe(h: IResponseHeader): void {
    const rev = Number(h.revision);
    if ((this.clusterId !== undefined && h.cluster_id !== this.clusterId) || rev < this.maxRevision) this.cache.clear();
    this.clusterId = h.cluster_id;
    this.maxRevision = rev;
  }

  private decode(kv: IKeyValue): Resource {
    const r = decode(this.location, kv);
    this.cache.remember(kv.key.toString(), kv.mod_revision, identityOf(r));
    return r;
  }

  /** Checks the connection: resolves when etcd answers, else UnreachableError. */
  async ping(): Promise<void> {
    const res = await this.call(() => this.kv.range({ key: Buffer.from('/twill/v1/'), keys_only: true, limit: 1 }), true);
    this.observe(res.header);
  }

  // --- reads -----------------------------------------------------------------------------------

  async get<R extends Resource = Resource>(key: ResourceKey): Promise<R | undefined> {
    const path = keyPath(normalizeKey(key));
    const res = await this.call(() => this.kv.range({ key: Buffer.from(path) }), true);
    this.observe(res.header);
    const kv = res.kvs[0];
    return kv ? (this.decode(kv) as R) : undefined;
  }

  async list<R extends Resource = Resource>(opts: ListOptions): Promise<ListResult<R>> {
    const ns = filterNamespace(opts.kind, opts.namespace);
    const start = Buffer.from(listPrefix(opts.kind, ns, opts.namePrefix));
    const end = prefixEnd(start);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.listRange<R>(start, end, opts);
      } catch (e) {
        // A later page's revision was compacted while we paged: start over.
        if (attempt < 3 && e instanceof BackendError && /compacted/i.test(e.message)) continue;
        throw e;
      }
    }
  }

  private async listRange<R extends Resource>(start: Buffer, end: Buffer, opts: ListOptions): Promise<ListResult<R>> {
    const items: R[] = [];
    const corrupt: CorruptValue[] = [];
    let revision: string | undefined;
    let from = start;
    for (;;) {
      const req = { key: from, range_end: end, limit: PAGE, revision: revision ?? 0 };
      const res = await this.call(() => this.kv.range(req), true);
      this.observe(res.header);
      revision ??= res.header.revision;
      for (const kv of res.kvs) {
        const key = parsePath(kv.key.toString());
        if (!key || !matchesFilter(key, opts)) continue;
        try {
          items.push(this.decode(kv) as R);
        } catch (e) {
          // One bad value must not hide every good one: skip it and say which.
          if (!(e instanceof BackendError)) throw e;
          corrupt.push({ key, path: kv.key.toString(), message: e.message });
        }
      }
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last) break;
      from = Buffer.concat([last.key, Buffer.from([0])]);
    }
    const sorted = sortResources(items);
    return corrupt.length > 0 ? { items: sorted, revision, corrupt } : { items: sorted, revision };
  }

  // --- writes ----------------------------------------------------------------------------------

  async create<R extends Resource>(resource: R): Promise<R> {
    return (await this.txn([{ op: 'create', resource }]))[0] as R;
  }

  async update<R extends Resource>(resource: R, opts?: WriteOptions): Promise<R> {
    return (await this.txn([{ op: 'update', resource, revision: casRevision(opts?.revision, resource) }]))[0] as R;
  }

  async upsert<R extends Resource>(resource: R): Promise<R> {
    return (await this.txn([{ op: 'upsert', resource }]))[0] as R;
  }

  async delete(key: ResourceKey, opts?: WriteOptions): Promise<Resource> {
    return (await this.txn([{ op: 'delete', key, revision: opts?.revision }]))[0] as Resource;
  }

  async txn(ops: TxnOp[], opts: TxnOptions = {}): Promise<Resource[]> {
    if (this.closed) throw new ClosedError(this.location);
    if (ops.length === 0) return [];
    if (ops.length > MAX_TXN_OPS) {
      throw new InvalidTxnError(`a transaction may hold at most ${MAX_TXN_OPS} ops (got ${ops.length})`);
    }
    const prepared = this.prepare(ops);
    // Ops that cannot be written without knowing the stored object (its identity or revision)
    // need one read first; everything else goes straight to the transaction.
    const needsRead = prepared.some(
      (p) => p.op.op === 'upsert' || (p.op.op === 'update' && (p.rev === undefined || !this.cache.lookup(p.path, p.rev))),
    );
    let state = needsRead ? await this.readKeys(prepared) : undefined;
    const guards = (opts.guards ?? []).map((g) => guardRange(g));
    for (let attempt = 0; attempt < MAX_RACE_RETRIES; attempt++) {
      if (state) this.check(prepared, state);
      const built = this.build(prepared, state);
      // Guards: every key in the range last modified at or before the revision (etcd compares a
      // range key by key; an empty range passes). On failure, count what changed since.
      for (const g of guards) {
        built.request.compare.push({ key: g.start, range_end: g.end, target: 'Mod', result: 'Less', mod_revision: String(g.after + 1) });
        built.request.failure.push({ request_range: { key: g.start, range_end: g.end, min_mod_revision: String(g.after + 1), count_only: true } });
      }
      const res = await this.call(() => this.kv.txn(built.request), false);
      this.observe(res.header);
      if (res.succeeded) return this.results(prepared, built.encoded, res);
      guards.forEach((g, j) => {
        if (Number(res.responses[prepared.length + j]?.response_range?.count ?? 0) > 0) throw new GuardConflictError(g.guard);
      });
      state = this.stateFrom(prepared, res);
      this.check(prepared, state);
      // Every op's own precondition holds, so a revision we pinned after the read moved: retry.
    }
    throw new BackendError(this.location, `gave up after ${MAX_RACE_RETRIES} attempts: the objects keep changing`, {
      hint: 'another writer is updating the same objects continuously; retry later',
    });
  }

  private prepare(ops: TxnOp[]): PreparedOp[] {
    const seen = new Set<string>();
    return ops.map((op) => {
      const key = op.op === 'delete' ? normalizeKey(op.key) : resourceKey(op.resource);
      const path = keyPath(key);
      if (seen.has(path)) throw new InvalidTxnError(`transaction touches ${path} more than once`);
      seen.add(path);
      const rev = op.op === 'update' ? casRevision(op.revision, op.resource) : op.op === 'delete' ? op.revision : undefined;
      return { op, key, path, buf: Buffer.from(path), rev };
    });
  }

  private async readKeys(ops: PreparedOp[]): Promise<KeyState> {
    const request = { success: ops.map((p): IRequestOp => ({ request_range: { key: p.buf } })) };
    const res = await this.call(() => this.kv.txn(request), true);
    this.observe(res.header);
    return this.stateFrom(ops, res);
  }

  private stateFrom(ops: PreparedOp[], res: ITxnResponse): KeyState {
    const state: KeyState = new Map();
    ops.forEach((p, i) => {
      const kv = res.responses[i]?.response_range?.kvs[0];
      if (kv) this.cache.remember(p.path, kv.mod_revision, identityOf(decode(this.location, kv)));
      state.set(p.path, kv);
    });
    return state;
  }

  /** Throws the typed error of the first op whose precondition fails against `state`. */
  private check(ops: PreparedOp[], state: KeyState): void {
    for (const p of ops) {
      const kv = state.get(p.path);
      switch (p.op.op) {
        case 'create':
          if (kv) throw new AlreadyExistsError(p.key);
          break;
        case 'update':
        case 'delete':
          if (!kv) throw new NotFoundError(p.key);
          if (p.rev !== undefined && p.rev !== kv.mod_revision) throw new ConflictError(p.key, p.rev, kv.mod_revision);
          break;
        case 'upsert':
          break;
      }
    }
  }

  private build(
    ops: PreparedOp[],
    state: KeyState | undefined,
  ): { request: { compare: ICompare[]; success: IRequestOp[]; failure: IRequestOp[] }; encoded: (Resource | undefined)[] } {
    const compare: ICompare[] = [];
    const success: IRequestOp[] = [];
    const encoded: (Resource | undefined)[] = [];
    const missing = (p: PreparedOp): ICompare => ({ key: p.buf, target: 'Create', result: 'Equal', create_revision: 0 });
    const atRev = (p: PreparedOp, rev: string): ICompare => ({ key: p.buf, target: 'Mod', result: 'Equal', mod_revision: rev });
    const put = (p: PreparedOp, r: Resource, id: Identity): void => {
      const e = encode(r, p.key, id);
      success.push({ request_put: { key: p.buf, value: e.value } });
      encoded.push(e.resource);
    };
    const stored = (p: PreparedOp): IKeyValue => {
      const kv = state?.get(p.path);
      if (!kv) throw new NotFoundError(p.key); // check() ran before: cannot happen
      return kv;
    };
    for (const p of ops) {
      const op = p.op;
      switch (op.op) {
        case 'create':
          compare.push(missing(p));
          put(p, op.resource, newIdentity());
          break;
        case 'update': {
          const cached = p.rev !== undefined ? this.cache.lookup(p.path, p.rev) : undefined;
          if (cached) {
            compare.push(atRev(p, p.rev as string));
            put(p, op.resource, cached);
          } else {
            const kv = stored(p);
            compare.push(atRev(p, kv.mod_revision));
            put(p, op.resource, identityOf(decode(this.location, kv)));
          }
          break;
        }
        case 'upsert': {
          const kv = state?.get(p.path);
          if (kv) {
            compare.push(atRev(p, kv.mod_revision));
            put(p, op.resource, identityOf(decode(this.location, kv)));
          } else {
            compare.push(missing(p));
            put(p, op.resource, newIdentity());
          }
          break;
        }
        case 'delete':
          compare.push({ key: p.buf, target: 'Version', result: 'Greater', version: 0 });
          if (p.rev !== undefined) compare.push(atRev(p, p.rev));
          success.push({ request_delete_range: { key: p.buf, prev_kv: true } });
          encoded.push(undefined);
          break;
      }
    }
    const failure = ops.map((p): IRequestOp => ({ request_range: { key: p.buf } }));
    return { request: { compare, success, failure }, encoded };
  }

  private results(ops: PreparedOp[], encoded: (Resource | undefined)[], res: ITxnResponse): Resource[] {
    const revision = res.header.revision;
    return ops.map((p, i) => {
      const r = encoded[i];
      if (r) {
        r.metadata.resourceVersion = revision;
        this.cache.remember(p.path, revision, identityOf(r));
        return r;
      }
      this.cache.forget(p.path);
      const prev = res.responses[i]?.response_delete_range?.prev_kvs[0];
      if (!prev) throw new BackendError(this.location, `etcd did not return the deleted ${p.path}`);
      return decode(this.location, prev);
    });
  }

  // --- watch -----------------------------------------------------------------------------------

  watch(opts: WatchOptions, handler: (ev: WatchEvent) => void): Watcher {
    if (this.closed) throw new ClosedError(this.location);
    let after: number | undefined;
    if (opts.afterRevision !== undefined) {
      after = Number(opts.afterRevision);
      if (!Number.isSafeInteger(after) || after < 0) {
        const reason = `"${opts.afterRevision}" is not an etcd revision`;
        queueMicrotask(() => handler({ type: 'resync', reason }));
        return { close: () => Promise.resolve() };
      }
    }
    const ns = filterNamespace(opts.kind, opts.namespace);
    const start = Buffer.from(listPrefix(opts.kind, ns));
    const filter = { kind: opts.kind, namespace: ns };
    const w = new EtcdWatch({
      watchClient: this.client.watchClient,
      location: this.location,
      start,
      end: prefixEnd(start),
      accept: (k) => matchesFilter(k, filter),
      afterRevision: after,
      handler,
      onClosed: (x) => this.watchers.delete(x),
    });
    this.watchers.add(w);
    return w;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const w of [...this.watchers]) await w.close();
    this.closed = true;
    this.client.close();
  }
}
