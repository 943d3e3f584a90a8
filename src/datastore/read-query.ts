// readForQuery: one read of a datastore for a question (query.ts), loading no more than that needs:
// a file store is read by file/query.ts; the other backends are opened (open.ts, loaded then).

import type { DatastoreOptions } from './open.js';
import { readFileForQuery } from './file/query.js';
import { snapshotOf, type QuerySnapshot, type QuerySpec } from './query.js';
import { parseDatastoreUrl } from './url.js';

/**
 * One read of `spec.kinds` for a question, at one revision, with the objects of `spec.lazy` parsed
 * only when a search finds them (query.ts). file: reads the file once, without waiting for the
 * lock (a writer replaces the file whole), and parses only what is asked for (file/query.ts);
 * memory: and etcd: list every kind. Nothing is kept open.
 */
export async function readForQuery(url: string, spec: QuerySpec, opts: DatastoreOptions = {}): Promise<QuerySnapshot> {
  const parsed = parseDatastoreUrl(url);
  if (parsed.backend === 'file') return readFileForQuery(parsed.path, spec);
  const ds = await (await import('./open.js')).openDatastore(url, opts);
  try {
    return await snapshotOf(ds, spec);
  } finally {
    await ds.close();
  }
}
