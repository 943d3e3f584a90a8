// An exclusive lock on the embedded datastore file: `<file>.lock` holds the owner's pid (and its
// start time, so a recycled pid is not mistaken for the owner). A lock whose owner is dead is
// taken over.

import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { InUseError } from '../errors.js';

interface LockInfo {
  pid: number;
  /** Process start time (field 22 of /proc/<pid>/stat), when known. */
  start?: string;
}

function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses: split after its closing ")".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function alive(info: LockInfo): boolean {
  try {
    process.kill(info.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (info.start === undefined) return true;
  const now = procStart(info.pid);
  return now === undefined || now === info.start;
}

function readLock(path: string): LockInfo | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0) {
      return typeof v.start === 'string' ? { pid: v.pid, start: v.start } : { pid: v.pid };
    }
  } catch {
    /* fall through: unreadable lock content */
  }
  // Half-written or foreign content: treat as a lock whose owner cannot be alive.
  return { pid: 0 };
}

export interface FileLock {
  readonly path: string;
  release(): void;
}

/**
 * Takes the lock at `lockPath` for the datastore file `dataPath`, or throws InUseError naming the
 * live holder. Two processes racing to take over the same stale lock is not fully excluded.
 */
export function acquireLock(lockPath: string, dataPath: string): FileLock {
  const me: LockInfo = { pid: process.pid };
  const start = procStart(process.pid);
  if (start !== undefined) me.start = start;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx', 0o600);
      try {
        writeSync(fd, JSON.stringify(me));
      } finally {
        closeSync(fd);
      }
      let released = false;
      return {
        path: lockPath,
        release: () => {
          if (released) return;
          released = true;
          const cur = readLock(lockPath);
          if (cur && cur.pid === me.pid) {
            try {
              unlinkSync(lockPath);
            } catch {
              /* already gone */
            }
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = readLock(lockPath);
    if (holder === undefined) continue; // released meanwhile: try again
    if (holder.pid !== 0 && alive(holder)) throw new InUseError(dataPath, holder.pid);
    // Stale: move it out of the way atomically (only one taker can succeed), then retry.
    const aside = `${lockPath}.stale-${process.pid}`;
    try {
      renameSync(lockPath, aside);
      unlinkSync(aside);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  throw new InUseError(dataPath, readLock(lockPath)?.pid);
}
