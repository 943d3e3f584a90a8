// Atomic replace of the datastore file: write a temp file next to it, fsync, rename over the
// file, fsync the directory. A crash at any point leaves either the old or the new file whole;
// a temp file left behind is ignored (and removed at the next open).

import { open, readdir, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import type { Persister, Snapshot } from '../embedded/store.js';
import { StorageError } from '../errors.js';
import { serialize } from './format.js';

export function tempPrefix(path: string): string {
  return `${basename(path)}.tmp-`;
}

async function fsyncDir(dir: string): Promise<void> {
  const h = await open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

export async function writeAtomic(path: string, data: string): Promise<void> {
  const tmp = join(dirname(path), `${tempPrefix(path)}${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const h = await open(tmp, 'wx', 0o600);
    try {
      await h.writeFile(data, 'utf8');
      await h.sync();
    } finally {
      await h.close();
    }
    await rename(tmp, path);
    await fsyncDir(dirname(path));
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw new StorageError(path, e);
  }
}

/** Removes temp files an interrupted writer left next to `path` (call only while holding the lock). */
export async function removeLeftovers(path: string): Promise<void> {
  const prefix = tempPrefix(path);
  const dir = dirname(path);
  for (const name of await readdir(dir)) {
    if (name.startsWith(prefix)) await unlink(join(dir, name)).catch(() => undefined);
  }
}

export class FilePersister implements Persister {
  constructor(
    readonly path: string,
    private readonly onClose: () => void,
  ) {}

  save(snapshot: Snapshot): Promise<void> {
    return writeAtomic(this.path, serialize(snapshot));
  }

  close(): Promise<void> {
    this.onClose();
    return Promise.resolve();
  }
}
