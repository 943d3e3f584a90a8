// Network namespace handles. A namespace is entered only on the calling thread and only for the
// length of one synchronous function (withNetns): nothing asynchronous can run in between, so the
// rest of the process never sees the switch. Sockets created inside keep that namespace for life.
import * as C from './constants.js';
import { NetlinkSocketError, NetnsNotFoundError } from './errors.js';
import { getLibc } from './libc.js';
import type { NetnsRef } from './ref.js';

export const NETNS_RUN_DIR = '/run/netns';

/** The file a NetnsRef points at; undefined for the current namespace. */
export function netnsPath(ref: NetnsRef): string | undefined {
  if ('name' in ref) {
    if (!ref.name || ref.name.includes('/') || ref.name === '.' || ref.name === '..') throw new NetnsNotFoundError(ref);
    return `${NETNS_RUN_DIR}/${ref.name}`;
  }
  if ('path' in ref) return ref.path;
  return undefined;
}

/** Opens a namespace file (O_RDONLY|O_CLOEXEC); the caller closes the fd. */
export function openNetns(ref: NetnsRef): number {
  const path = netnsPath(ref) ?? '/proc/thread-self/ns/net';
  const fd = getLibc().open(path, C.O_RDONLY | C.O_CLOEXEC);
  if (fd < 0) {
    if (-fd === 2 || -fd === 20) throw new NetnsNotFoundError(ref); // ENOENT, ENOTDIR
    throw new NetlinkSocketError(`open ${path}`, -fd);
  }
  return fd;
}

/**
 * Runs fn with the calling thread inside the namespace nsFd, then switches back. fn must be
 * synchronous. Throws NetnsNotFoundError when nsFd is not a network namespace.
 */
export function withNetns<T>(nsFd: number, ref: NetnsRef, fn: () => T): T {
  const libc = getLibc();
  const self = libc.open('/proc/thread-self/ns/net', C.O_RDONLY | C.O_CLOEXEC);
  if (self < 0) throw new NetlinkSocketError('open /proc/thread-self/ns/net', -self);
  try {
    enter(nsFd, ref);
    try {
      return fn();
    } finally {
      const back = libc.setns(self, C.CLONE_NEWNET);
      if (back < 0) {
        // Staying in the wrong namespace would silently misdirect everything else: stop hard.
        process.stderr.write(`twill netlink: cannot return to the original network namespace (errno ${-back}); aborting\n`);
        process.abort();
      }
    }
  } finally {
    libc.close(self);
  }
}

/**
 * Moves the calling thread into a namespace for good — for a worker thread that lives there
 * (its sockets, listeners and netlink handles are then in that namespace). Never call this on the
 * main thread: the rest of the process would follow silently. Throws NetnsNotFoundError.
 */
export function enterNetnsForThread(ref: NetnsRef): void {
  const fd = openNetns(ref);
  try {
    enter(fd, ref);
  } finally {
    getLibc().close(fd);
  }
}

function enter(nsFd: number, ref: NetnsRef): void {
  const r = getLibc().setns(nsFd, C.CLONE_NEWNET);
  if (r < 0) {
    if (-r === 22) throw new NetnsNotFoundError(ref, new Error('not a network namespace file')); // EINVAL
    throw new NetlinkSocketError('setns', -r);
  }
}
