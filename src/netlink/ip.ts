// IP address and prefix parsing/formatting for the wire codec. Kept here (not ip-address) because
// dumps of 100k routes format 100k prefixes: this is the hot path and must not allocate much.

import { formatIPv4, formatIPv6 } from '../lib/ip-text.js';

export type Family = 4 | 6;

export interface ParsedPrefix {
  family: Family;
  /** 4 or 16 bytes, network byte order. */
  bytes: Uint8Array;
  prefixLength: number;
}

/**
 * Parses the dotted quad in s[start..end) into a 32-bit number (host order); -1 when malformed.
 * Leading zeros are refused (inet_aton would read them as octal).
 */
export function parseIPv4Number(s: string, start = 0, end = s.length): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      if (++dots > 3) return -1;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return -1;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

/** Parses a dotted-quad IPv4 address; undefined when malformed. */
export function parseIPv4(s: string): Uint8Array | undefined {
  const v = parseIPv4Number(s);
  if (v < 0) return undefined;
  return new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
}

/** Parses an IPv6 address (with "::" and an optional trailing dotted quad); undefined when malformed. */
export function parseIPv6(s: string): Uint8Array | undefined {
  if (s.length < 2 || s.includes('%')) return undefined;
  const dbl = s.indexOf('::');
  if (dbl !== -1 && s.indexOf('::', dbl + 1) !== -1) return undefined;
  const groups: number[] = [];
  const parseSide = (side: string): number[] | undefined => {
    if (side === '') return [];
    const out: number[] = [];
    const items = side.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i]!;
      if (i === items.length - 1 && it.includes('.')) {
        const v4 = parseIPv4(it);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return undefined;
      out.push(parseInt(it, 16));
    }
    return out;
  };
  if (dbl === -1) {
    const all = parseSide(s);
    if (!all || all.length !== 8) return undefined;
    groups.push(...all);
  } else {
    const head = parseSide(s.slice(0, dbl));
    const tail = parseSide(s.slice(dbl + 2));
    if (!head || !tail || head.length + tail.length > 7) return undefined;
    groups.push(...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail);
  }
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  return out;
}

/** Parses an IPv4 or IPv6 address. */
export function parseIP(s: string): { family: Family; bytes: Uint8Array } | undefined {
  if (s.includes(':')) {
    const b = parseIPv6(s);
    return b ? { family: 6, bytes: b } : undefined;
  }
  const b = parseIPv4(s);
  return b ? { family: 4, bytes: b } : undefined;
}

/**
 * Parses "addr/len" (a bare address means a host prefix). Does not check host bits; see
 * hostBitsSet().
 */
export function parsePrefix(s: string): ParsedPrefix | undefined {
  const slash = s.indexOf('/');
  const ip = parseIP(slash === -1 ? s : s.slice(0, slash));
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  let len = max;
  if (slash !== -1) {
    const l = s.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(l)) return undefined;
    len = Number(l);
    if (len > max) return undefined;
  }
  return { family: ip.family, bytes: ip.bytes, prefixLength: len };
}

/** True when bits beyond the prefix length are set (e.g. 10.0.0.1/24). */
export function hostBitsSet(p: ParsedPrefix): boolean {
  const { bytes, prefixLength } = p;
  for (let bit = prefixLength; bit < bytes.length * 8; bit++) {
    if ((bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) return true;
  }
  return false;
}

// The text form is the project's one canonical form (src/lib/ip-text.ts).
export { formatIPv4, formatIPv6 };

export function formatIP(family: Family, b: Uint8Array, off = 0): string {
  return family === 4 ? formatIPv4(b, off) : formatIPv6(b, off);
}

/** Canonical text of an address, or undefined when malformed. */
export function canonicalIP(s: string): string | undefined {
  const ip = parseIP(s);
  return ip ? formatIP(ip.family, ip.bytes) : undefined;
}

/** Canonical "addr/len" of a prefix, or undefined when malformed. */
export function canonicalPrefix(s: string): string | undefined {
  const p = parsePrefix(s);
  return p ? `${formatIP(p.family, p.bytes)}/${p.prefixLength}` : undefined;
}

/** Parses "aa:bb:cc:dd:ee:ff" into 6 bytes; undefined when malformed. */
export function parseMac(s: string): Uint8Array | undefined {
  const parts = s.split(':');
  if (parts.length !== 6) return undefined;
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) {
    const p = parts[i]!;
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) return undefined;
    out[i] = parseInt(p, 16);
  }
  return out;
}

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case colon-separated hardware address. */
export function formatMac(b: Uint8Array, off = 0, len = 6): string {
  let s = HEX2[b[off]!]!;
  for (let i = 1; i < len; i++) s += ':' + HEX2[b[off + i]!]!;
  return s;
}
