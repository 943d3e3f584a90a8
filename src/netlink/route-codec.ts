// RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE encoding and route message decoding.
import * as C from './constants.js';
import { formatIP, type Family } from './ip.js';
import { ROUTE_TYPE_NAMES, ROUTE_TYPES, scopeName, type RouteSpec } from './spec.js';
import type { NextHop, Route, RouteFilter } from './types.js';
import { forEachAttr, type RawMessage, type Writer } from './wire.js';

const familyAf = (f: Family): number => (f === 4 ? C.AF_INET : C.AF_INET6);

/** Appends one route request (add/replace: RTM_NEWROUTE with flags; delete: RTM_DELROUTE). */
export function encodeRoute(w: Writer, msgType: number, flags: number, seq: number, s: RouteSpec): void {
  const start = w.begin(msgType, flags, seq);
  w.u8(familyAf(s.family));
  w.u8(s.dstLen);
  w.u8(0); // src_len
  w.u8(0); // tos
  w.u8(s.table > 255 ? 252 /* RT_TABLE_COMPAT */ : s.table);
  w.u8(s.protocol);
  w.u8(s.scope);
  w.u8(s.type);
  w.u32(s.onlink ? C.RTNH_F_ONLINK : 0);
  if (s.dstLen > 0) w.attrBytes(C.RTA_DST, s.dst);
  w.attrU32(C.RTA_TABLE, s.table);
  if (s.ifindex) w.attrU32(C.RTA_OIF, s.ifindex);
  if (s.gateway) w.attrBytes(C.RTA_GATEWAY, s.gateway);
  if (s.metric) w.attrU32(C.RTA_PRIORITY, s.metric);
  if (s.src) w.attrBytes(C.RTA_PREFSRC, s.src);
  if (s.multipath) {
    const mp = w.beginNested(C.RTA_MULTIPATH);
    for (const nh of s.multipath) {
      const o = w.len;
      w.u16(0); // rtnh_len, patched below
      w.u8(nh.onlink ? C.RTNH_F_ONLINK : 0);
      w.u8(nh.weight - 1);
      w.i32(nh.ifindex);
      if (nh.gateway) w.attrBytes(C.RTA_GATEWAY, nh.gateway);
      w.buf.writeUInt16LE(w.len - o, o);
    }
    w.endNested(mp);
  }
  w.end(start);
}

/**
 * A route dump request. With NETLINK_GET_STRICT_CHK the kernel filters by table, protocol, type
 * and output interface itself; the rest (scope) is filtered on our side.
 */
export function encodeRouteDump(w: Writer, seq: number, family: number, f: RouteFilter): void {
  const start = w.begin(C.RTM_GETROUTE, C.NLM_F_REQUEST | C.NLM_F_DUMP, seq);
  const table = f.table === 'all' ? 0 : (f.table ?? C.RT_TABLE_MAIN);
  w.u8(family);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u8(table > 255 ? 252 : table);
  w.u8(f.protocol ?? 0);
  w.u8(0);
  w.u8(f.type !== undefined ? (ROUTE_TYPES[f.type] ?? 0) : 0);
  w.u32(0);
  if (table > 0) w.attrU32(C.RTA_TABLE, table);
  if (f.ifindex) w.attrU32(C.RTA_OIF, f.ifindex);
  w.end(start);
}

function addr(buf: Buffer, family: Family, off: number, len: number): string | undefined {
  return len >= (family === 4 ? 4 : 16) ? formatIP(family, buf, off) : undefined;
}

function decodeMultipath(buf: Buffer, family: Family, off: number, end: number): NextHop[] {
  const out: NextHop[] = [];
  let o = off;
  while (o + C.RTNH_LEN <= end) {
    const len = buf.readUInt16LE(o);
    if (len < C.RTNH_LEN || o + len > end) break;
    const nh: NextHop = {};
    const flags = buf[o + 2]!;
    const ifindex = buf.readInt32LE(o + 4);
    forEachAttr(buf, o + C.RTNH_LEN, o + len, (t, vo, vl) => {
      if (t === C.RTA_GATEWAY) {
        const g = addr(buf, family, vo, vl);
        if (g !== undefined) nh.gateway = g;
      }
    });
    if (ifindex) nh.ifindex = ifindex;
    nh.weight = buf[o + 3]! + 1;
    if (flags & C.RTNH_F_ONLINK) nh.onlink = true;
    out.push(nh);
    o += (len + 3) & ~3;
  }
  return out;
}

/**
 * Decodes an RTM_NEWROUTE/RTM_DELROUTE message; undefined for families/kinds we don't report.
 * This is the hot loop of a 100k-route dump: attributes are walked inline, without closures.
 */
export function decodeRoute(buf: Buffer, m: RawMessage): Route | undefined {
  const o = m.off;
  if (m.len < C.RTMSG_LEN) return undefined;
  const af = buf[o]!;
  if (af !== C.AF_INET && af !== C.AF_INET6) return undefined;
  const flags = buf[o + 8]! | (buf[o + 9]! << 8) | (buf[o + 10]! << 16) | (buf[o + 11]! << 24);
  if (flags & C.RTM_F_CLONED) return undefined;
  const family: Family = af === C.AF_INET ? 4 : 6;
  const dstLen = buf[o + 1]!;
  let table = buf[o + 4]!;
  let dstOff = -1;
  let oif = 0;
  let gwOff = -1;
  let prio = -1;
  let srcOff = -1;
  let mpOff = -1;
  let mpLen = 0;
  const alen = family === 4 ? 4 : 16;
  const end = o + m.len;
  let a = o + C.RTMSG_LEN;
  while (a + 4 <= end) {
    const len = buf[a]! | (buf[a + 1]! << 8);
    if (len < 4 || a + len > end) break;
    const t = (buf[a + 2]! | (buf[a + 3]! << 8)) & 0x3fff;
    const v = a + 4;
    const vl = len - 4;
    switch (t) {
      case C.RTA_DST:
        if (vl >= alen) dstOff = v;
        break;
      case C.RTA_TABLE:
        if (vl >= 4) table = buf.readUInt32LE(v);
        break;
      case C.RTA_OIF:
        if (vl >= 4) oif = buf.readUInt32LE(v);
        break;
      case C.RTA_GATEWAY:
        if (vl >= alen) gwOff = v;
        break;
      case C.RTA_PRIORITY:
        if (vl >= 4) prio = buf.readUInt32LE(v);
        break;
      case C.RTA_PREFSRC:
        if (vl >= alen) srcOff = v;
        break;
      case C.RTA_MULTIPATH:
        mpOff = v;
        mpLen = vl;
        break;
    }
    a += (len + 3) & ~3;
  }
  const dst =
    family === 4
      ? dstOff === -1
        ? `0.0.0.0/${dstLen}`
        : `${buf[dstOff]}.${buf[dstOff + 1]}.${buf[dstOff + 2]}.${buf[dstOff + 3]}/${dstLen}`
      : `${dstOff === -1 ? '::' : formatIP(6, buf, dstOff)}/${dstLen}`;
  const r: Route = {
    family,
    dst,
    table,
    protocol: buf[o + 5]!,
    scope: scopeName(buf[o + 6]!),
    type: ROUTE_TYPE_NAMES[buf[o + 7]!] ?? 'unicast',
  };
  if (prio !== -1) r.metric = prio;
  if (srcOff !== -1) r.src = formatIP(family, buf, srcOff);
  if (gwOff !== -1) r.gateway = formatIP(family, buf, gwOff);
  if (oif) r.ifindex = oif;
  if (mpOff !== -1) r.multipath = decodeMultipath(buf, family, mpOff, mpOff + mpLen);
  if (flags & C.RTNH_F_ONLINK) r.onlink = true;
  return r;
}
