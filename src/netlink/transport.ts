// A netlink socket (NETLINK_ROUTE unless asked; nflog.ts opens NETLINK_NETFILTER) as a Transport: non-blocking send/recv plus a way to wait for
// readability without blocking Node's event loop. The session (session.ts) speaks the protocol
// over this interface, so unit tests can script a fake transport.
import * as C from './constants.js';
import { Errno } from './errno.js';
import { NetlinkSocketError } from './errors.js';
import { getLibc, makePoller, type Poller } from './libc.js';
import { withNetns } from './netns.js';
import type { NetnsRef } from './ref.js';

export interface Transport {
  /** Sends buf[0..len) as one datagram; returns bytes sent or -errno. */
  send(buf: Buffer, len: number): number;
  /**
   * The same off the event loop's thread (the kernel does a request's work inside send: a veth
   * delete takes tens of ms). Absent: send() is used. buf must stay untouched until it resolves.
   */
  sendAsync?(buf: Buffer, len: number): Promise<number>;
  /** Receives one datagram without blocking; returns its length or -errno (-EAGAIN: nothing queued). */
  recv(buf: Buffer): number;
  /** Resolves once something is queued to receive. */
  readable(): Promise<void>;
  /** Reply messages the receive buffer can hold at once (errors are ~1 KiB of buffer each). */
  readonly maxRepliesQueued: number;
  close(): void;
}

export interface SocketOptions {
  /** Create the socket inside this namespace (fd from openNetns). Absent: the caller's namespace. */
  nsFd?: number;
  ref?: NetnsRef;
  /** Multicast groups to join (RTNLGRP_*), for monitors. */
  groups?: number[];
  sndbuf?: number;
  rcvbuf?: number;
  /** The netlink family (default NETLINK_ROUTE). */
  protocol?: number;
}

const SKB_TRUESIZE_PER_REPLY = 1024;

/**
 * Reads every datagram queued on a watched socket without blocking (the monitor's and the NFLOG
 * reader's loop): onData(length) per datagram, onOverrun() when the kernel dropped some (ENOBUFS).
 * Returns 0 once nothing is queued (or stop() says so), or the negative errno of another failure.
 */
export function drainQueued(t: Transport, buf: Buffer, stop: () => boolean, onData: (n: number) => void, onOverrun: () => void): number {
  while (!stop()) {
    const n = t.recv(buf);
    if (n === -Errno.EAGAIN) return 0;
    if (n === -Errno.EINTR) continue;
    if (n === -Errno.ENOBUFS) {
      onOverrun();
      continue;
    }
    if (n < 0) return n;
    onData(n);
  }
  return 0;
}

function setInt(fd: number, level: number, name: number, v: number): number {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return getLibc().setsockopt(fd, level, name, b, 4);
}

function getInt(fd: number, level: number, name: number): number {
  const b = Buffer.alloc(4);
  const l = Buffer.alloc(4);
  l.writeUInt32LE(4, 0);
  const r = getLibc().getsockopt(fd, level, name, b, l);
  return r < 0 ? r : b.readInt32LE(0);
}

/** Opens a non-blocking netlink socket (NETLINK_ROUTE by default), in a namespace if asked. */
export function openSocket(o: SocketOptions = {}): { fd: number; transport: Transport } {
  const libc = getLibc();
  const make = (): number => libc.socket(C.AF_NETLINK, C.SOCK_RAW | C.SOCK_CLOEXEC | C.SOCK_NONBLOCK, o.protocol ?? C.NETLINK_ROUTE);
  const fd = o.nsFd !== undefined ? withNetns(o.nsFd, o.ref ?? { current: true }, make) : make();
  if (fd < 0) throw new NetlinkSocketError('socket', -fd);
  try {
    // Big buffers: a batch's replies and a monitor's bursts must not overflow. The *FORCE
    // variants need CAP_NET_ADMIN; without it fall back to the capped ones.
    const snd = o.sndbuf ?? 4 << 20;
    const rcv = o.rcvbuf ?? 32 << 20;
    if (setInt(fd, C.SOL_SOCKET, C.SO_SNDBUFFORCE, snd) < 0) setInt(fd, C.SOL_SOCKET, C.SO_SNDBUF, snd);
    if (setInt(fd, C.SOL_SOCKET, C.SO_RCVBUFFORCE, rcv) < 0) setInt(fd, C.SOL_SOCKET, C.SO_RCVBUF, rcv);
    setInt(fd, C.SOL_NETLINK, C.NETLINK_EXT_ACK, 1);
    setInt(fd, C.SOL_NETLINK, C.NETLINK_CAP_ACK, 1);
    setInt(fd, C.SOL_NETLINK, C.NETLINK_GET_STRICT_CHK, 1);
    const sa = Buffer.alloc(12);
    sa.writeUInt16LE(C.AF_NETLINK, 0);
    const b = libc.bind(fd, sa, 12);
    if (b < 0) throw new NetlinkSocketError('bind', -b);
    for (const g of o.groups ?? []) {
      const r = setInt(fd, C.SOL_NETLINK, C.NETLINK_ADD_MEMBERSHIP, g);
      if (r < 0) throw new NetlinkSocketError(`join group ${g}`, -r);
    }
    const rcvActual = getInt(fd, C.SOL_SOCKET, C.SO_RCVBUF);
    const maxRepliesQueued = Math.max(16, Math.floor((rcvActual > 0 ? rcvActual : 212992) / SKB_TRUESIZE_PER_REPLY / 2));
    let poller: Poller | undefined;
    let closed = false;
    let waiting: (() => void) | undefined;
    const transport: Transport = {
      maxRepliesQueued,
      send: (buf, len) => libc.send(fd, buf, len, 0),
      sendAsync: (buf, len) => libc.sendAsync(fd, buf, len, 0),
      recv: (buf) => libc.recv(fd, buf, buf.length, C.MSG_DONTWAIT),
      readable: () =>
        new Promise<void>((resolve) => {
          if (closed) return resolve();
          waiting = resolve;
          poller ??= makePoller(fd);
          poller.once(() => {
            waiting = undefined;
            resolve();
          });
        }),
      close: () => {
        if (closed) return;
        closed = true;
        poller?.close();
        libc.close(fd);
        // Wake a request waiting for a reply: it sees the session closed and fails.
        waiting?.();
        waiting = undefined;
      },
    };
    return { fd, transport };
  } catch (e) {
    libc.close(fd);
    throw e;
  }
}
