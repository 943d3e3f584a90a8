// Address parsing for the fake: masks host bits and prints addresses the way the kernel tools do
// (the canonical form of src/lib/ip-text.ts, which is what iptables-save and ipset print).
import { Address6 } from 'ip-address';
import { formatIPv4Number, formatIPv6BigInt } from '../../lib/ip-text.js';
import type { Family } from '../types.js';

export interface Prefix {
  family: Family;
  /** The network address, host bits cleared, in canonical text. */
  addr: string;
  len: number;
  /** The address as an integer (host bits cleared). */
  value: bigint;
}

function parseV4(s: string): bigint | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let v = 0n;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return undefined;
    v = (v << 8n) | BigInt(o);
  }
  return v;
}

function formatV4(v: bigint): string {
  return formatIPv4Number(Number(v));
}

function parseV6(s: string): bigint | undefined {
  if (!s.includes(':') || s.includes('/') || s.includes('%')) return undefined;
  try {
    return new Address6(s).bigInt();
  } catch {
    return undefined;
  }
}

function formatV6(v: bigint): string {
  return formatIPv6BigInt(v);
}

/** Parse `addr` or `addr/len` of the given family; undefined when it is not one. */
export function parsePrefix(text: string, family: Family): Prefix | undefined {
  const slash = text.indexOf('/');
  const a = slash < 0 ? text : text.slice(0, slash);
  const bits = family === 4 ? 32 : 128;
  let len = bits;
  if (slash >= 0) {
    const l = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(l)) return undefined;
    len = Number(l);
    if (len > bits) return undefined;
  }
  const v = family === 4 ? parseV4(a) : parseV6(a);
  if (v === undefined) return undefined;
  const all = (1n << BigInt(bits)) - 1n;
  const mask = len === 0 ? 0n : (all << BigInt(bits - len)) & all;
  const value = v & mask;
  return { family, len, value, addr: family === 4 ? formatV4(value) : formatV6(value) };
}

/** `addr/len`, always with the length (iptables-save style). */
export function prefixWithLen(p: Prefix): string {
  return `${p.addr}/${p.len}`;
}

/** `addr` for a single host, else `addr/len` (ipset style). */
export function prefixBareHost(p: Prefix): string {
  return p.len === (p.family === 4 ? 32 : 128) ? p.addr : `${p.addr}/${p.len}`;
}

/** All host addresses in a prefix (IPv4 only, at most 2^16 of them). */
export function expandV4(p: Prefix): string[] | undefined {
  if (p.family !== 4 || p.len < 16) return undefined;
  const n = 1n << BigInt(32 - p.len);
  const out: string[] = [];
  for (let i = 0n; i < n; i++) out.push(formatV4(p.value + i));
  return out;
}
