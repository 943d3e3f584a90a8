// Per-socket options for BGP sessions: TCP MD5 signatures (RFC 2385) and GTSM (RFC 5082,
// outgoing TTL 255 and a minimum TTL on receive), on raw fds through koffi setsockopt.
import type { Server, Socket } from 'node:net';
import { SocketInputError, SocketOptionError } from './errors.js';
import {
  AF_INET,
  IP_MINTTL,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
  IPV6_MINHOPCOUNT,
  IPV6_UNICAST_HOPS,
  sockLibc,
  SO_DOMAIN,
  SOL_SOCKET,
  TCP_MD5SIG,
  TCP_MD5SIG_MAXKEYLEN,
} from './libc.js';
import { SOCKADDR_STORAGE_LEN, writeSockaddr } from './sockaddr.js';

/** struct tcp_md5sig: sockaddr_storage, u8 flags, u8 prefixlen, u16 keylen, int ifindex, u8 key[80]. */
const MD5SIG_LEN = SOCKADDR_STORAGE_LEN + 1 + 1 + 2 + 4 + TCP_MD5SIG_MAXKEYLEN;

/** The address family (4 or 6) of a socket fd. */
export function socketFamily(fd: number): 4 | 6 {
  checkFd(fd);
  const v = Buffer.alloc(4);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(4);
  const r = sockLibc().getsockopt(fd, SOL_SOCKET, SO_DOMAIN, v, len);
  if (r < 0) throw new SocketOptionError(`getsockopt(SO_DOMAIN) on fd ${fd}`, -r, 'the fd must be an open socket');
  const d = v.readInt32LE(0);
  if (d === AF_INET) return 4;
  if (d === 10) return 6;
  throw new SocketInputError(`fd ${fd} is not an IPv4/IPv6 socket (domain ${d})`, 'pass the fd of a TCP socket');
}

function checkFd(fd: number): void {
  if (!Number.isInteger(fd) || fd < 0) throw new SocketInputError(`${String(fd)} is not a file descriptor`, 'pass the fd of a TCP socket (see fdOf)');
}

/**
 * Sets (key) or removes (null) the TCP MD5 key for one peer address on a socket: on a listener
 * it applies to incoming connections from that peer, on a connecting socket it must be set
 * before connect(). An IPv4 peer on an IPv6 (dual-stack) socket is keyed by its mapped address.
 */
export function setTcpMd5(fd: number, peer: string, key: string | null): void {
  const fam = socketFamily(fd);
  const keyBytes = key === null ? Buffer.alloc(0) : Buffer.from(key, 'utf8');
  if (key !== null && (keyBytes.length === 0 || keyBytes.length > TCP_MD5SIG_MAXKEYLEN)) {
    throw new SocketInputError(`TCP MD5 password for ${peer} is ${keyBytes.length} bytes`, `use 1..${TCP_MD5SIG_MAXKEYLEN} bytes (or null to remove it)`);
  }
  const b = Buffer.alloc(MD5SIG_LEN);
  writeSockaddr(b, peer, 0, fam);
  b.writeUInt16LE(keyBytes.length, SOCKADDR_STORAGE_LEN + 2);
  keyBytes.copy(b, SOCKADDR_STORAGE_LEN + 8);
  const r = sockLibc().setsockopt(fd, IPPROTO_TCP, TCP_MD5SIG, b, MD5SIG_LEN);
  if (r < 0) {
    const errno = -r;
    if (key === null && errno === 2) return; // ENOENT: there was no key for this peer
    throw new SocketOptionError(
      `${key === null ? 'removing' : 'setting'} the TCP MD5 key for ${peer} on fd ${fd}`,
      errno,
      errno === 92 ? 'the kernel lacks CONFIG_TCP_MD5SIG' : errno === 22 ? 'the socket must be TCP and the peer of its family' : undefined,
    );
  }
}

function setInt(fd: number, level: number, name: number, value: number, what: string): void {
  const v = Buffer.alloc(4);
  v.writeInt32LE(value);
  const r = sockLibc().setsockopt(fd, level, name, v, 4);
  if (r < 0) throw new SocketOptionError(`setting ${what}=${value} on fd ${fd}`, -r);
}

function checkTtl(ttl: number, what: string, min: number): void {
  if (!Number.isInteger(ttl) || ttl < min || ttl > 255) throw new SocketInputError(`${what} ${String(ttl)} is out of range`, `use ${min}..255`);
}

/**
 * GTSM receive side: packets arriving with a lower TTL / hop limit are dropped (0 disables).
 * On an IPv6 socket the IPv4 option is set too, for IPv4-mapped peers of a dual-stack socket.
 */
export function setMinTtl(fd: number, family: 4 | 6, minTtl: number): void {
  checkFd(fd);
  checkTtl(minTtl, 'minimum TTL', 0);
  if (family === 4) {
    setInt(fd, IPPROTO_IP, IP_MINTTL, minTtl, 'IP_MINTTL');
  } else {
    setInt(fd, IPPROTO_IPV6, IPV6_MINHOPCOUNT, minTtl, 'IPV6_MINHOPCOUNT');
    // A dual-stack IPv6 socket also carries IPv4 (mapped) peers: their TTL is checked by IP_MINTTL.
    trySetInt(fd, IPPROTO_IP, IP_MINTTL, minTtl);
  }
}

function trySetInt(fd: number, level: number, name: number, value: number): void {
  const v = Buffer.alloc(4);
  v.writeInt32LE(value);
  sockLibc().setsockopt(fd, level, name, v, 4);
}

/** TTL / hop limit of packets we send (GTSM: 255). */
export function setTtl(fd: number, family: 4 | 6, ttl: number): void {
  checkFd(fd);
  checkTtl(ttl, 'TTL', 1);
  if (family === 4) {
    setInt(fd, IPPROTO_IP, IP_TTL, ttl, 'IP_TTL');
  } else {
    setInt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, ttl, 'IPV6_UNICAST_HOPS');
    trySetInt(fd, IPPROTO_IP, IP_TTL, ttl); // IPv4-mapped peers of a dual-stack socket
  }
}

/** The kernel fd behind a connected net.Socket or a listening net.Server (Linux/libuv). */
export function fdOf(s: Socket | Server): number {
  const handle = (s as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || !Number.isInteger(fd) || fd < 0) {
    throw new SocketInputError(
      'this socket/server has no file descriptor (not connected/listening yet, closed, or not a TCP handle on Linux)',
      'call it after "connect" / "listening", on a TCP socket',
    );
  }
  return fd;
}
