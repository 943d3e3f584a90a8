// Outgoing BGP connections with options that must be in place before the SYN: TCP MD5 and GTSM.
// Node's net.connect gives no fd before connecting, so the socket is made and connected here
// (non-blocking, completion watched from the event loop through koffi's libuv poll) and then
// handed to Node as `new net.Socket({ fd })`.
import koffi, { type node as KoffiNode } from 'koffi';
import { Socket } from 'node:net';
import type { NetnsRef } from '../../src/netlink/index.js';
import { ConnectTimeoutError, SocketInputError, SocketOptionError } from './errors.js';
import { closeFd, tcpSocket } from './fd.js';
import { EINPROGRESS, SO_ERROR, SOL_SOCKET, sockLibc } from './libc.js';
import { setMinTtl, setTcpMd5, setTtl } from './options.js';
import { familyOf, sockaddr } from './sockaddr.js';

export interface ConnectOptions {
  host: string;
  port: number;
  localAddress?: string;
  localPort?: number;
  /** TCP MD5 password shared with the peer (RFC 2385). */
  md5?: string;
  /** TTL / hop limit of our packets (GTSM: 255). */
  ttl?: number;
  /** Drop received packets with a lower TTL / hop limit (GTSM: 255 - hops + 1). */
  minTtl?: number;
  /** Give up after this long (default 30,000 ms). A wrong MD5 key shows up as a timeout. */
  timeoutMs?: number;
  /** Make the socket inside this network namespace (default: the process's). */
  netns?: NetnsRef;
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SocketInputError(`${what} ${String(port)} is out of range`, 'use 0..65535');
}

/** Connects to host:port with the options applied before the SYN; resolves with a connected socket. */
export function connectWithOptions(o: ConnectOptions): Promise<Socket> {
  const family = familyOf(o.host);
  checkPort(o.port, 'port');
  if (o.localAddress !== undefined && familyOf(o.localAddress) !== family) {
    throw new SocketInputError(`local address ${o.localAddress} and peer ${o.host} are of different families`, 'use a local address of the peer\'s family');
  }
  const fd = tcpSocket(family, o.netns);
  const peer = family === 6 ? `[${o.host}]:${o.port}` : `${o.host}:${o.port}`;
  try {
    if (o.md5 !== undefined) setTcpMd5(fd, o.host, o.md5);
    if (o.ttl !== undefined) setTtl(fd, family, o.ttl);
    if (o.minTtl !== undefined) setMinTtl(fd, family, o.minTtl);
    if (o.localAddress !== undefined || o.localPort !== undefined) {
      checkPort(o.localPort ?? 0, 'local port');
      const a = sockaddr(o.localAddress ?? (family === 4 ? '0.0.0.0' : '::'), o.localPort ?? 0, family);
      const r = sockLibc().bind(fd, a.buf, a.len);
      if (r < 0) throw new SocketOptionError(`binding to ${o.localAddress ?? '*'}:${o.localPort ?? 0}`, -r, 'the local address must be configured on this host (and the port free)');
    }
    const to = sockaddr(o.host, o.port, family);
    const r = sockLibc().connect(fd, to.buf, to.len);
    if (r < 0 && -r !== EINPROGRESS) throw new SocketOptionError(`connecting to ${peer}`, -r);
  } catch (e) {
    closeFd(fd);
    return Promise.reject(e);
  }
  const timeoutMs = o.timeoutMs ?? 30_000;
  return new Promise<Socket>((resolve, reject) => {
    let done = false;
    const finish = (err: Error | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      poll.close();
      if (err) {
        closeFd(fd);
        reject(err);
        return;
      }
      // Let libuv forget the poll watcher before a stream takes the fd over.
      setImmediate(() => {
        try {
          resolve(new Socket({ fd, readable: true, writable: true }));
        } catch (e) {
          closeFd(fd);
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      });
    };
    const onWritable = (): void => {
      const v = Buffer.alloc(4);
      const len = Buffer.alloc(4);
      len.writeUInt32LE(4);
      const r = sockLibc().getsockopt(fd, SOL_SOCKET, SO_ERROR, v, len);
      const errno = r < 0 ? -r : v.readInt32LE(0);
      finish(errno === 0 ? undefined : new SocketOptionError(`connecting to ${peer}`, errno));
    };
    const poll = koffi.node.poll(fd, { writable: true }, onWritable as unknown as (ev: KoffiNode.PollEvents) => void);
    const timer = setTimeout(() => finish(new ConnectTimeoutError(peer, timeoutMs, o.md5 !== undefined)), timeoutMs);
  });
}
