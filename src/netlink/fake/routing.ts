// Route semantics of the fake kernel, after Linux: what an insert checks (devices, gateways,
// scopes, source addresses), when it collides (EEXIST), what a delete matches, and the lookups
// those checks need. Errors carry the kernel's errno and, where it sends one, its message.
import * as C from '../constants.js';
import { Errno } from '../errno.js';
import type { RouteSpec } from '../spec.js';
import { bytesEqual, type LinkRec, type NetnsView, type NhRec, type RouteRec } from './state.js';

export type Fail = (errno: number, detail?: string) => never;

const REJECT_TYPES = new Set([C.RTN_BLACKHOLE, C.RTN_UNREACHABLE, C.RTN_PROHIBIT, C.RTN_THROW]);

export function contains(dst: Uint8Array, dstLen: number, addr: Uint8Array): boolean {
  if (dst.length !== addr.length) return false;
  let bits = dstLen;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((addr[i]! & mask) !== (dst[i]! & mask)) return false;
  }
  return true;
}

function isLocalAddr(ns: NetnsView, family: 4 | 6, a: Uint8Array): boolean {
  return ns.addrs.some((x) => x.family === family && bytesEqual(x.address, a));
}

function tableExists(ns: NetnsView, family: 4 | 6, table: number): boolean {
  return ns.tables.has(`${family}:${table}`);
}

/** Longest-prefix match in one table among routes passing `ok`. */
function lpm(ns: NetnsView, family: 4 | 6, table: number, addr: Uint8Array, ok: (r: RouteRec) => boolean): RouteRec | undefined {
  let best: RouteRec | undefined;
  for (const r of ns.routes) {
    if (r.family !== family || r.table !== table || !contains(r.dst, r.dstLen, addr) || !ok(r)) continue;
    if (!best || r.dstLen > best.dstLen || (r.dstLen === best.dstLen && r.metric < best.metric)) best = r;
  }
  return best;
}

/** IPv4 lookup as the kernel does for a gateway: the route's own table first, then the default rules. */
function lookupV4Gateway(ns: NetnsView, table: number, gw: Uint8Array, minScope: number, oif: number): RouteRec | undefined {
  const ok = (r: RouteRec): boolean => r.scope >= minScope && (oif === 0 || r.nhs.some((nh) => nh.ifindex === oif));
  if (table !== C.RT_TABLE_MAIN && tableExists(ns, 4, table)) {
    const r = lpm(ns, 4, table, gw, ok);
    if (r) return r;
  }
  for (const t of [C.RT_TABLE_LOCAL, C.RT_TABLE_MAIN, C.RT_TABLE_DEFAULT]) {
    const r = lpm(ns, 4, t, gw, ok);
    if (r) return r;
  }
  return undefined;
}

function device(ns: NetnsView, ifindex: number): LinkRec | undefined {
  return ifindex ? ns.links.get(ifindex) : undefined;
}

function checkNhV4(ns: NetnsView, s: RouteSpec, nh: NhRec, fail: Fail): void {
  if (nh.gateway) {
    if (nh.onlink) {
      if (!nh.ifindex) fail(Errno.ENODEV, 'Nexthop device required for onlink');
      if (s.scope >= C.RT_SCOPE_LINK) fail(Errno.EINVAL, 'Nexthop has invalid scope');
      const dev = device(ns, nh.ifindex);
      if (!dev) fail(Errno.ENODEV);
      if (!dev.up) fail(Errno.ENETDOWN, 'Nexthop device is not up');
      // The gateway must be a unicast address; with no local table yet the kernel can't tell
      // and refuses it too.
      if (!tableExists(ns, 4, C.RT_TABLE_LOCAL) || isLocalAddr(ns, 4, nh.gateway)) fail(Errno.EINVAL, 'Nexthop has invalid gateway');
      return;
    }
    const minScope = Math.max(s.scope + 1, C.RT_SCOPE_LINK);
    const r = lookupV4Gateway(ns, s.table, nh.gateway, minScope, nh.ifindex);
    if (!r) fail(Errno.ENETUNREACH, 'Nexthop has invalid gateway');
    if (r.type !== C.RTN_UNICAST && r.type !== C.RTN_LOCAL) fail(Errno.EINVAL, 'Nexthop has invalid gateway');
    if (!nh.ifindex) nh.ifindex = r.nhs[0]?.ifindex ?? 0;
    return;
  }
  if (nh.onlink) fail(Errno.EINVAL, 'Invalid flags for nexthop - PERVASIVE and ONLINK can not be set');
  const dev = device(ns, nh.ifindex);
  if (!dev) fail(Errno.ENODEV);
  if (!dev.up) fail(Errno.ENETDOWN, 'Device for nexthop is not up');
}

function isLinkLocal6(a: Uint8Array): boolean {
  return a[0] === 0xfe && (a[1]! & 0xc0) === 0x80;
}

function checkNhV6(ns: NetnsView, s: RouteSpec, nh: NhRec, fail: Fail): void {
  const dev0 = device(ns, nh.ifindex);
  if (nh.ifindex && !dev0) fail(Errno.ENODEV);
  if (nh.gateway) {
    if (nh.onlink) {
      if (!nh.ifindex) fail(Errno.ENODEV, 'Nexthop device required for onlink');
    } else {
      if (isLocalAddr(ns, 6, nh.gateway)) fail(Errno.EINVAL, 'Gateway can not be a local address');
      if (isLinkLocal6(nh.gateway)) {
        if (!nh.ifindex) fail(Errno.EINVAL, 'Egress device not specified');
      } else {
        const ok = (r: RouteRec): boolean =>
          (r.type === C.RTN_UNICAST || r.type === C.RTN_LOCAL) && (nh.ifindex === 0 || r.nhs.some((x) => x.ifindex === nh.ifindex));
        let r = lpm(ns, 6, s.table, nh.gateway, ok);
        if (!r && s.table !== C.RT_TABLE_MAIN) r = lpm(ns, 6, C.RT_TABLE_MAIN, nh.gateway, ok);
        if (!r || r.multipath || r.nhs[0]?.gateway) fail(Errno.EHOSTUNREACH);
        if (!nh.ifindex) nh.ifindex = r.nhs[0]?.ifindex ?? 0;
      }
    }
  }
  const dev = device(ns, nh.ifindex);
  if (!dev) fail(Errno.ENODEV);
  if (!dev.up) fail(Errno.ENETDOWN, 'Nexthop device is not up');
}

/** The record an add/replace would create, after the kernel's checks. */
export function buildRoute(ns: NetnsView, s: RouteSpec, fail: Fail): RouteRec {
  const given: NhRec[] = s.multipath
    ? s.multipath.map((nh) => ({ gateway: nh.gateway, ifindex: nh.ifindex, weight: nh.weight, onlink: nh.onlink }))
    : s.gateway || s.ifindex || s.onlink
      ? [{ gateway: s.gateway, ifindex: s.ifindex, weight: 1, onlink: s.onlink }]
      : [];
  let nhs = given;
  if (s.scope > C.RT_SCOPE_HOST) fail(Errno.EINVAL, 'Invalid scope');
  if (REJECT_TYPES.has(s.type)) {
    if (s.family === 4) {
      if (given.length) fail(Errno.EINVAL, 'Gateway, device and multipath can not be specified for this route type');
      nhs = [];
    } else {
      nhs = [{ gateway: undefined, ifindex: 1, weight: 1, onlink: false }]; // IPv6 points reject routes at lo
    }
  } else if (s.family === 4) {
    if (s.scope === C.RT_SCOPE_HOST) {
      if (given.length > 1) fail(Errno.EINVAL, 'Route with host scope can not have multiple nexthops');
      if (given[0]?.gateway) fail(Errno.EINVAL, 'Route with host scope can not have a gateway');
      if (!device(ns, given[0]?.ifindex ?? 0)) fail(Errno.ENODEV);
    } else {
      if (!given.length) fail(Errno.ENODEV);
      for (const nh of given) checkNhV4(ns, s, nh, fail);
    }
    if (s.src && !(s.type === C.RTN_LOCAL && bytesEqual(s.src, s.dst)) && !isLocalAddr(ns, 4, s.src)) {
      fail(Errno.EINVAL, 'Invalid prefsrc address');
    }
  } else {
    if (!given.length) fail(Errno.ENODEV);
    for (const nh of given) checkNhV6(ns, s, nh, fail);
    if (s.src && !isLocalAddr(ns, 6, s.src)) fail(Errno.EINVAL, 'Invalid source address');
  }
  return {
    family: s.family,
    dst: s.dst,
    dstLen: s.dstLen,
    table: s.table,
    protocol: s.protocol,
    scope: s.family === 6 ? C.RT_SCOPE_UNIVERSE : s.scope,
    type: s.type,
    metric: s.family === 6 && !s.metric ? 1024 : s.metric,
    src: s.src,
    nhs,
    multipath: nhs.length > 1,
  };
}

function nhMatchesV4(r: RouteRec, s: RouteSpec): boolean {
  if (s.ifindex || s.gateway) {
    const nh = r.nhs[0];
    if (!nh) return false;
    if (s.ifindex && s.ifindex !== nh.ifindex) return false;
    if (s.gateway && !bytesEqual(s.gateway, nh.gateway)) return false;
    return true;
  }
  if (!s.multipath) return true;
  if (s.multipath.length !== r.nhs.length) return false;
  return s.multipath.every((m, i) => {
    const nh = r.nhs[i]!;
    return (!m.ifindex || m.ifindex === nh.ifindex) && (!m.gateway || bytesEqual(m.gateway, nh.gateway)) && m.weight === nh.weight;
  });
}

/**
 * Finds what a delete request matches (fails ESRCH). `remove` is the record to take out of the
 * table, if any (naming one gateway of an IPv6 ECMP route only drops that next hop, in place);
 * `event` is what the kernel reports as deleted.
 */
export function matchDelete(ns: NetnsView, s: RouteSpec, fail: Fail): { remove: RouteRec | undefined; event: RouteRec } {
  const candidates = ns.samePrefix(s.family, s.table, s.dst, s.dstLen);
  if (s.family === 4) {
    if (!tableExists(ns, 4, s.table)) fail(Errno.ESRCH, 'FIB table does not exist');
    const r = candidates.find(
      (r) =>
        (!s.type || r.type === s.type) &&
        (s.scope === C.RT_SCOPE_NOWHERE || r.scope === s.scope) &&
        (!s.src || bytesEqual(r.src, s.src)) &&
        (!s.protocol || r.protocol === s.protocol) &&
        (!s.metric || r.metric === s.metric) &&
        nhMatchesV4(r, s),
    );
    if (!r) fail(Errno.ESRCH);
    return { remove: r, event: r };
  }
  for (const r of candidates) {
    if (s.ifindex && !r.nhs.some((nh) => nh.ifindex === s.ifindex)) continue;
    if (s.gateway && !r.nhs.some((nh) => bytesEqual(nh.gateway, s.gateway))) continue;
    if (s.metric && r.metric !== s.metric) continue;
    if (s.protocol && r.protocol !== s.protocol) continue;
    if (s.gateway && r.multipath) {
      // IPv6 ECMP routes are siblings: naming a gateway removes just that one.
      const i = r.nhs.findIndex((nh) => bytesEqual(nh.gateway, s.gateway));
      const gone = r.nhs.splice(i, 1)[0]!;
      r.multipath = r.nhs.length > 1;
      return { remove: undefined, event: { ...r, nhs: [gone], multipath: false } };
    }
    return { remove: r, event: r };
  }
  return fail(Errno.ESRCH);
}
