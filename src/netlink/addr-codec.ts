// RTM_*ADDR encoding and address message decoding.
import * as C from './constants.js';
import { formatIP, type Family } from './ip.js';
import type { AddrSpec } from './spec.js';
import type { Addr } from './types.js';
import { forEachAttr, type RawMessage, type Writer } from './wire.js';

export function encodeAddr(w: Writer, msgType: number, flags: number, seq: number, s: AddrSpec): void {
  const start = w.begin(msgType, flags, seq);
  w.u8(s.family === 4 ? C.AF_INET : C.AF_INET6);
  w.u8(s.prefixLength);
  w.u8(s.noDad ? C.IFA_F_NODAD : 0);
  w.u8(s.scope);
  w.u32(s.ifindex);
  w.attrBytes(C.IFA_LOCAL, s.address);
  w.attrBytes(C.IFA_ADDRESS, s.address);
  if (s.noDad) w.attrU32(C.IFA_FLAGS, C.IFA_F_NODAD);
  w.end(start);
}

export function encodeAddrDump(w: Writer, seq: number, family: number, ifindex: number): void {
  const start = w.begin(C.RTM_GETADDR, C.NLM_F_REQUEST | C.NLM_F_DUMP, seq);
  w.u8(family);
  w.u8(0);
  w.u8(0);
  w.u8(0);
  w.u32(ifindex);
  w.end(start);
}

export function decodeAddr(buf: Buffer, m: RawMessage): Addr | undefined {
  if (m.len < C.IFADDRMSG_LEN) return undefined;
  const o = m.off;
  const af = buf[o]!;
  if (af !== C.AF_INET && af !== C.AF_INET6) return undefined;
  const family: Family = af === C.AF_INET ? 4 : 6;
  let flags = buf[o + 2]!;
  let local: string | undefined;
  let address: string | undefined;
  const need = family === 4 ? 4 : 16;
  forEachAttr(buf, o + C.IFADDRMSG_LEN, o + m.len, (t, vo, vl) => {
    if (t === C.IFA_LOCAL && vl >= need) local = formatIP(family, buf, vo);
    else if (t === C.IFA_ADDRESS && vl >= need) address = formatIP(family, buf, vo);
    else if (t === C.IFA_FLAGS && vl >= 4) flags = buf.readUInt32LE(vo);
  });
  const a: Addr = {
    ifindex: buf.readUInt32LE(o + 4),
    family,
    address: local ?? address ?? '',
    prefixLength: buf[o + 1]!,
    scope: buf[o + 3]!,
  };
  if (flags & C.IFA_F_NODAD) a.noDad = true;
  return a;
}
