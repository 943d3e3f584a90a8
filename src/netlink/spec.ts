// Validation and normalisation of requests before they reach the kernel (or the fake). Both
// implementations share this, so a malformed request fails the same way (EINVAL naming the
// request) whichever is behind the interface.
import * as C from './constants.js';
import { Errno } from './errno.js';
import { invalidRequest, NetlinkError } from './errors.js';
import { hostBitsSet, parseIPv4Number, parseIPv6, parseMac, type Family } from './ip.js';
import type { Addr, Neighbour, NeighState, NextHop, Route, RouteScope, RouteType } from './types.js';

export const ROUTE_TYPES: Record<RouteType, number> = {
  unicast: C.RTN_UNICAST,
  local: C.RTN_LOCAL,
  broadcast: C.RTN_BROADCAST,
  anycast: C.RTN_ANYCAST,
  multicast: C.RTN_MULTICAST,
  blackhole: C.RTN_BLACKHOLE,
  unreachable: C.RTN_UNREACHABLE,
  prohibit: C.RTN_PROHIBIT,
  throw: C.RTN_THROW,
};
export const ROUTE_TYPE_NAMES: (RouteType | undefined)[] = [];
for (const [k, v] of Object.entries(ROUTE_TYPES)) ROUTE_TYPE_NAMES[v] = k as RouteType;

export const SCOPES: Record<Exclude<RouteScope, number>, number> = {
  universe: C.RT_SCOPE_UNIVERSE,
  site: 200,
  link: C.RT_SCOPE_LINK,
  host: C.RT_SCOPE_HOST,
  nowhere: C.RT_SCOPE_NOWHERE,
};

export function scopeName(n: number): RouteScope {
  switch (n) {
    case 0:
      return 'universe';
    case 200:
      return 'site';
    case 253:
      return 'link';
    case 254:
      return 'host';
    case 255:
      return 'nowhere';
    default:
      return n;
  }
}

export const NEIGH_STATES: Record<NeighState, number> = {
  none: 0,
  incomplete: C.NUD_INCOMPLETE,
  reachable: C.NUD_REACHABLE,
  stale: C.NUD_STALE,
  delay: C.NUD_DELAY,
  probe: C.NUD_PROBE,
  failed: C.NUD_FAILED,
  noarp: C.NUD_NOARP,
  permanent: C.NUD_PERMANENT,
};

export function neighStateName(n: number): NeighState {
  // Several bits can be set; report the most significant one, as iproute2 lists them.
  if (n & C.NUD_PERMANENT) return 'permanent';
  if (n & C.NUD_NOARP) return 'noarp';
  if (n & C.NUD_FAILED) return 'failed';
  if (n & C.NUD_PROBE) return 'probe';
  if (n & C.NUD_DELAY) return 'delay';
  if (n & C.NUD_STALE) return 'stale';
  if (n & C.NUD_REACHABLE) return 'reachable';
  if (n & C.NUD_INCOMPLETE) return 'incomplete';
  return 'none';
}

export interface NextHopSpec {
  gateway: Uint8Array | undefined;
  ifindex: number;
  weight: number;
  onlink: boolean;
}

/** A validated route: numbers and bytes, defaults applied for the operation. */
export interface RouteSpec {
  family: Family;
  dst: Uint8Array;
  dstLen: number;
  table: number;
  /** 0 on delete means "any". */
  protocol: number;
  /** RT_SCOPE_NOWHERE on delete means "any". */
  scope: number;
  /** 0 on delete means "any". */
  type: number;
  ifindex: number;
  gateway: Uint8Array | undefined;
  onlink: boolean;
  /** 0: none given (IPv6 add: the kernel uses 1024). */
  metric: number;
  src: Uint8Array | undefined;
  multipath: NextHopSpec[] | undefined;
}

type Describe = () => string;

function bad(describe: Describe, detail: string): never {
  throw invalidRequest(describe(), detail);
}

function parseAddrOf(family: Family, s: unknown, what: string, describe: Describe): Uint8Array {
  if (typeof s !== 'string') bad(describe, `${what} must be a string`);
  if (family === 4) {
    const v = parseIPv4Number(s);
    if (v < 0) bad(describe, `${what} "${s}" is not an IPv4 address`);
    return new Uint8Array([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);
  }
  const b = parseIPv6(s);
  if (!b) bad(describe, `${what} "${s}" is not an IPv6 address`);
  return b;
}

function checkFamily(f: unknown, describe: Describe): Family {
  if (f !== 4 && f !== 6) bad(describe, `family must be 4 or 6, not ${String(f)}`);
  return f;
}

function checkUint(v: number | undefined, max: number, what: string, describe: Describe): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v < 0 || v > max) bad(describe, `${what} ${v} is out of range (0..${max})`);
  return v;
}

function checkIfindex(v: number | undefined, describe: Describe): number {
  if (v === undefined) return 0;
  if (!Number.isInteger(v) || v <= 0 || v > 0x7fffffff) bad(describe, `interface index ${v} is invalid`);
  return v;
}

/** Parses "a.b.c.d/len" or an IPv6 prefix, checking family and host bits. */
function parseDst(family: Family, dst: unknown, describe: Describe): { bytes: Uint8Array; len: number } {
  if (typeof dst !== 'string') bad(describe, 'dst must be a CIDR string');
  const slash = dst.indexOf('/');
  const max = family === 4 ? 32 : 128;
  let len = max;
  if (slash !== -1) {
    // Hand-rolled: this runs once per route of a 100k-route batch.
    len = 0;
    const digits = dst.length - slash - 1;
    if (digits < 1 || digits > 3) len = -1;
    for (let i = slash + 1; i < dst.length && len >= 0; i++) {
      const c = dst.charCodeAt(i) - 48;
      len = c >= 0 && c <= 9 ? len * 10 + c : -1;
    }
    if (len < 0 || len > max) bad(describe, `prefix length in "${dst}" is invalid for IPv${family}`);
  }
  let bytes: Uint8Array;
  if (family === 4) {
    const v = parseIPv4Number(dst, 0, slash === -1 ? dst.length : slash);
    if (v < 0) bad(describe, `dst "${dst}" is not an IPv4 prefix`);
    if (len < 32 && (len === 0 ? v : v & (0xffffffff >>> len)) !== 0) {
      bad(describe, `invalid prefix for given prefix length: "${dst}" has host bits set`);
    }
    bytes = new Uint8Array(4);
    bytes[0] = v >>> 24;
    bytes[1] = (v >>> 16) & 0xff;
    bytes[2] = (v >>> 8) & 0xff;
    bytes[3] = v & 0xff;
  } else {
    const b = parseIPv6(slash === -1 ? dst : dst.slice(0, slash));
    if (!b) bad(describe, `dst "${dst}" is not an IPv6 prefix`);
    if (hostBitsSet({ family, bytes: b, prefixLength: len })) {
      bad(describe, `invalid prefix for given prefix length: "${dst}" has host bits set`);
    }
    bytes = b;
  }
  return { bytes, len };
}

function nextHopSpec(family: Family, nh: NextHop, describe: Describe): NextHopSpec {
  const weight = nh.weight ?? 1;
  if (!Number.isInteger(weight) || weight < 1 || weight > 256) bad(describe, `next hop weight ${weight} is out of range (1..256)`);
  return {
    gateway: nh.gateway !== undefined ? parseAddrOf(family, nh.gateway, 'next hop gateway', describe) : undefined,
    ifindex: checkIfindex(nh.ifindex, describe),
    weight,
    onlink: nh.onlink === true,
  };
}

/** Validates a route for an add/replace ("add") or a delete ("del") and applies defaults. */
export function routeSpec(r: Route, mode: 'add' | 'del', describe: Describe): RouteSpec {
  const family = checkFamily(r.family, describe);
  const { bytes, len } = parseDst(family, r.dst, describe);
  let type = 0;
  if (r.type !== undefined) {
    type = ROUTE_TYPES[r.type];
    if (type === undefined) bad(describe, `unknown route type "${String(r.type)}"`);
  } else if (mode === 'add') {
    type = C.RTN_UNICAST;
  }
  const gateway = r.gateway !== undefined ? parseAddrOf(family, r.gateway, 'gateway', describe) : undefined;
  const ifindex = checkIfindex(r.ifindex, describe);
  let multipath: NextHopSpec[] | undefined;
  if (r.multipath !== undefined) {
    if (!Array.isArray(r.multipath) || r.multipath.length === 0) bad(describe, 'multipath needs at least one next hop');
    if (gateway || ifindex) bad(describe, 'give either multipath or gateway/ifindex, not both');
    multipath = r.multipath.map((nh) => nextHopSpec(family, nh, describe));
  }
  let scope: number;
  if (r.scope !== undefined) {
    scope = typeof r.scope === 'number' ? r.scope : SCOPES[r.scope];
    if (scope === undefined || !Number.isInteger(scope) || scope < 0 || scope > 255) bad(describe, `unknown scope "${String(r.scope)}"`);
  } else if (mode === 'del') {
    scope = C.RT_SCOPE_NOWHERE;
  } else if (type === C.RTN_LOCAL) {
    scope = C.RT_SCOPE_HOST;
  } else if ((type === C.RTN_UNICAST || type === 0) && !gateway && !multipath) {
    scope = C.RT_SCOPE_LINK;
  } else {
    scope = C.RT_SCOPE_UNIVERSE;
  }
  const table = r.table === undefined ? C.RT_TABLE_MAIN : checkUint(r.table, 0xffffffff, 'table', describe) || C.RT_TABLE_MAIN;
  const protocol = r.protocol === undefined ? (mode === 'add' ? C.RTPROT_BOOT : 0) : checkUint(r.protocol, 255, 'protocol', describe);
  return {
    family,
    dst: bytes,
    dstLen: len,
    table,
    protocol,
    scope,
    type,
    ifindex,
    gateway,
    onlink: r.onlink === true,
    metric: checkUint(r.metric, 0xffffffff, 'metric', describe),
    src: r.src !== undefined ? parseAddrOf(family, r.src, 'src', describe) : undefined,
    multipath,
  };
}

export interface AddrSpec {
  family: Family;
  address: Uint8Array;
  prefixLength: number;
  ifindex: number;
  scope: number;
  noDad: boolean;
}

export function addrSpec(a: Addr, describe: Describe): AddrSpec {
  const family = checkFamily(a.family, describe);
  const ifindex = checkIfindex(a.ifindex, describe);
  if (!ifindex) bad(describe, 'an address needs an interface index');
  const address = parseAddrOf(family, a.address, 'address', describe);
  const max = family === 4 ? 32 : 128;
  if (!Number.isInteger(a.prefixLength) || a.prefixLength < 0 || a.prefixLength > max) {
    bad(describe, `prefix length ${a.prefixLength} is invalid for IPv${family}`);
  }
  return { family, address, prefixLength: a.prefixLength, ifindex, scope: checkUint(a.scope, 255, 'scope', describe), noDad: a.noDad === true };
}

export interface NeighSpec {
  family: Family;
  address: Uint8Array;
  ifindex: number;
  mac: Uint8Array | undefined;
  state: number;
}

export function neighSpec(n: Neighbour, mode: 'add' | 'del', describe: Describe): NeighSpec {
  const family = checkFamily(n.family, describe);
  const ifindex = checkIfindex(n.ifindex, describe);
  if (!ifindex) bad(describe, 'a neighbour needs an interface index');
  const address = parseAddrOf(family, n.address, 'neighbour address', describe);
  let mac: Uint8Array | undefined;
  if (n.mac !== undefined) {
    mac = parseMac(n.mac);
    if (!mac) bad(describe, `"${n.mac}" is not a MAC address`);
  } else if (mode === 'add' && (n.state ?? 'permanent') === 'permanent') {
    bad(describe, 'a permanent neighbour needs a MAC address');
  }
  const state = NEIGH_STATES[n.state ?? 'permanent'];
  if (state === undefined) bad(describe, `unknown neighbour state "${String(n.state)}"`);
  return { family, address, ifindex, mac, state };
}

/** A MAC for a link: 6 bytes, or EINVAL. */
export function macSpec(mac: string, describe: Describe): Uint8Array {
  const m = parseMac(mac);
  if (!m) bad(describe, `"${mac}" is not a MAC address`);
  return m;
}

/** Interface names: 1..15 bytes, no "/", ":" or white space, not "." or "..". */
export function checkIfname(name: string, describe: Describe): void {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > 15 || /[/:\s]/.test(name) || name === '.' || name === '..') {
    bad(describe, `"${name}" is not a valid interface name (1-15 characters, no "/", ":" or spaces)`);
  }
}

/**
 * Checks a link reference: a valid name, or a positive integer index. An index that cannot
 * exist is ENODEV (like any other missing interface), not a dump of everything.
 */
export function checkLinkRef(ref: string | number, describe: Describe): void {
  if (typeof ref === 'string') return checkIfname(ref, describe);
  if (!Number.isInteger(ref) || ref <= 0 || ref > 0x7fffffff) throw new NetlinkError(Errno.ENODEV, describe(), `interface index ${ref} is invalid`);
}

export function checkMtu(mtu: number, describe: Describe): void {
  if (!Number.isInteger(mtu) || mtu <= 0 || mtu > 0xffffffff) bad(describe, `MTU ${mtu} is invalid`);
}

