// The `memory:` backend: the embedded store without persistence. Fast; for tests and dry runs.

import { EmbeddedDatastore } from './embedded/store.js';

export function openMemoryDatastore(location = 'memory:'): EmbeddedDatastore {
  return new EmbeddedDatastore({ location });
}
