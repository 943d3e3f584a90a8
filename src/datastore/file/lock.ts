// An exclusive lock on the embedded datastore file: `<file>.lock` holds the owner's pid (and its
// start time, so a recycled pid is not mistaken for the owner).
//
// The lock file is never seen half-written: its content is written to a private temp file first,
// which is then hard-linked to the lock's name (link(2) fails if the name exists: one winner).
// A lock is stale only when its owner is dead, or — content that is not ours (foreign, from an
// older version) — when it is older than STALE_UNREADABLE_MS. Taking over a stale lock happens
// under a second lock (`<file>.lock.takeover`, made the same way) and re-checks that the lock is
// still the stale one, so two processes never remove each other's fresh lock.

import { closeSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { InUseError } from '../errors.js';

/** Unreadable lock content younger than this is taken as being written by a live process. */
export const STALE_UNREADABLE_MS = 10_000;

interface LockInfo {
  pid: number;
  /** Process start time (field 22 of /proc/<pid>/stat), when known. */
  start?: string;
}

type Holder = { kind: 'none' } | { kind: 'live'; info: LockInfo } | { kind: 'stale'; text: string };

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

function parse(text: string): LockInfo | undefined {
  try {
    const v = JSON.parse(text) as Partial<LockInfo>;
    if (typeof v.pid === 'number' && Number.isInteger(v.pid) && v.pid > 0) {
      return typeof v.start === 'string' ? { pid: v.pid, start: v.start } : { pid: v.pid };
    }
  } catch {
    /* not ours */
  }
  return undefined;
}

/** Who holds the lock at `path`, judged once. */
function holderOf(path: string): Holder {
  let text: string;
  let mtimeMs: number;
  try {
    text = readFileSync(path, 'utf8');
    mtimeMs = statSync(path).mtimeMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    throw e;
  }
  const info = parse(text);
  if (info) return alive(info) ? { kind: 'live', info } : { kind: 'stale', text };
  // Not our format: only old enough content is abandoned (a writer of another kind may be busy).
  return Date.now() - mtimeMs > STALE_UNREADABLE_MS ? { kind: 'stale', text } : { kind: 'live', info: { pid: 0 } };
}

/** Creates `path` holding `content`, atomically and only if it does not exist. */
function createWhole(path: string, content: string): boolean {
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, content);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/**
 * Removes the lock at `lockPath` if it still holds exactly the stale `text`, under the takeover
 * lock; false when another process holds the takeover lock.
 */
function takeOver(lockPath: string, text: string, me: string): boolean {
  const guard = `${lockPath}.takeover`;
  if (!createWhole(guard, me)) {
    // Another process is taking over; its guard is abandoned only if it died (or is not ours and old).
    const g = holderOf(guard);
    if (g.kind === 'stale') unlinkQuiet(guard);
    return false;
  }
  try {
    let now: string | undefined;
    try {
      now = readFileSync(lockPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (now === text && holderOf(lockPath).kind === 'stale') unlinkQuiet(lockPath);
    return true;
  } finally {
    unlinkQuiet(guard);
  }
}

export interface FileLock {
  readonly path: string;
  release(): void;
}

export interface LockOptions {
  /** How long to wait for a live holder to let go before InUseError (ms; default 0: do not wait). */
  waitMs?: number;
}

/**
 * Takes the lock at `lockPath` for the datastore file `dataPath`, waiting up to `waitMs` for a live
 * holder, or throws InUseError naming the holder.
 */
export async function acquireLock(lockPath: string, dataPath: string, opts: LockOptions = {}): Promise<FileLock> {
  const info: LockInfo = { pid: process.pid };
  const start = procStart(process.pid);
  if (start !== undefined) info.start = start;
  const me = JSON.stringify(info);
  const deadline = Date.now() + (opts.waitMs ?? 0);
  for (let attempt = 0; ; attempt++) {
    if (createWhole(lockPath, me)) return held(lockPath, me);
    const h = holderOf(lockPath);
    if (h.kind === 'stale') {
      if (!takeOver(lockPath, h.text, me)) await pause();
    } else if (h.kind === 'live') {
      if (Date.now() >= deadline) throw new InUseError(dataPath, h.info.pid || undefined);
      await pause();
    } else if (attempt > 1000) throw new InUseError(dataPath, undefined); // appears and vanishes endlessly
  }
}

function pause(): Promise<void> {
  return new Promise((r) => setTimeout(r, 10 + Math.random() * 40));
}

function held(lockPath: string, me: string): FileLock {
  let released = false;
  return {
    path: lockPath,
    release: () => {
      if (released) return;
      released = true;
      try {
        if (readFileSync(lockPath, 'utf8') === me) unlinkSync(lockPath);
      } catch {
        /* already gone */
      }
    },
  };
}
