// struct sockaddr_in / sockaddr_in6 in host memory layout (family in host order, port and address
// in network order), for bind/connect and for tcp_md5sig's sockaddr_storage.
import { isIPv4, isIPv6 } from 'node:net';
import { parseIP } from '../../src/netlink/ip.js';
import { AF_INET, AF_INET6 } from './libc.js';
import { SocketInputError } from './errors.js';

export const SOCKADDR_STORAGE_LEN = 128;

/** IPv4 → 4 bytes; IPv6 → 16 bytes; IPv4 into an IPv6 socket → the IPv4-mapped form. */
export function addressBytes(addr: string, socketFamily: 4 | 6): Uint8Array {
  const ip = isIPv4(addr) || isIPv6(addr) ? parseIP(addr) : undefined;
  if (!ip) throw new SocketInputError(`"${addr}" is not an IP address`, 'give the peer as an IPv4 or IPv6 address, not a name');
  if (ip.family === socketFamily) return ip.bytes;
  if (ip.family === 4 && socketFamily === 6) {
    const b = new Uint8Array(16);
    b[10] = 0xff;
    b[11] = 0xff;
    b.set(ip.bytes, 12);
    return b;
  }
  throw new SocketInputError(`IPv6 address ${addr} cannot be used on an IPv4 socket`, 'use an IPv6 socket (listen on "::") for IPv6 peers');
}

/** Writes a sockaddr for addr:port into buf (zeroed first); returns its length. */
export function writeSockaddr(buf: Buffer, addr: string, port: number, socketFamily: 4 | 6): number {
  buf.fill(0);
  const bytes = addressBytes(addr, socketFamily);
  if (socketFamily === 4) {
    buf.writeUInt16LE(AF_INET, 0);
    buf.writeUInt16BE(port, 2);
    buf.set(bytes, 4);
    return 16;
  }
  buf.writeUInt16LE(AF_INET6, 0);
  buf.writeUInt16BE(port, 2);
  buf.set(bytes, 8);
  return 28;
}

export function sockaddr(addr: string, port: number, socketFamily: 4 | 6): { buf: Buffer; len: number } {
  const buf = Buffer.alloc(SOCKADDR_STORAGE_LEN);
  const len = writeSockaddr(buf, addr, port, socketFamily);
  return { buf, len };
}

export function familyOf(addr: string): 4 | 6 {
  if (isIPv4(addr)) return 4;
  if (isIPv6(addr)) return 6;
  throw new SocketInputError(`"${addr}" is not an IP address`, 'give an IPv4 or IPv6 address');
}
