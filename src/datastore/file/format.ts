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

/** Parses and checks a datastore file; throws CorruptDatastoreError saying what is wrong. */
export function deserialize(path: string, text: string): Snapshot {
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
  const entries: StoredEntry[] = [];
  const seen = new Set<string>();
  doc.items.forEach((item: unknown, i: number) => {
    const where = `item ${i}`;
    if (!isObject(item) || !isObject(item.resource)) throw new CorruptDatastoreError(path, `${where} has no resource`);
    const r = item.resource as unknown as Resource;
    let key;
    try {
      key = resourceKey(r);
    } catch (e) {
      throw new CorruptDatastoreError(path, `${where}: ${e instanceof Error ? e.message : String(e)}`, e);
    }
    const mod = revisionNumber(r.metadata.resourceVersion);
    const create = revisionNumber(item.createRevision);
    if (mod === undefined || mod > revision || mod === 0) {
      throw new CorruptDatastoreError(path, `${where} (${r.kind} ${r.metadata.name}) has a bad resourceVersion`);
    }
    if (create === undefined || create > mod || create === 0) {
      throw new CorruptDatastoreError(path, `${where} (${r.kind} ${r.metadata.name}) has a bad createRevision`);
    }
    const p = keyPath(key);
    if (seen.has(p)) throw new CorruptDatastoreError(path, `${where} duplicates ${p}`);
    seen.add(p);
    entries.push({ key, path: p, json: JSON.stringify(r), mod, create });
  });
  return { revision, entries };
}
