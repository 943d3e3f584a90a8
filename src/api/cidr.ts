// IP addresses and prefixes as plain values (family + bigint), shared by validation, IPAM, the
// policy agent and the lab. Text comes from src/lib/ip-text.ts, the one canonical form.

import { TwillError } from '../errors.js';
import { formatIPv4Number, formatIPv6BigInt } from '../lib/ip-text.js';

export type IpFamily = 4 | 6;

export interface IpAddr {
  readonly family: IpFamily;
  readonly addr: bigint;
}

export interface Cidr extends IpAddr {
  readonly prefixLength: number;
}

export class InvalidAddressError extends TwillError {
  constructor(
    readonly input: string,
    reason: string,
  ) {
    super('InvalidAddress', `"${input}" is not a valid ${reason}`);
  }
}

export function bitsOf(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith('0'))) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (s.includes('%')) return undefined; // zones are not addresses we store
  let t = s;
  const lastColon = t.lastIndexOf(':');
  const tail = t.slice(lastColon + 1);
  if (tail.includes('.')) {
    // Embedded IPv4 ("::ffff:10.0.0.1"): rewrite it as two hex groups.
    const v4 = parseV4(tail);
    if (v4 === undefined) return undefined;
    t = `${t.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = t.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (x: string): number[] | undefined => {
    if (x === '') return [];
    const out: number[] = [];
    for (const g of x.split(':')) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let groups: number[];
  if (halves.length === 2) {
    const a = parseGroups(halves[0] ?? '');
    const b = parseGroups(halves[1] ?? '');
    if (!a || !b || a.length + b.length > 7) return undefined;
    groups = [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
  } else {
    const g = parseGroups(t);
    if (!g || g.length !== 8) return undefined;
    groups = g;
  }
  let v = 0n;
  for (const g of groups) v = (v << 16n) | BigInt(g);
  return v;
}

/** Parses an IPv4 or IPv6 address (no prefix length). */
export function parseIp(s: string): IpAddr {
  const t = s.trim();
  if (t.includes(':')) {
    const v = parseV6(t);
    if (v === undefined) throw new InvalidAddressError(s, 'IPv6 address');
    return { family: 6, addr: v };
  }
  const v = parseV4(t);
  if (v === undefined) throw new InvalidAddressError(s, 'IPv4 address');
  return { family: 4, addr: v };
}

/** The canonical text (src/lib/ip-text.ts: RFC 5952, IPv4-mapped as "::ffff:a.b.c.d"). */
export function formatIp(a: IpAddr): string {
  return a.family === 4 ? formatIPv4Number(Number(a.addr)) : formatIPv6BigInt(a.addr);
}

export function hostMask(family: IpFamily, prefixLength: number): bigint {
  return (1n << BigInt(bitsOf(family) - prefixLength)) - 1n;
}

/**
 * Parses "addr/len". A bare address is a host prefix (/32 or /128) when `allowBare`.
 * With `strict` (the default), host bits must be zero: "10.0.0.1/24" is an error naming the
 * network it probably meant.
 */
export function parseCidr(s: string, opts: { strict?: boolean; allowBare?: boolean } = {}): Cidr {
  const strict = opts.strict ?? true;
  const slash = s.indexOf('/');
  if (slash < 0) {
    if (!opts.allowBare) throw new InvalidAddressError(s, 'CIDR (expected address/prefix-length)');
    const a = parseIp(s);
    return { ...a, prefixLength: bitsOf(a.family) };
  }
  const addrText = s.slice(0, slash);
  const lenText = s.slice(slash + 1);
  let a: IpAddr;
  try {
    a = parseIp(addrText);
  } catch {
    throw new InvalidAddressError(s, 'CIDR (bad address part)');
  }
  if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > bitsOf(a.family)) {
    throw new InvalidAddressError(s, `CIDR (prefix length must be 0..${bitsOf(a.family)})`);
  }
  const prefixLength = Number(lenText);
  const hostBits = a.addr & hostMask(a.family, prefixLength);
  if (strict && hostBits !== 0n) {
    const net = formatCidr({ family: a.family, addr: a.addr & ~hostMask(a.family, prefixLength), prefixLength });
    throw new InvalidAddressError(s, `network prefix: host bits are set (did you mean ${net}?)`);
  }
  return { family: a.family, addr: a.addr, prefixLength };
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c)}/${c.prefixLength}`;
}

/** The network of a prefix with host bits cleared. */
export function networkOf(c: Cidr): Cidr {
  return { family: c.family, addr: c.addr & ~hostMask(c.family, c.prefixLength), prefixLength: c.prefixLength };
}

export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(bitsOf(c.family) - c.prefixLength);
}

/** True when `inner` (a prefix or an address) lies entirely inside `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr | IpAddr): boolean {
  if (outer.family !== inner.family) return false;
  const innerLen = 'prefixLength' in inner ? inner.prefixLength : bitsOf(inner.family);
  if (innerLen < outer.prefixLength) return false;
  const mask = ~hostMask(outer.family, outer.prefixLength);
  return (inner.addr & mask) === (outer.addr & mask);
}

/**
 * Plain IPv4 prefix text ("a.b.c.d" or "a.b.c.d/len": decimal octets 0-255 without leading
 * zeros, len 0-32 in at most two digits) as [address, length]; undefined for anything else.
 */
function plainV4(text: string): [number, number] | undefined {
  let addr = 0;
  let octet = -1;
  let digits = 0;
  let dots = 0;
  let i = 0;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return undefined; // a leading zero
      octet = digits === 0 ? c - 48 : octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else if (c === 46 && digits > 0 && dots < 3) {
      addr = addr * 256 + octet;
      dots++;
      digits = 0;
    } else if (c === 47) {
      break;
    } else {
      return undefined;
    }
  }
  if (dots !== 3 || digits === 0) return undefined;
  addr = addr * 256 + octet;
  if (i === text.length) return [addr, 32];
  const lenText = text.slice(i + 1);
  if (lenText.length < 1 || lenText.length > 2) return undefined;
  let len = 0;
  for (let j = 0; j < lenText.length; j++) {
    const c = lenText.charCodeAt(j);
    if (c < 48 || c > 57) return undefined;
    len = len * 10 + (c - 48);
  }
  return len <= 32 ? [addr, len] : undefined;
}

/**
 * Does the prefix written `text` hold `ip`? Exactly
 * `cidrContains(parseCidr(text, { strict: false, allowBare: true }), ip)` (a bare address is a
 * host prefix; host bits are ignored), and throws InvalidAddressError as parseCidr does; plain
 * IPv4 text is read without BigInt or allocation (ten thousand endpoint addresses in a few ms).
 */
export function cidrTextHolds(text: string, ip: IpAddr): boolean {
  const v4 = plainV4(text);
  if (v4 === undefined) return cidrContains(parseCidr(text, { strict: false, allowBare: true }), ip);
  if (ip.family !== 4) return false;
  const size = 2 ** (32 - v4[1]);
  return Math.floor(v4[0] / size) === Math.floor(Number(ip.addr) / size);
}

/** An IPv4 host prefix in canonical text ("10.0.0.1/32"; octets without leading zeros). */
const CANONICAL_V4_HOST = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\/32$/;

/**
 * A test of prefix texts against a few addresses: `holder(text)` is
 * `ips.some((ip) => cidrTextHolds(text, ip))`, with the usual endpoint address ("a.b.c.d/32")
 * settled by one native match and one lookup (a fresh process checking ten thousand endpoints
 * runs little uncompiled code).
 */
export function cidrTextHolder(ips: readonly IpAddr[]): (text: string) => boolean {
  const hosts = new Set(ips.filter((ip) => ip.family === 4).map((ip) => `${formatIp(ip)}/32`));
  return (text) => hosts.has(text) || (!CANONICAL_V4_HOST.test(text) && ips.some((ip) => cidrTextHolds(text, ip)));
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** The address at `ordinal` within the prefix (0 = network address). */
export function addrAt(c: Cidr, ordinal: number | bigint): IpAddr {
  const n = BigInt(ordinal);
  if (n < 0n || n >= cidrSize(c)) throw new RangeError(`ordinal ${n} outside ${formatCidr(c)}`);
  return { family: c.family, addr: networkOf(c).addr + n };
}

/** The ordinal of `a` within the prefix, or undefined when it lies outside. */
export function ordinalOf(c: Cidr, a: IpAddr): number | undefined {
  if (!cidrContains(c, a)) return undefined;
  return Number(a.addr - networkOf(c).addr);
}

/** Splits `c` into its sub-prefixes of length `len`, in address order (lazily). */
export function* subnets(c: Cidr, len: number): Generator<Cidr> {
  if (len < c.prefixLength || len > bitsOf(c.family)) return;
  const step = 1n << BigInt(bitsOf(c.family) - len);
  const count = 1n << BigInt(len - c.prefixLength);
  const base = networkOf(c).addr;
  for (let i = 0n; i < count; i++) yield { family: c.family, addr: base + i * step, prefixLength: len };
}

export function compareIp(a: IpAddr, b: IpAddr): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0;
}
