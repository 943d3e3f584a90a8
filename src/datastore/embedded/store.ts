// The embedded datastore: every object in a Map, one global revision counter (like etcd's), a
// bounded history of changes for watches, and an optional persister that makes each write durable
// before it becomes visible. The `memory:` backend is this with no persister; `file:` adds one.

import type { Resource, ResourceKey } from '../../api/types.js';
import {
  GuardConflictError,
  AlreadyExistsError,
  ClosedError,
  ConflictError,
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
  resourceKey,
  sortResources,
  stamp,
  type Identity,
} from '../keys.js';
import type {
  Datastore,
  ListOptions,
  ListResult,
  TxnGuard,
  TxnOp,
  TxnOptions,
  WatchEvent,
  WatchOptions,
  Watcher,
  WriteOptions,
} from '../types.js';

/** One stored object: its JSON (with resourceVersion set) and the revisions that wrote it. */
export interface StoredEntry {
  readonly key: ResourceKey;
  readonly path: string;
  readonly json: string;
  /** Revision of the last write (= resourceVersion). */
  readonly mod: number;
  /** Revision of the create. */
  readonly create: number;
}

/** What a persister is asked to store: the whole state after a write. */
export interface Snapshot {
  readonly revision: number;
  readonly entries: Iterable<StoredEntry>;
}

export interface Persister {
  /** Durably replace the stored state with this one; reject if it could not be stored. */
  save(snapshot: Snapshot): Promise<void>;
  close(): Promise<void>;
}

export interface EmbeddedOptions {
  location: string;
  persister?: Persister;
  /** Initial contents (loaded from a file). */
  initial?: Snapshot;
  /**
   * The initial entries' resources, already parsed from their JSON and shared with no one, by
   * path: the first read of each hands that object out instead of parsing a copy (a one-shot
   * reader of a big file store parses each object once, not twice).
   */
  initialResources?: Map<string, Resource>;
  /** How many change events are kept for watches that start in the past. Default 10000. */
  historyLimit?: number;
}

interface Change {
  readonly path: string;
  readonly key: ResourceKey;
  readonly before: StoredEntry | undefined;
  /** Undefined for a delete. */
  readonly after: StoredEntry | undefined;
}

interface Planned {
  readonly revision: number;
  readonly changes: Change[];
}

function identityOf(e: StoredEntry): Identity {
  const r = JSON.parse(e.json) as Resource;
  return { uid: r.metadata.uid ?? '', creationTimestamp: r.metadata.creationTimestamp ?? '' };
}

function parse<R extends Resource = Resource>(json: string): R {
  return JSON.parse(json) as R;
}

class EmbeddedWatcher implements Watcher {
  private queue: WatchEvent[] = [];
  private scheduled = false;
  closed = false;

  constructor(
    readonly filter: { kind?: ResourceKey['kind']; namespace?: string },
    private readonly handler: (ev: WatchEvent) => void,
    private readonly onClose: (w: EmbeddedWatcher) => void,
  ) {}

  push(ev: WatchEvent): void {
    if (this.closed) return;
    this.queue.push(ev);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.drain());
    }
  }

  /** Delivers a change if it passes the filter. */
  offer(c: Change, revision: number): void {
    if (!matchesFilter(c.key, this.filter)) return;
    const rev = String(revision);
    if (c.after) {
      this.push({ type: c.before ? 'modified' : 'added', resource: parse(c.after.json), revision: rev });
    } else if (c.before) {
      this.push({ type: 'deleted', key: { ...c.key }, previous: parse(c.before.json), revision: rev });
    }
  }

  private drain(): void {
    this.scheduled = false;
    while (!this.closed && this.queue.length > 0) {
      const ev = this.queue.shift() as WatchEvent;
      try {
        this.handler(ev);
      } catch (e) {
        process.emitWarning(`datastore watch handler threw: ${e instanceof Error ? e.message : String(e)}`);
      }
      // A resync ends the watch: the consumer re-lists and watches again from the new revision.
      if (ev.type === 'resync') this.closed = true;
    }
    if (this.closed) this.queue = [];
  }

  close(): Promise<void> {
    this.closed = true;
    this.queue = [];
    this.onClose(this);
    return Promise.resolve();
  }
}

interface HistoryItem {
  readonly revision: number;
  readonly change: Change;
}

export class EmbeddedDatastore implements Datastore {
  readonly location: string;
  private readonly entries = new Map<string, StoredEntry>();
  /** The same entries by kind (a list of one kind reads only those). */
  private readonly kinds = new Map<string, Map<string, StoredEntry>>();
  /** Loaded resources not handed out yet (EmbeddedOptions.initialResources), by path. */
  private readonly unread: Map<string, Resource>;
  private revision = 0;
  /** Watches must start at or after this revision; older history is gone. */
  private compacted = 0;
  private history: HistoryItem[] = [];
  private readonly historyLimit: number;
  private readonly watchers = new Set<EmbeddedWatcher>();
  private readonly persister: Persister | undefined;
  /** Serialises writes when a persister is present. */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(opts: EmbeddedOptions) {
    this.location = opts.location;
    this.persister = opts.persister;
    this.historyLimit = opts.historyLimit ?? 10_000;
    this.unread = opts.initial && opts.initialResources ? opts.initialResources : new Map();
    if (opts.initial) {
      for (const e of opts.initial.entries) this.put(e);
      this.revision = opts.initial.revision;
      this.compacted = opts.initial.revision;
    }
  }

  private put(e: StoredEntry): void {
    this.entries.set(e.path, e);
    let m = this.kinds.get(e.key.kind);
    if (m === undefined) {
      m = new Map();
      this.kinds.set(e.key.kind, m);
    }
    m.set(e.path, e);
  }

  /** The current store revision (as list() reports it). */
  currentRevision(): string {
    return String(this.revision);
  }

  private checkOpen(): void {
    if (this.closed) throw new ClosedError(this.location);
  }

  // --- reads -----------------------------------------------------------------------------------

  /** A copy of the entry's resource: the loaded object on its first read, else parsed anew. */
  private handOut<R extends Resource>(e: StoredEntry): R {
    const r = this.unread.get(e.path);
    if (r === undefined) return parse<R>(e.json);
    this.unread.delete(e.path);
    return r as R;
  }

  get<R extends Resource = Resource>(key: ResourceKey): Promise<R | undefined> {
    try {
      this.checkOpen();
      const e = this.entries.get(keyPath(normalizeKey(key)));
      return Promise.resolve(e ? this.handOut<R>(e) : undefined);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  list<R extends Resource = Resource>(opts: ListOptions): Promise<ListResult<R>> {
    try {
      this.checkOpen();
      const ns = filterNamespace(opts.kind, opts.namespace);
      const prefix = listPrefix(opts.kind, ns, opts.namePrefix);
      const items: R[] = [];
      const whole = opts.kind !== undefined && ns === undefined && opts.namePrefix === undefined;
      for (const [path, e] of opts.kind !== undefined ? (this.kinds.get(opts.kind) ?? []) : this.entries) {
        if (!whole && (!path.startsWith(prefix) || (opts.namePrefix !== undefined && !e.key.name.startsWith(opts.namePrefix)))) continue;
        items.push(this.handOut<R>(e));
      }
      return Promise.resolve({ items: sortResources(items), revision: String(this.revision) });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  // --- writes ----------------------------------------------------------------------------------

  create<R extends Resource>(resource: R): Promise<R> {
    return this.write([{ op: 'create', resource }]).then((r) => r[0] as R);
  }

  update<R extends Resource>(resource: R, opts?: WriteOptions): Promise<R> {
    return this.write([{ op: 'update', resource, revision: casRevision(opts?.revision, resource) }]).then(
      (r) => r[0] as R,
    );
  }

  upsert<R extends Resource>(resource: R): Promise<R> {
    return this.write([{ op: 'upsert', resource }]).then((r) => r[0] as R);
  }

  delete(key: ResourceKey, opts?: WriteOptions): Promise<Resource> {
    return this.write([{ op: 'delete', key, revision: opts?.revision }]).then((r) => r[0] as Resource);
  }

  txn(ops: TxnOp[], opts: TxnOptions = {}): Promise<Resource[]> {
    return this.write(
      ops.map((o) => (o.op === 'update' ? { ...o, revision: casRevision(o.revision, o.resource) } : o)),
      opts.guards ?? [],
    );
  }

  private write(ops: TxnOp[], guards: readonly TxnGuard[] = []): Promise<Resource[]> {
    if (!this.persister) {
      try {
        this.checkOpen();
        this.checkGuards(guards);
        const p = this.plan(ops);
        this.commit(p);
        return Promise.resolve(this.results(p));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    const persister = this.persister;
    try {
      this.checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.tail.then(async () => {
      this.checkGuards(guards);
      const p = this.plan(ops);
      if (p.changes.length > 0) await persister.save(this.snapshotAfter(p));
      this.commit(p);
      return this.results(p);
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Throws GuardConflictError when an object a guard covers changed after its revision. */
  private checkGuards(guards: readonly TxnGuard[]): void {
    for (const g of guards) {
      const since = Number(g.revision);
      for (const e of this.entries.values()) {
        if (e.key.kind === g.kind && e.mod > since && (g.namePrefix === undefined || e.key.name.startsWith(g.namePrefix))) throw new GuardConflictError(g);
      }
    }
  }

  /** Checks every op against the current state; throws the first op's typed error. */
  private plan(ops: TxnOp[]): Planned {
    const revision = this.revision + 1;
    const changes: Change[] = [];
    const seen = new Set<string>();
    const keyed = ops.map((op) => {
      const key = op.op === 'delete' ? normalizeKey(op.key) : resourceKey(op.resource);
      const path = keyPath(key);
      if (seen.has(path)) throw new InvalidTxnError(`transaction touches ${path} more than once`);
      seen.add(path);
      return { op, key, path };
    });
    for (const { op, key, path } of keyed) {
      const before = this.entries.get(path);
      const entry = (r: Resource, id: Identity, create: number): StoredEntry => ({
        key,
        path,
        json: JSON.stringify(stamp(r, key, id, revision)),
        mod: revision,
        create,
      });
      switch (op.op) {
        case 'create':
          if (before) throw new AlreadyExistsError(key);
          changes.push({ path, key, before, after: entry(op.resource, newIdentity(), revision) });
          break;
        case 'update':
          if (!before) throw new NotFoundError(key);
          if (op.revision !== undefined && op.revision !== String(before.mod)) {
            throw new ConflictError(key, op.revision, String(before.mod));
          }
          changes.push({ path, key, before, after: entry(op.resource, identityOf(before), before.create) });
          break;
        case 'upsert':
          changes.push({
            path,
            key,
            before,
            after: before
              ? entry(op.resource, identityOf(before), before.create)
              : entry(op.resource, newIdentity(), revision),
          });
          break;
        case 'delete':
          if (!before) throw new NotFoundError(key);
          if (op.revision !== undefined && op.revision !== String(before.mod)) {
            throw new ConflictError(key, op.revision, String(before.mod));
          }
          changes.push({ path, key, before, after: undefined });
          break;
        default: {
          const bad: never = op;
          throw new InvalidTxnError(`unknown transaction op ${JSON.stringify(bad)}`);
        }
      }
    }
    return { revision, changes };
  }

  private *entriesAfter(p: Planned): Iterable<StoredEntry> {
    const changed = new Map<string, Change>();
    for (const c of p.changes) changed.set(c.path, c);
    for (const [path, e] of this.entries) {
      const c = changed.get(path);
      if (!c) yield e;
      else if (c.after) yield c.after;
    }
    for (const c of p.changes) if (!c.before && c.after) yield c.after;
  }

  private snapshotAfter(p: Planned): Snapshot {
    return { revision: p.revision, entries: this.entriesAfter(p) };
  }

  private commit(p: Planned): void {
    if (p.changes.length === 0) return;
    for (const c of p.changes) {
      this.unread.delete(c.path);
      if (c.after) this.put(c.after);
      else {
        this.entries.delete(c.path);
        this.kinds.get(c.key.kind)?.delete(c.path);
      }
    }
    this.revision = p.revision;
    for (const c of p.changes) this.history.push({ revision: p.revision, change: c });
    this.trimHistory(this.historyLimit);
    for (const w of this.watchers) for (const c of p.changes) w.offer(c, p.revision);
  }

  private results(p: Planned): Resource[] {
    return p.changes.map((c) => parse((c.after ?? c.before)!.json));
  }

  private trimHistory(limit: number): void {
    if (this.history.length <= limit) return;
    // Drop whole revisions only, so a watch never starts in the middle of a transaction.
    let cut = this.history.length - limit;
    const lastDropped = this.history[cut - 1]!.revision;
    while (cut < this.history.length && this.history[cut]!.revision === lastDropped) cut++;
    this.history = this.history.slice(cut);
    this.compacted = lastDropped;
  }

  /**
   * Forget history up to `revision` (default: now), like etcd's compaction: a watch that asks to
   * start before it gets a `resync` event. For tests and for bounding memory.
   */
  compact(revision?: string): void {
    const rev = revision === undefined ? this.revision : Number(revision);
    if (!Number.isInteger(rev) || rev <= this.compacted) return;
    const upTo = Math.min(rev, this.revision);
    this.history = this.history.filter((h) => h.revision > upTo);
    this.compacted = upTo;
  }

  // --- watch -----------------------------------------------------------------------------------

  watch(opts: WatchOptions, handler: (ev: WatchEvent) => void): Watcher {
    this.checkOpen();
    const filter: { kind?: ResourceKey['kind']; namespace?: string } = {};
    if (opts.kind !== undefined) filter.kind = opts.kind;
    const ns = filterNamespace(opts.kind, opts.namespace);
    if (ns !== undefined) filter.namespace = ns;
    const w = new EmbeddedWatcher(filter, handler, (x) => this.watchers.delete(x));
    if (opts.afterRevision !== undefined) {
      const after = Number(opts.afterRevision);
      if (!Number.isInteger(after) || after < 0) {
        w.push({ type: 'resync', reason: `"${opts.afterRevision}" is not a revision of ${this.location}` });
        return w;
      }
      if (after < this.compacted) {
        w.push({
          type: 'resync',
          reason: `revision ${after} of ${this.location} was compacted (oldest available: ${this.compacted})`,
        });
        return w;
      }
      for (const h of this.history) if (h.revision > after) w.offer(h.change, h.revision);
    }
    this.watchers.add(w);
    return w;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tail;
    for (const w of [...this.watchers]) await w.close();
    await this.persister?.close();
  }
}
