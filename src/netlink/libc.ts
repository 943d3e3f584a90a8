// The few libc calls this layer needs, bound with koffi on first use. Every function returns the
// raw result; on failure it returns a negative errno (never throws), so callers decide what an
// error means.
import { constants as osConstants } from 'node:os';
import koffi, { type node as KoffiNode } from 'koffi';

export interface Libc {
  socket(domain: number, type: number, protocol: number): number;
  bind(fd: number, addr: Buffer, len: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  getsockopt(fd: number, level: number, name: number, value: Buffer, len: Buffer): number;
  send(fd: number, buf: Buffer, len: number, flags: number): number;
  /**
   * send() on one of koffi's worker threads. A netlink request is handled by the kernel inside
   * send(): deleting a veth waits for RCU (tens of ms), which must not stall the event loop.
   */
  sendAsync(fd: number, buf: Buffer, len: number, flags: number): Promise<number>;
  recv(fd: number, buf: Buffer, len: number, flags: number): number;
  open(path: string, flags: number): number;
  close(fd: number): number;
  setns(fd: number, nstype: number): number;
}

let libc: Libc | undefined;

type Fn2 = (a: unknown, b: unknown) => number | bigint;
type Fn3 = (a: unknown, b: unknown, c: unknown) => number | bigint;
type Fn4 = (a: unknown, b: unknown, c: unknown, d: unknown) => number | bigint;
type Fn5 = (a: unknown, b: unknown, c: unknown, d: unknown, e: unknown) => number | bigint;
type AsyncFn4 = Fn4 & { async: (a: unknown, b: unknown, c: unknown, d: unknown, cb: (err: unknown, r: number | bigint) => void) => void };

/** A negative errno when r signals failure, else r. Must run right after the call. */
function res(r: number | bigint): number {
  const n = Number(r);
  return n < 0 ? -koffi.errno() : n;
}

export function getLibc(): Libc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  const f = <T>(decl: string): T => lib.func(decl) as unknown as T;
  const socket = f<Fn3>('int socket(int domain, int type, int protocol)');
  const bind = f<Fn3>('int bind(int fd, void *addr, uint32_t len)');
  const setsockopt = f<Fn5>('int setsockopt(int fd, int level, int name, void *value, uint32_t len)');
  const getsockopt = f<Fn5>('int getsockopt(int fd, int level, int name, void *value, void *len)');
  const send = f<AsyncFn4>('intptr_t send(int fd, void *buf, size_t len, int flags)');
  const recv = f<Fn4>('intptr_t recv(int fd, void *buf, size_t len, int flags)');
  const open = f<Fn2>('int open(const char *path, int flags)');
  const close = f<(a: unknown) => number>('int close(int fd)');
  const setns = f<Fn2>('int setns(int fd, int nstype)');
  libc = {
    socket: (a, b, c) => res(socket(a, b, c)),
    bind: (a, b, c) => res(bind(a, b, c)),
    setsockopt: (a, b, c, d, e) => res(setsockopt(a, b, c, d, e)),
    getsockopt: (a, b, c, d, e) => res(getsockopt(a, b, c, d, e)),
    send: (a, b, c, d) => res(send(a, b, c, d)),
    // koffi ≥ 3.2 hands the worker's errno to the callback's thread: res() reads it there. Like
    // every call here it never throws: a call koffi could not make is -EIO.
    sendAsync: (a, b, c, d) => new Promise((resolve) => send.async(a, b, c, d, (err, r) => resolve(err ? -osConstants.errno.EIO : res(r)))),
    recv: (a, b, c, d) => res(recv(a, b, c, d)),
    open: (a, b) => res(open(a, b)),
    close: (a) => res(close(a)),
    setns: (a, b) => res(setns(a, b)),
  };
  return libc;
}

export interface Poller {
  /** Calls onReadable (once) the next time the fd is readable. */
  once(onReadable: () => void): void;
  /** Calls onReadable every time the fd is readable, until stop(). */
  watch(onReadable: () => void): void;
  stop(): void;
  /** Don't keep the process alive for this poller. */
  unref(): void;
  close(): void;
}

type PollHandle = ReturnType<typeof koffi.node.poll>;

/**
 * Readiness of an fd from Node's own event loop (libuv poll via koffi), so waiting never blocks
 * the loop. Koffi calls back with (status, events); a failed status is treated as readable so the
 * caller's next recv() reports the actual error.
 */
export function makePoller(fd: number): Poller {
  let h: PollHandle | undefined;
  let unref = false;
  let cb: (() => void) | undefined;
  let oneShot = false;
  const onEvent = (): void => {
    const f = cb;
    if (oneShot) {
      cb = undefined;
      h?.stop();
    }
    f?.();
  };
  const start = (): void => {
    // Koffi's typings declare (events); at run time the callback gets (status, events).
    const handler = onEvent as unknown as (ev: KoffiNode.PollEvents) => void;
    if (!h) {
      h = koffi.node.poll(fd, { readable: true }, handler);
      if (unref) h.unref();
    } else {
      h.start({ readable: true }, handler);
    }
  };
  return {
    once(onReadable) {
      cb = onReadable;
      oneShot = true;
      start();
    },
    watch(onReadable) {
      cb = onReadable;
      oneShot = false;
      start();
    },
    stop() {
      cb = undefined;
      h?.stop();
    },
    unref() {
      unref = true;
      h?.unref();
    },
    close() {
      cb = undefined;
      h?.close();
      h = undefined;
    },
  };
}
