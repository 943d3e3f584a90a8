// The on-disk form of the embedded datastore: one JSON document,
//   {"format":"twill-datastore","version":1,"revision":N,"items":[{"createRevision":C,"resource":{...}}, ...]}
// one item per line, so the file diffs and greps well.

import type { Resource } from '../../api/types.js';
import type { Snapshot, StoredEntry } from '../embedded/store.js';
import { CorruptDatastoreError } from '../errors.js';
import { keyPath, resourceKey } from '../keys.js';

export const FORMAT = 'twill-datastore';
export const FORMAT_VERSION = 1;

export function serialize(s: Snapshot): string {
  const parts: string[] = [];
  for (const e of s.entries) parts.push(`{"createRevision":${e.create},"resource":${e.json}}`);
  return `{"format":"${FORMAT}","version":${FORMAT_VERSION},"revision":${s.revision},"items":[\n${parts.join(',\n')}\n]}\n`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function revisionNumber(v: unknown): number | undefined {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : typeof v === 'number' ? v : NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** A datastore file's contents, checked, and each entry's resource parsed once (by path). */
export interface LoadedSnapshot extends Snapshot {
  readonly entries: StoredEntry[];
  /** Each entry's resource, parsed from its JSON and not shared: the store may hand it out once. */
  readonly resources: Map<string, Resource>;
}

/** One item of the file, before its checks: where it is, its resource (parsed) and JSON text. */
export interface RawItem {
  resource: unknown;
  json: string | undefined;
  createRevision: unknown;
}

/**
 * Parses and checks a datastore file; throws CorruptDatastoreError saying what is wrong. A file
 * as serialize() writes it is read a line at a time, each resource's JSON kept as written (no
 * second serialisation); any other layout of the same document is read as a whole, with the same
 * checks and the same errors.
 */
export function deserialize(path: string, text: string): LoadedSnapshot {
  const lines = readLines(text);
  if (lines !== undefined) {
    try {
      return checkItems(path, lines.revision, lines.items);
    } catch {
      // Report what the whole-document reading finds, with its item numbers and messages.
    }
  }
  return deserializeDocument(path, text);
}

const HEADER = new RegExp(`^\\{"format":"${FORMAT}","version":${FORMAT_VERSION},"revision":(0|[1-9]\\d*),"items":\\[$`);

/**
 * The lines of serialize()'s layout: item i's createRevision, and its resource's JSON at
 * text.slice(start[i], end[i]) (three arrays of numbers: no object per item).
 */
export interface ItemSpans {
  revision: number;
  createRevision: number[];
  start: number[];
  end: number[];
}

const ITEM_AT = /\{"createRevision":(0|[1-9]\d*),"resource":/y;

/**
 * serialize()'s layout, line by line, nothing parsed or copied; undefined for anything else. Each
 * line is {"createRevision":N,"resource":JSON}: it is a valid item exactly when JSON is.
 */
export function scanItems(text: string): ItemSpans | undefined {
  const nl = text.indexOf('\n');
  const head = nl < 0 ? null : HEADER.exec(text.slice(0, nl));
  const bodyEnd = text.length - 4; // the newline before "]}"
  if (head === null || !text.endsWith('\n]}\n') || nl > bodyEnd) return undefined;
  const items: ItemSpans = { revision: Number(head[1]), createRevision: [], start: [], end: [] };
  // No line between header and "]}", or one empty line: no items.
  if (nl === bodyEnd || nl + 1 === bodyEnd) return items;
  for (let pos = nl + 1; ; ) {
    const end = text.indexOf('\n', pos); // at most bodyEnd, a newline
    const last = end === bodyEnd;
    let stop = end;
    if (!last) {
      if (text.charCodeAt(end - 1) !== 0x2c /* , */) return undefined;
      stop--;
    }
    ITEM_AT.lastIndex = pos;
    const m = ITEM_AT.exec(text);
    if (m === null || stop - pos < m[0].length + 1 || text.charCodeAt(stop - 1) !== 0x7d /* } */) return undefined;
    items.createRevision.push(Number(m[1]));
    items.start.push(pos + m[0].length);
    items.end.push(stop - 1);
    if (last) return items;
    pos = end + 1;
  }
}

/** serialize()'s layout, every item parsed; undefined for anything else (read as a whole document). */
function readLines(text: string): { revision: number; items: RawItem[] } | undefined {
  const split = scanItems(text);
  if (split === undefined) return undefined;
  const items: RawItem[] = [];
  for (let i = 0; i < split.start.length; i++) {
    const json = text.slice(split.start[i], split.end[i]);
    const createRevision = split.createRevision[i];
    let resource: unknown;
    try {
      resource = JSON.parse(json);
    } catch {
      return undefined;
    }
    items.push({ resource, json, createRevision });
  }
  return { revision: split.revision, items };
}

/** The whole document at once: any layout JSON allows. */
function deserializeDocument(path: string, text: string): LoadedSnapshot {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CorruptDatastoreError(path, `not JSON (${e instanceof Error ? e.message : String(e)})`, e);
  }
  if (!isObject(doc) || doc.format !== FORMAT) throw new CorruptDatastoreError(path, `"format" is not "${FORMAT}"`);
  if (doc.version !== FORMAT_VERSION) {
    throw new CorruptDatastoreError(path, `format version ${JSON.stringify(doc.version)} is not supported (expected ${FORMAT_VERSION})`);
  }
  const revision = revisionNumber(doc.revision);
  if (revision === undefined) throw new CorruptDatastoreError(path, '"revision" is not a non-negative integer');
  if (!Array.isArray(doc.items)) throw new CorruptDatastoreError(path, '"items" is not a list');
  return checkItems(path, revision, doc.items.map((item: unknown): RawItem => (isObject(item) ? { resource: item.resource, json: undefined, createRevision: item.createRevision } : { resource: undefined, json: undefined, createRevision: undefined })));
}

/** Every item's checks (the same for both readings); the first failure is the error. */
function checkItems(path: string, revision: number, items: readonly RawItem[]): LoadedSnapshot {
  const entries: StoredEntry[] = [];
  const resources = new Map<string, Resource>();
  items.forEach((item, i) => {
    const { entry, resource } = checkItem(path, revision, i, item);
    if (resources.has(entry.path)) throw new CorruptDatastoreError(path, `item ${i} duplicates ${entry.path}`);
    resources.set(entry.path, resource);
    entries.push(entry);
  });
  return { revision, entries, resources };
}

/** Item `i`'s checks (all but duplicates): its key, resourceVersion and createRevision. */
export function checkItem(path: string, revision: number, i: number, item: RawItem): { entry: StoredEntry; resource: Resource } {
  if (!isObject(item.resource)) throw new CorruptDatastoreError(path, `item ${i} has no resource`);
  const r = item.resource as unknown as Resource;
  let key;
  try {
    key = resourceKey(r);
  } catch (e) {
    throw new CorruptDatastoreError(path, `item ${i}: ${e instanceof Error ? e.message : String(e)}`, e);
  }
  const mod = revisionNumber(r.metadata.resourceVersion);
  const create = revisionNumber(item.createRevision);
  if (mod === undefined || mod > revision || mod === 0) {
    throw new CorruptDatastoreError(path, `item ${i} (${r.kind} ${r.metadata.name}) has a bad resourceVersion`);
  }
  if (create === undefined || create > mod || create === 0) {
    throw new CorruptDatastoreError(path, `item ${i} (${r.kind} ${r.metadata.name}) has a bad createRevision`);
  }
  return { entry: { key, path: keyPath(key), json: item.json ?? JSON.stringify(r), mod, create }, resource: r };
}
