// Compact IP addresses and prefixes. IPv4 addresses are unsigned 32-bit numbers; IPv6 addresses
// are 16-octet Buffers. Strings are made only on demand (formatPrefix, formatIpv4, formatIpv6).
import { formatIPv4Number, formatIPv6 } from '../../src/lib/ip-text.js';
import { AFI_IPV4, AFI_IPV6 } from './constants.js';
import { BgpEncodeError } from './errors.js';

export interface Ipv4Prefix {
  readonly afi: typeof AFI_IPV4;
  /** Network address as an unsigned 32-bit number, host bits cleared. */
  readonly addr: number;
  /** Prefix length, 0..32. */
  readonly len: number;
  /** RFC 7911 path identifier; 0 when ADD-PATH is not in use. */
  readonly pathId: number;
}

export interface Ipv6Prefix {
  readonly afi: typeof AFI_IPV6;
  /** Network address, 16 octets, host bits cleared. Treat as read-only. */
  readonly addr: Buffer;
  /** Prefix length, 0..128. */
  readonly len: number;
  readonly pathId: number;
}

export type Prefix = Ipv4Prefix | Ipv6Prefix;

/** A next hop: IPv4, or IPv6 with an optional link-local second address (RFC 2545). */
export type NextHop =
  | { readonly afi: typeof AFI_IPV4; readonly addr: number }
  | { readonly afi: typeof AFI_IPV6; readonly addr: Buffer; readonly linkLocal?: Buffer };

export function ipv4Prefix(addr: number, len: number, pathId = 0): Ipv4Prefix {
  return { afi: AFI_IPV4, addr: maskIpv4(addr, len), len, pathId };
}

export function ipv6Prefix(addr: Buffer, len: number, pathId = 0): Ipv6Prefix {
  const a = Buffer.alloc(16);
  addr.copy(a, 0, 0, Math.min(16, addr.length));
  maskIpv6InPlace(a, 0, len);
  return { afi: AFI_IPV6, addr: a, len, pathId };
}

export function maskIpv4(addr: number, len: number): number {
  if (len <= 0) return 0;
  if (len >= 32) return addr >>> 0;
  return (addr & (0xffffffff << (32 - len))) >>> 0;
}

/** Clears the host bits of the 16-octet address at buf[off..off+16). */
export function maskIpv6InPlace(buf: Buffer, off: number, len: number): void {
  const full = len >> 3;
  const rem = len & 7;
  let i = full;
  if (rem !== 0 && i < 16) {
    buf[off + i] = (buf[off + i] ?? 0) & ((0xff << (8 - rem)) & 0xff);
    i++;
  }
  for (; i < 16; i++) buf[off + i] = 0;
}

/** Dotted quad of an unsigned 32-bit address; RFC 5952 text of 16 octets (src/lib/ip-text.ts). */
export { formatIPv4Number as formatIpv4, formatIPv6 as formatIpv6 };

export function formatNextHop(nh: NextHop): string {
  if (nh.afi === AFI_IPV4) return formatIPv4Number(nh.addr);
  return nh.linkLocal ? `${formatIPv6(nh.addr)} (link-local ${formatIPv6(nh.linkLocal)})` : formatIPv6(nh.addr);
}

export function formatPrefix(p: Prefix): string {
  const base = p.afi === AFI_IPV4 ? `${formatIPv4Number(p.addr)}/${p.len}` : `${formatIPv6(p.addr)}/${p.len}`;
  return p.pathId !== 0 ? `${base} path-id ${p.pathId}` : base;
}

export function parseIpv4(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4) throw bad(s, 'IPv4 address');
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) throw bad(s, 'IPv4 address');
    const v = Number(part);
    if (v > 255) throw bad(s, 'IPv4 address');
    n = n * 256 + v;
  }
  return n >>> 0;
}

export function parseIpv6(s: string): Buffer {
  const out = Buffer.alloc(16);
  let text = s;
  const words: number[] = [];
  // Embedded IPv4 in the last 32 bits.
  const lastColon = text.lastIndexOf(':');
  let tailV4: number | undefined;
  if (text.includes('.', lastColon)) {
    tailV4 = parseIpv4(text.slice(lastColon + 1));
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) throw bad(s, 'IPv6 address');
  const parse = (h: string): number[] =>
    h === ''
      ? []
      : h.split(':').map((w) => {
          if (!/^[0-9a-fA-F]{1,4}$/.test(w)) throw bad(s, 'IPv6 address');
          return parseInt(w, 16);
        });
  const head = parse(halves[0] ?? '');
  if (halves.length === 2) {
    const tail = parse(halves[1] ?? '');
    if (head.length + tail.length > 7) throw bad(s, 'IPv6 address');
    words.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  } else {
    if (head.length !== 8) throw bad(s, 'IPv6 address');
    words.push(...head);
  }
  for (let i = 0; i < 8; i++) out.writeUInt16BE(words[i] ?? 0, 2 * i);
  if (tailV4 !== undefined) out.writeUInt32BE(tailV4, 12);
  return out;
}

/** Parses "10.0.0.0/8" or "2001:db8::/32" into a canonical prefix (host bits cleared). */
export function parsePrefix(s: string, pathId = 0): Prefix {
  const slash = s.indexOf('/');
  if (slash < 0) throw bad(s, 'prefix (address/length)');
  const addr = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) throw bad(s, 'prefix (address/length)');
  const len = Number(lenText);
  if (addr.includes(':')) {
    if (len > 128) throw bad(s, 'IPv6 prefix (length 0..128)');
    return ipv6Prefix(parseIpv6(addr), len, pathId);
  }
  if (len > 32) throw bad(s, 'IPv4 prefix (length 0..32)');
  return ipv4Prefix(parseIpv4(addr), len, pathId);
}

/** Parses an address into a NextHop ("192.0.2.1", "2001:db8::1" or "2001:db8::1%fe80::1"). */
export function parseNextHop(s: string): NextHop {
  if (!s.includes(':')) return { afi: AFI_IPV4, addr: parseIpv4(s) };
  const pct = s.indexOf('%');
  if (pct >= 0) return { afi: AFI_IPV6, addr: parseIpv6(s.slice(0, pct)), linkLocal: parseIpv6(s.slice(pct + 1)) };
  return { afi: AFI_IPV6, addr: parseIpv6(s) };
}

function bad(s: string, what: string): BgpEncodeError {
  return new BgpEncodeError(`"${s}" is not a valid ${what}`, 'write it like 10.0.0.0/8, 192.0.2.1, 2001:db8::/32');
}
