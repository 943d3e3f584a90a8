// The datastore: one interface (./types.ts), three backends (memory:, file:PATH, etcd://...) and
// a syncer (list + watch + resync) for long-running consumers.

export * from './types.js';
export * from './errors.js';
export { DEFAULT_DATASTORE_URL, datastoreUrlFromEnv, defaultDatastorePath, parseDatastoreUrl } from './url.js';
export type { ParsedDatastoreUrl } from './url.js';
export { EmbeddedDatastore } from './embedded/store.js';
export { openDatastore, type DatastoreOptions } from './open.js';
export { eagerObjects, snapshotOf, type LazyObjects, type QuerySnapshot, type QuerySpec } from './query.js';
export { readForQuery } from './read-query.js';

export { startSyncer } from './syncer.js';
export { startSharedSyncer, type SyncConsumer } from './syncer-fanout.js';
export type { SyncEvent, SyncerCallbacks, SyncerOptions, SyncerStatus } from './syncer.js';
