// A BGP listener whose socket carries TCP MD5 keys (per peer address) and a GTSM minimum TTL
// from before listen(): the fd is made and bound here, then served by a normal net.Server.
import { createServer, type Server, type Socket } from 'node:net';
import type { NetnsRef } from '../../src/netlink/index.js';
import { SocketInputError, SocketOptionError } from './errors.js';
import { closeFd, tcpSocket } from './fd.js';
import { IPPROTO_IPV6, IPV6_V6ONLY, SO_REUSEADDR, SOL_SOCKET, sockLibc } from './libc.js';
import { setMinTtl, setTcpMd5, setTtl } from './options.js';
import { familyOf, sockaddr } from './sockaddr.js';

export interface ListenOptions {
  /** Default "::" (IPv4 and IPv6). */
  host?: string;
  port: number;
  /** peer address → TCP MD5 password. */
  md5Peers?: Map<string, string>;
  minTtl?: number;
  /** TTL of accepted connections' packets (GTSM: 255). */
  ttl?: number;
  backlog?: number;
  netns?: NetnsRef;
}

export interface BgpListener extends Server {
  /** The listening socket's fd. */
  readonly fd: number;
  /** Sets (or, with null, removes) the TCP MD5 password for one peer address. */
  setMd5(peer: string, key: string | null): void;
}

function setInt(fd: number, level: number, name: number, value: number, what: string): void {
  const v = Buffer.alloc(4);
  v.writeInt32LE(value);
  const r = sockLibc().setsockopt(fd, level, name, v, 4);
  if (r < 0) throw new SocketOptionError(`setting ${what}`, -r);
}

export function listenWithOptions(o: ListenOptions, onConnection?: (s: Socket) => void): Promise<BgpListener> {
  const host = o.host ?? '::';
  const family = familyOf(host);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new SocketInputError(`port ${String(o.port)} is out of range`, 'use 0..65535');
  const fd = tcpSocket(family, o.netns);
  try {
    setInt(fd, SOL_SOCKET, SO_REUSEADDR, 1, 'SO_REUSEADDR');
    if (family === 6 && host === '::') setInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 0, 'IPV6_V6ONLY=0');
    for (const [peer, key] of o.md5Peers ?? []) setTcpMd5(fd, peer, key);
    if (o.minTtl !== undefined) setMinTtl(fd, family, o.minTtl);
    if (o.ttl !== undefined) setTtl(fd, family, o.ttl);
    const a = sockaddr(host, o.port, family);
    let r = sockLibc().bind(fd, a.buf, a.len);
    if (r < 0) throw new SocketOptionError(`binding the BGP listener to ${family === 6 ? `[${host}]` : host}:${o.port}`, -r, 'is another BGP daemon listening there? is the address configured on this host?');
    r = sockLibc().listen(fd, o.backlog ?? 511);
    if (r < 0) throw new SocketOptionError(`listen on ${host}:${o.port}`, -r);
  } catch (e) {
    closeFd(fd);
    return Promise.reject(e);
  }
  const server = createServer(onConnection);
  const listener = Object.assign(server, {
    fd,
    setMd5(peer: string, key: string | null): void {
      setTcpMd5(fd, peer, key);
    },
  });
  return new Promise<BgpListener>((resolve, reject) => {
    const onError = (e: Error): void => {
      closeFd(fd);
      reject(e);
    };
    server.once('error', onError);
    server.listen({ fd, backlog: o.backlog ?? 511 }, () => {
      server.off('error', onError);
      resolve(listener);
    });
  });
}
