// A one-shot read of the datastore for a question (twillctl policy explain): every object of a few
// kinds at one revision, where the objects of a "lazy" kind are parsed only when a search over
// their stored JSON text finds them. The file backend reads its file once without the lock and
// keeps such objects' lines as text (file/query.ts); every other backend lists (snapshotOf).

import type { Kind, Resource } from '../api/types.js';
import { sortResources } from './keys.js';
import type { Datastore } from './types.js';

/**
 * The objects of a lazy kind, parsed when a search finds them. A search answers a superset: at
 * least every object whose stored JSON text, as written, has the match; an object the backend
 * cannot search as text (stored with escaped characters or in another layout; every object of a
 * backend that keeps no text) is always in the answer. Searches see JSON without escapes, so a
 * string value appears literally between quotes (search for JSON.stringify(value)). The same
 * stored object is the same parsed object in every answer (do not modify it).
 */
export interface LazyObjects<R extends Resource = Resource> {
  /** At least every object whose JSON contains `text` (sorted as list() sorts). */
  containing(text: string): R[];
  /** At least every object whose JSON has a match of `pattern` starting in it (its flags but g/y kept). */
  matching(pattern: RegExp): R[];
  /** Every object. */
  all(): R[];
}

export interface QuerySnapshot {
  /** The store revision read. */
  readonly revision: string;
  /** Every object of one of the snapshot's kinds (lazy kinds: all of them parsed). */
  list<R extends Resource = Resource>(kind: Kind): R[];
  /** The objects of a lazy kind. */
  lazy<R extends Resource = Resource>(kind: Kind): LazyObjects<R>;
}

export interface QuerySpec {
  /** The kinds to read. */
  kinds: readonly Kind[];
  /** Of those, the kinds to parse only as searches find them (a backend may parse them all). */
  lazy?: readonly Kind[];
}

/** Objects already parsed: every search returns them all. */
export function eagerObjects<R extends Resource>(items: readonly R[]): LazyObjects<R> {
  const all = (): R[] => [...items];
  return { containing: all, matching: all, all };
}

/** A QuerySnapshot from objects already read (by kind). */
export function snapshotFrom(revision: string, byKind: ReadonlyMap<Kind, Resource[]>, lazy: (kind: Kind) => LazyObjects | undefined): QuerySnapshot {
  return {
    revision,
    list: <R extends Resource>(kind: Kind): R[] => {
      const l = lazy(kind);
      return (l ? sortResources(l.all()) : [...(byKind.get(kind) ?? [])]) as R[];
    },
    lazy: <R extends Resource>(kind: Kind): LazyObjects<R> => (lazy(kind) ?? eagerObjects(byKind.get(kind) ?? [])) as LazyObjects<R>,
  };
}

/** The snapshot of any Datastore: one list per kind, every object parsed (searches return all). */
export async function snapshotOf(ds: Datastore, spec: QuerySpec): Promise<QuerySnapshot> {
  const lists = await Promise.all(spec.kinds.map(async (kind) => ({ kind, list: await ds.list({ kind }) })));
  const byKind = new Map<Kind, Resource[]>(lists.map((l) => [l.kind, l.list.items]));
  const revision = lists.reduce((r, l) => (Number(l.list.revision) > Number(r) ? l.list.revision : r), '0');
  return snapshotFrom(revision, byKind, () => undefined);
}
