// The Datastore contract. Both backends (etcd, embedded file) implement it, and one contract
// test suite (test/*/datastore-contract) holds them to it.

import type { Kind, Resource, ResourceKey } from '../api/types.js';

export type { Kind, Resource, ResourceKey };

export interface ListOptions {
  kind: Kind;
  /** Only this namespace (namespaced kinds). Absent: all namespaces. */
  namespace?: string;
  /** Only names starting with this. */
  namePrefix?: string;
}

export interface ListResult<R extends Resource = Resource> {
  items: R[];
  /** The store revision the list was read at: watch from here to see every later change. */
  revision: string;
  /**
   * Stored values that could not be read as resources (written behind Twill's back): left out
   * of items, listed here so the caller can say so. Absent when there were none.
   */
  corrupt?: CorruptValue[];
}

/** A stored value a list skipped: its key (from the storage path) and why it is unreadable. */
export interface CorruptValue {
  key: ResourceKey;
  /** Where it is stored, e.g. the etcd key "/twill/v1/NetworkPolicy/default/x". */
  path: string;
  message: string;
}

export interface WriteOptions {
  /**
   * Compare-and-swap: the write happens only if the stored object's resourceVersion equals this.
   * For update() it defaults to resource.metadata.resourceVersion when that is set.
   */
  revision?: string;
}

export type TxnOp =
  | { op: 'create'; resource: Resource }
  | { op: 'update'; resource: Resource; revision?: string }
  | { op: 'upsert'; resource: Resource }
  | { op: 'delete'; key: ResourceKey; revision?: string };

/**
 * A transaction guard: no object of `kind` (whose name starts with `namePrefix`, when given) was
 * created or modified after `revision` (a list's revision). Deletions do not count. The
 * transaction fails with GuardConflictError otherwise — how a check made on a list (no pool
 * overlaps, this host holds no new block) stays true until the write.
 */
export interface TxnGuard {
  kind: Kind;
  namePrefix?: string;
  revision: string;
}

export interface TxnOptions {
  guards?: readonly TxnGuard[];
}

export type WatchEvent =
  | { type: 'added' | 'modified'; resource: Resource; revision: string }
  | { type: 'deleted'; key: ResourceKey; previous?: Resource; revision: string }
  /** The requested start revision was compacted (or the stream broke past recovery): re-list. */
  | { type: 'resync'; reason: string }
  /** A non-fatal problem (e.g. lost connection, reconnecting). */
  | { type: 'error'; error: Error }
  /** The stream is back after an `error`: events continue from where they stopped, none missed. */
  | { type: 'resumed' };

export interface WatchOptions {
  /** Only this kind. Absent: every kind. */
  kind?: Kind;
  namespace?: string;
  /** Deliver changes made after this revision (as returned by list()). Absent: from now. */
  afterRevision?: string;
}

export interface Watcher {
  close(): Promise<void>;
}

export interface Datastore {
  /** A human-readable description of where the data lives (e.g. "etcd://127.0.0.1:2379"). */
  readonly location: string;
  get<R extends Resource = Resource>(key: ResourceKey): Promise<R | undefined>;
  list<R extends Resource = Resource>(opts: ListOptions): Promise<ListResult<R>>;
  /** Fails with AlreadyExistsError. Returns the stored object (resourceVersion, uid, creationTimestamp set). */
  create<R extends Resource>(resource: R): Promise<R>;
  /** Fails with NotFoundError, or ConflictError when the revision does not match. */
  update<R extends Resource>(resource: R, opts?: WriteOptions): Promise<R>;
  /** Create or replace without a revision check. */
  upsert<R extends Resource>(resource: R): Promise<R>;
  /** Fails with NotFoundError, or ConflictError when opts.revision does not match. Returns the deleted object. */
  delete(key: ResourceKey, opts?: WriteOptions): Promise<Resource>;
  /** All ops or none. Returns the resulting objects (for deletes, the deleted object). */
  txn(ops: TxnOp[], opts?: TxnOptions): Promise<Resource[]>;
  /** Ordered change events. The handler is called one event at a time. */
  watch(opts: WatchOptions, handler: (ev: WatchEvent) => void): Watcher;
  close(): Promise<void>;
}
