// RTM_*NEIGH encoding and neighbour message decoding.
import * as C from './constants.js';
import { formatIP, formatMac, type Family } from './ip.js';
import { neighStateName, type NeighSpec } from './spec.js';
import type { Neighbour } from './types.js';
import { forEachAttr, type RawMessage, type Writer } from './wire.js';

export function encodeNeigh(w: Writer, msgType: number, flags: number, seq: number, s: NeighSpec): void {
  const start = w.begin(msgType, flags, seq);
  w.u8(s.family === 4 ? C.AF_INET : C.AF_INET6);
  w.u8(0);
  w.u16(0);
  w.i32(s.ifindex);
  w.u16(msgType === C.RTM_DELNEIGH ? 0 : s.state);
  w.u8(0); // ndm_flags
  w.u8(0); // ndm_type
  w.attrBytes(C.NDA_DST, s.address);
  if (s.mac && msgType !== C.RTM_DELNEIGH) w.attrBytes(C.NDA_LLADDR, s.mac);
  w.end(start);
}

export function encodeNeighDump(w: Writer, seq: number, family: number, ifindex: number): void {
  const start = w.begin(C.RTM_GETNEIGH, C.NLM_F_REQUEST | C.NLM_F_DUMP, seq);
  w.u8(family);
  w.u8(0);
  w.u16(0);
  w.i32(0); // strict dumps want a zero header; filter with NDA_IFINDEX
  w.u16(0);
  w.u8(0);
  w.u8(0);
  if (ifindex) w.attrU32(C.NDA_IFINDEX, ifindex);
  w.end(start);
}

export function decodeNeigh(buf: Buffer, m: RawMessage): Neighbour | undefined {
  if (m.len < C.NDMSG_LEN) return undefined;
  const o = m.off;
  const af = buf[o]!;
  if (af !== C.AF_INET && af !== C.AF_INET6) return undefined;
  const family: Family = af === C.AF_INET ? 4 : 6;
  const n: Neighbour = { ifindex: buf.readInt32LE(o + 4), family, address: '', state: neighStateName(buf.readUInt16LE(o + 8)) };
  const need = family === 4 ? 4 : 16;
  forEachAttr(buf, o + C.NDMSG_LEN, o + m.len, (t, vo, vl) => {
    if (t === C.NDA_DST && vl >= need) n.address = formatIP(family, buf, vo);
    else if (t === C.NDA_LLADDR && vl > 0) n.mac = formatMac(buf, vo, vl);
  });
  return n;
}
