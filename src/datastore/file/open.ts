// The `file:PATH` backend: the embedded store, loaded from PATH and saved back atomically after
// every write, guarded by an exclusive lock file so only one process uses it at a time.

import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EmbeddedDatastore } from '../embedded/store.js';
import { StorageError } from '../errors.js';
import { deserialize, type LoadedSnapshot } from './format.js';
import { acquireLock } from './lock.js';
import { FilePersister, removeLeftovers } from './persist.js';

export interface FileDatastoreOptions {
  /** How long to wait for another process to release the file (ms; default 0: InUseError at once). */
  lockWaitMs?: number;
}

export async function openFileDatastore(path: string, opts: FileDatastoreOptions = {}): Promise<EmbeddedDatastore> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  } catch (e) {
    throw new StorageError(path, e);
  }
  const lock = await acquireLock(`${path}.lock`, path, opts.lockWaitMs !== undefined ? { waitMs: opts.lockWaitMs } : {});
  try {
    await removeLeftovers(path);
    let initial: LoadedSnapshot | undefined;
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new StorageError(path, e, 'read');
    }
    if (text !== undefined) initial = deserialize(path, text);
    const persister = new FilePersister(path, () => lock.release());
    return new EmbeddedDatastore(initial ? { location: `file:${path}`, persister, initial, initialResources: initial.resources } : { location: `file:${path}`, persister });
  } catch (e) {
    lock.release();
    throw e;
  }
}
