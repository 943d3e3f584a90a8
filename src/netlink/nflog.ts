// NFLOG over netlink (nfnetlink_log): binds one NFLOG group on a NETLINK_NETFILTER socket and
// delivers each logged packet — its prefix, interfaces and the first bytes of the packet — as it
// arrives. Watched by libuv (koffi's poll) like the monitor: no thread, no blocking recv.
// encodeNflogConfig / decodeNflogPacket are pure, for tests.
import * as C from './constants.js';
import { Errno } from './errno.js';
import { NetlinkError, NetlinkSocketError } from './errors.js';
import { TwillError } from '../errors.js';
import { getLibc, makePoller } from './libc.js';
import { openNetns } from './netns.js';
import type { NetnsRef } from './ref.js';
import { drainQueued, openSocket } from './transport.js';
import { attrString, forEachAttr, forEachMessage, Writer, type RawMessage } from './wire.js';

/** One packet NFLOG handed over. */
export interface NflogPacket {
  /** The NFLOG group it was logged to. */
  group: number;
  /** The address family of the packet: 2 (IPv4) or 10 (IPv6). */
  family: number;
  /** The rule's --nflog-prefix ("" when none). */
  prefix: string;
  /** Netfilter hook (0 PREROUTING, 1 INPUT, 2 FORWARD, 3 OUTPUT, 4 POSTROUTING). */
  hook: number | undefined;
  /** Interface indexes the packet came in on / was going out of. */
  indev: number | undefined;
  outdev: number | undefined;
  /** The packet from its network header, cut at the copy range (a copy: safe to keep). */
  payload: Buffer;
}

export interface NflogConfig {
  group: number;
  /** Bytes of each packet to copy (default 128: IPv6 + extension headers + TCP/UDP ports). */
  copyRange?: number;
}

const CONFIG_TYPE = (C.NFNL_SUBSYS_ULOG << 8) | C.NFULNL_MSG_CONFIG;
const PACKET_TYPE = (C.NFNL_SUBSYS_ULOG << 8) | C.NFULNL_MSG_PACKET;
export const DEFAULT_NFLOG_COPY_RANGE = 128;

function nfgenmsg(w: Writer, family: number, resId: number): void {
  w.u8(family);
  w.u8(C.NFNETLINK_V0);
  w.ensure(2);
  w.buf.writeUInt16BE(resId & 0xffff, w.len);
  w.len += 2;
}

function attrBE32(w: Writer, type: number, v: number): void {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0, 0);
  w.attrBytes(type, b);
}

/**
 * One config request: bind the group to this socket, copy whole packets up to copyRange, send
 * each at once (queue threshold 1, flush timeout 10 ms) instead of batching for a second.
 */
export function encodeNflogConfig(w: Writer, seq: number, c: NflogConfig): void {
  const start = w.begin(CONFIG_TYPE, C.NLM_F_REQUEST | C.NLM_F_ACK, seq);
  nfgenmsg(w, C.AF_UNSPEC, c.group);
  w.attrBytes(C.NFULA_CFG_CMD, Uint8Array.of(C.NFULNL_CFG_CMD_BIND));
  const mode = Buffer.alloc(6);
  mode.writeUInt32BE(c.copyRange ?? DEFAULT_NFLOG_COPY_RANGE, 0);
  mode[4] = C.NFULNL_COPY_PACKET;
  w.attrBytes(C.NFULA_CFG_MODE, mode);
  attrBE32(w, C.NFULA_CFG_QTHRESH, 1);
  attrBE32(w, C.NFULA_CFG_TIMEOUT, 1);
  w.end(start);
}

/** The packet in one received message, or undefined when it is not an NFLOG packet message. */
export function decodeNflogPacket(buf: Buffer, m: RawMessage): NflogPacket | undefined {
  if (m.type !== PACKET_TYPE || m.len < 4) return undefined;
  const family = buf[m.off]!;
  const group = buf.readUInt16BE(m.off + 2);
  const p: NflogPacket = { group, family, prefix: '', hook: undefined, indev: undefined, outdev: undefined, payload: Buffer.alloc(0) };
  forEachAttr(buf, m.off + 4, m.off + m.len, (type, voff, vlen) => {
    switch (type) {
      case C.NFULA_PACKET_HDR:
        if (vlen >= 3) p.hook = buf[voff + 2];
        break;
      case C.NFULA_IFINDEX_INDEV:
        if (vlen >= 4) p.indev = buf.readUInt32BE(voff);
        break;
      case C.NFULA_IFINDEX_OUTDEV:
        if (vlen >= 4) p.outdev = buf.readUInt32BE(voff);
        break;
      case C.NFULA_PREFIX:
        p.prefix = attrString(buf, voff, vlen);
        break;
      case C.NFULA_PAYLOAD:
        p.payload = Buffer.from(buf.subarray(voff, voff + vlen));
        break;
    }
  });
  return p;
}

export interface NflogReader {
  readonly group: number;
  /** Messages the kernel could not queue for us (receive buffer full) since the start. */
  readonly lost: number;
  close(): void;
}

export interface NflogOptions extends NflogConfig {
  /** Default: the caller's namespace. */
  ns?: NetnsRef;
  /** Reading failed for good (not an overrun); the reader is closed. */
  onError?: (e: Error) => void;
}

/**
 * Binds an NFLOG group and calls onPacket for each packet logged to it, until close(). Fails
 * with NflogGroupBusy when another socket (another reader) holds the group in this namespace. The reader keeps
 * the process alive until closed.
 */
export async function openNflog(opts: NflogOptions, onPacket: (p: NflogPacket) => void): Promise<NflogReader> {
  const ns = opts.ns ?? { current: true };
  const nsFd = 'current' in ns ? -1 : openNetns(ns);
  let sock: ReturnType<typeof openSocket>;
  try {
    sock = openSocket({ ...(nsFd >= 0 ? { nsFd, ref: ns } : {}), protocol: C.NETLINK_NETFILTER, rcvbuf: 4 << 20, sndbuf: 1 << 16 });
  } finally {
    if (nsFd >= 0) getLibc().close(nsFd);
  }
  const { fd, transport } = sock;
  const buf = Buffer.alloc(1 << 16);
  try {
    const w = new Writer(256);
    encodeNflogConfig(w, 1, opts);
    const sent = transport.send(w.buf, w.len);
    if (sent < 0) throw new NetlinkSocketError('send (nflog bind)', -sent);
    // The ACK (or the error) answers the request.
    for (;;) {
      const n = transport.recv(buf);
      if (n === -Errno.EAGAIN || n === -Errno.EINTR) {
        await transport.readable();
        continue;
      }
      if (n < 0) throw new NetlinkSocketError('recv (nflog bind)', -n);
      let err: number | undefined;
      forEachMessage(buf, n, (m) => {
        if (m.type === C.NLMSG_ERROR && m.seq === 1) err = -buf.readInt32LE(m.off);
      });
      if (err === undefined) continue;
      // The kernel answers EPERM when another socket owns the group's instance (EBUSY when this
      // one does already) — and EPERM too without CAP_NET_ADMIN.
      if (err === Errno.EPERM || err === Errno.EBUSY) {
        throw new TwillError('NflogGroupBusy', `NFLOG group ${opts.group} is already read by another process in this network namespace (or this process lacks CAP_NET_ADMIN)`, {
          hint: 'stop the other reader (another twill-node, ulogd?) or choose another group with FelixConfiguration logDeniedPacketsGroup; run as root',
        });
      }
      if (err !== 0) throw new NetlinkError(err, `nflog bind group ${opts.group}`);
      break;
    }
  } catch (e) {
    transport.close();
    throw e;
  }

  let lost = 0;
  let closed = false;
  const poller = makePoller(fd);
  const close = (): void => {
    if (closed) return;
    closed = true;
    poller.close();
    transport.close();
  };
  const onMessage = (m: RawMessage): void => {
    const p = decodeNflogPacket(buf, m);
    if (p === undefined) return;
    try {
      onPacket(p);
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  };
  const drain = (): void => {
    const r = drainQueued(transport, buf, () => closed, (n) => forEachMessage(buf, n, onMessage), () => lost++);
    if (r < 0) {
      close();
      opts.onError?.(new NetlinkSocketError('recv (nflog)', -r));
    }
  };
  poller.watch(drain);
  return {
    group: opts.group,
    get lost() {
      return lost;
    },
    close,
  };
}
