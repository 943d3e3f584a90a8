// A one-shot read of a datastore file for a question (../query.ts): the file read once, without the
// lock (writers replace it by rename, persist.ts, so a read sees one whole version), and only the
// lines a question needs parsed.
//
// In serialize()'s layout (one item per line) each line's kind is read from its first bytes when
// that is provable: the resource starts {"apiVersion":"…","kind":"K", or {"kind":"K", and the line
// has no backslash and no further `kind"` anywhere (so JSON.parse could not see another kind).
// Such a line of a kind not asked for is skipped; of a lazy kind it is kept as text and parsed
// when a search hits it (with the full read's checks then); every other line is parsed and
// checked as the full read does. A file in any other layout is read whole (format.ts deserialize).

import { isAscii } from 'node:buffer';
import { readFileSync } from 'node:fs';
import type { Kind, Resource } from '../../api/types.js';
import { CorruptDatastoreError, StorageError } from '../errors.js';
import { sortResources } from '../keys.js';
import { snapshotFrom, type LazyObjects, type QuerySnapshot, type QuerySpec } from '../query.js';
import { checkItem, deserialize, scanItems, type ItemSpans } from './format.js';

const KIND_AT = /\{(?:"apiVersion":"[^"\\\n]*",)?"kind":"([A-Za-z]+)",/y;
/** The usual start of a line's resource, settled without a regex. */
const USUAL = '{"apiVersion":"twill.io/v1","kind":"';

/**
 * The kind of the resource JSON at text[start, end) when its text proves it (see the header);
 * undefined when only parsing can tell. `backslash` is the first backslash at or after `start`
 * (-1: none). `known` are kinds returned without a copy of their name (the usual lines' kinds).
 */
function provenKind(text: string, start: number, end: number, backslash: number, known: readonly string[]): string | undefined {
  if (backslash >= 0 && backslash < end) return undefined;
  let kind: string | undefined;
  let after = -1;
  if (text.startsWith(USUAL, start)) {
    const at = start + USUAL.length;
    for (const k of known) {
      if (text.startsWith(k, at) && text.startsWith('",', at + k.length)) {
        kind = k;
        after = at + k.length + 2;
        break;
      }
    }
  }
  if (kind === undefined) {
    KIND_AT.lastIndex = start;
    const m = KIND_AT.exec(text);
    if (m === null) return undefined;
    kind = m[1];
    after = start + m[0].length;
  }
  // `kind"` rather than `"kind"`: a rarer first character makes the scan ~3× faster (and any
  // "kind" key or string still contains it).
  const again = text.indexOf('kind"', after);
  return again >= 0 && again < end ? undefined : kind;
}

export function readFileForQuery(path: string, spec: QuerySpec): QuerySnapshot {
  // One synchronous read: the caller waits for nothing else meanwhile (and node:fs/promises
  // costs a one-shot process a few ms to load).
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return snapshotFrom('0', new Map(), () => undefined);
    throw new StorageError(path, e, 'read');
  }
  // ASCII (the usual file) is decoded byte for byte: one copy, and a compact string to search.
  return queryText(path, isAscii(data) ? data.toString('latin1') : data.toString('utf8'), spec);
}

/** The snapshot of a datastore file's text (readFileForQuery without the read). */
export function queryText(path: string, text: string, spec: QuerySpec): QuerySnapshot {
  const wanted = new Set<string>(spec.kinds);
  const split = scanItems(text);
  if (split === undefined) return whole(path, text, wanted);
  const revision = split.revision;

  const seen = new Set<string>();
  const eager: Resource[] = [];
  const lazy = new Map<string, number[]>((spec.lazy ?? []).filter((k) => wanted.has(k)).map((k) => [k, []]));
  const known = [...lazy.keys()];
  let backslash = text.indexOf('\\');
  for (let i = 0; i < split.start.length; i++) {
    const start = split.start[i]!;
    const end = split.end[i]!;
    if (backslash >= 0 && backslash < start) backslash = text.indexOf('\\', start);
    const kind = provenKind(text, start, end, backslash, known);
    if (kind !== undefined && !wanted.has(kind)) continue;
    const lines = kind !== undefined ? lazy.get(kind) : undefined;
    if (lines) {
      lines.push(i);
      continue;
    }
    const json = text.slice(start, end);
    let resource: unknown;
    try {
      resource = JSON.parse(json);
    } catch {
      return whole(path, text, wanted); // reports the file as the full read does (or reads it)
    }
    const r = checked(path, split, seen, i, resource, json);
    if (wanted.has(r.kind)) eager.push(r);
  }
  const byKind = byKindSorted(eager);
  const lazyOf = new Map<string, LazyObjects>();
  for (const [kind, lines] of lazy) lazyOf.set(kind, lazyLines(path, text, split, seen, lines, byKind.get(kind as Kind) ?? []));
  return snapshotFrom(String(revision), byKind, (kind) => lazyOf.get(kind));
}

/** The full read's checks on item `i` (format.ts checkItem), and no second item of its key. */
function checked(path: string, items: ItemSpans, seen: Set<string>, i: number, resource: unknown, json: string): Resource {
  const c = checkItem(path, items.revision, i, { resource, json, createRevision: items.createRevision[i] });
  if (seen.has(c.entry.path)) throw new CorruptDatastoreError(path, `item ${i} duplicates ${c.entry.path}`);
  seen.add(c.entry.path);
  return c.resource;
}

/**
 * A lazy kind's lines, searched in the file's text (one native scan per search) and parsed when
 * hit; `eager` are the kind's objects that had to be parsed at once (in every answer).
 */
function lazyLines(path: string, text: string, items: ItemSpans, seen: Set<string>, lines: readonly number[], eager: readonly Resource[]): LazyObjects {
  const parsed = new Map<number, Resource>();
  const parse = (i: number): Resource => {
    let r = parsed.get(i);
    if (r !== undefined) return r;
    const json = text.slice(items.start[i], items.end[i]);
    let resource: unknown;
    try {
      resource = JSON.parse(json);
    } catch (e) {
      throw new CorruptDatastoreError(path, `item ${i} is not JSON (${e instanceof Error ? e.message : String(e)})`, e);
    }
    r = checked(path, items, seen, i, resource, json);
    parsed.set(i, r);
    return r;
  };
  /** The lines holding the hits `next(from)` finds in order (-1: no more), each line once. */
  const hits = (next: (from: number) => number): Resource[] => {
    const out = [...eager];
    let j = 0;
    for (let at = next(0); at >= 0 && j < lines.length; ) {
      while (j < lines.length && items.end[lines[j]!]! <= at) j++;
      if (j === lines.length) break;
      const i = lines[j]!;
      if (items.start[i]! <= at) {
        out.push(parse(i));
        j++;
        at = next(items.end[i]!);
      } else at = next(items.start[i]!);
    }
    return sortResources(out);
  };
  return {
    containing: (needle) => hits((from) => text.indexOf(needle, from)),
    matching: (pattern) => {
      const re = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '') + 'g');
      return hits((from) => {
        re.lastIndex = from;
        const m = re.exec(text);
        return m === null ? -1 : m.index;
      });
    },
    all: () => hits((from) => (from < text.length ? from : -1)),
  };
}

/** Any other layout: the whole document, parsed and checked (format.ts). */
function whole(path: string, text: string, wanted: ReadonlySet<string>): QuerySnapshot {
  const s = deserialize(path, text);
  return snapshotFrom(String(s.revision), byKindSorted([...s.resources.values()].filter((r) => wanted.has(r.kind))), () => undefined);
}

/** Resources by kind, each kind's sorted as list() sorts. */
function byKindSorted(items: readonly Resource[]): Map<Kind, Resource[]> {
  const byKind = new Map<Kind, Resource[]>();
  for (const r of items) {
    const l = byKind.get(r.kind);
    if (l) l.push(r);
    else byKind.set(r.kind, [r]);
  }
  for (const [k, l] of byKind) byKind.set(k, sortResources(l));
  return byKind;
}
