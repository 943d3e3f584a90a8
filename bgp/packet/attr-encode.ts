// Encodes path attributes once per (attribute set, AS width): the result is reused for every
// UPDATE that carries the set, so re-advertising is a copy of bytes.
import { AS_TRANS, AttrFlag, AttrType, Origin } from './constants.js';
import type { PathAttributes } from './attributes.js';
import { as4PathOf, asPathWireSize, needsAs4Path, writeAsPath } from './as-path.js';
import { expectedFlags } from './attr-decode.js';
import { BgpEncodeError } from './errors.js';
import { attrName } from './names.js';

/**
 * Encoded attributes (everything but NEXT_HOP and the MP attributes), in ascending type order.
 * NEXT_HOP, when an UPDATE needs it, goes at `nextHopAt` so the order stays ascending.
 */
export class EncodedAttributeSet {
  constructor(
    readonly attrs: PathAttributes,
    readonly fourOctetAs: boolean,
    readonly bytes: Buffer,
    readonly nextHopAt: number,
  ) {}
}

interface Piece {
  type: number;
  flags: number;
  len: number;
  write: (buf: Buffer, off: number) => void;
}

const isU32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 0xffffffff;

function check(ok: boolean, what: string): void {
  if (!ok) throw new BgpEncodeError(`cannot encode path attributes: ${what}`);
}

function u32Piece(type: number, flags: number, value: number): Piece {
  check(isU32(value), `${attrName(type)} ${value} is not an unsigned 32-bit number`);
  return { type, flags, len: 4, write: (b, o) => void b.writeUInt32BE(value, o) };
}

function listPiece(type: number, flags: number, values: readonly number[]): Piece {
  for (const x of values) check(isU32(x), `${attrName(type)} entry ${x} is not an unsigned 32-bit number`);
  return {
    type,
    flags,
    len: 4 * values.length,
    write: (b, o) => values.forEach((x, k) => b.writeUInt32BE(x, o + 4 * k)),
  };
}

/** Encodes `attrs` for a session with the given AS width. NEXT_HOP is not included. */
export function encodeAttributeSet(attrs: PathAttributes, fourOctetAs: boolean): EncodedAttributeSet {
  const pieces: Piece[] = [];
  const asSize = fourOctetAs ? 4 : 2;
  const WK = AttrFlag.TRANSITIVE;
  const OPT = AttrFlag.OPTIONAL;
  const OT = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;

  if (attrs.origin !== undefined) {
    const o = attrs.origin;
    check(o === Origin.IGP || o === Origin.EGP || o === Origin.INCOMPLETE, `ORIGIN ${String(o)} is not 0, 1 or 2`);
    pieces.push({ type: AttrType.ORIGIN, flags: WK, len: 1, write: (b, off) => void (b[off] = o) });
  }
  if (attrs.asPath !== undefined) {
    const segs = attrs.asPath;
    for (const s of segs) {
      check(s.type >= 1 && s.type <= 4, `AS_PATH segment type ${s.type} is not 1..4`);
      for (const a of s.asns) check(isU32(a), `AS number ${a} is not an unsigned 32-bit number`);
    }
    pieces.push({ type: AttrType.AS_PATH, flags: WK, len: asPathWireSize(segs, asSize), write: (b, off) => void writeAsPath(b, off, segs, asSize) });
    if (!fourOctetAs && needsAs4Path(segs)) {
      const as4 = as4PathOf(segs);
      pieces.push({ type: AttrType.AS4_PATH, flags: OT, len: asPathWireSize(as4, 4), write: (b, off) => void writeAsPath(b, off, as4, 4) });
    }
  }
  if (attrs.med !== undefined) pieces.push(u32Piece(AttrType.MULTI_EXIT_DISC, OPT, attrs.med));
  if (attrs.localPref !== undefined) pieces.push(u32Piece(AttrType.LOCAL_PREF, WK, attrs.localPref));
  if (attrs.atomicAggregate) pieces.push({ type: AttrType.ATOMIC_AGGREGATE, flags: WK, len: 0, write: () => undefined });
  if (attrs.aggregator !== undefined) {
    const { as, address } = attrs.aggregator;
    check(isU32(as) && isU32(address), 'AGGREGATOR AS or address is not an unsigned 32-bit number');
    if (fourOctetAs) {
      pieces.push({ type: AttrType.AGGREGATOR, flags: OT, len: 8, write: (b, off) => { b.writeUInt32BE(as, off); b.writeUInt32BE(address, off + 4); } });
    } else {
      pieces.push({ type: AttrType.AGGREGATOR, flags: OT, len: 6, write: (b, off) => { b.writeUInt16BE(as > 0xffff ? AS_TRANS : as, off); b.writeUInt32BE(address, off + 2); } });
      if (as > 0xffff) {
        pieces.push({ type: AttrType.AS4_AGGREGATOR, flags: OT, len: 8, write: (b, off) => { b.writeUInt32BE(as, off); b.writeUInt32BE(address, off + 4); } });
      }
    }
  }
  if (attrs.communities !== undefined && attrs.communities.length > 0) pieces.push(listPiece(AttrType.COMMUNITIES, OT, attrs.communities));
  if (attrs.originatorId !== undefined) pieces.push(u32Piece(AttrType.ORIGINATOR_ID, OPT, attrs.originatorId));
  if (attrs.clusterList !== undefined && attrs.clusterList.length > 0) pieces.push(listPiece(AttrType.CLUSTER_LIST, OPT, attrs.clusterList));
  if (attrs.extendedCommunities !== undefined && attrs.extendedCommunities.length > 0) {
    const list = attrs.extendedCommunities;
    for (const x of list) check(x >= 0n && x <= 0xffffffffffffffffn, `extended community ${x} is not 8 octets`);
    pieces.push({ type: AttrType.EXTENDED_COMMUNITIES, flags: OT, len: 8 * list.length, write: (b, off) => list.forEach((x, k) => b.writeBigUInt64BE(x, off + 8 * k)) });
  }
  if (attrs.largeCommunities !== undefined && attrs.largeCommunities.length > 0) {
    const list = attrs.largeCommunities;
    for (const c of list) check(isU32(c.global) && isU32(c.local1) && isU32(c.local2), 'large community part is not an unsigned 32-bit number');
    pieces.push({
      type: AttrType.LARGE_COMMUNITY,
      flags: OT,
      len: 12 * list.length,
      write: (b, off) =>
        list.forEach((c, k) => {
          b.writeUInt32BE(c.global, off + 12 * k);
          b.writeUInt32BE(c.local1, off + 12 * k + 4);
          b.writeUInt32BE(c.local2, off + 12 * k + 8);
        }),
    });
  }
  for (const u of attrs.unknown ?? []) {
    check(expectedFlags(u.type) < 0 && u.type !== AttrType.NEXT_HOP, `unknown attribute has type ${u.type}, which is ${attrName(u.type)}; use its field instead`);
    check((u.flags & OT) === OT, `unknown attribute type ${u.type} is not optional transitive (flags 0x${u.flags.toString(16)}); only those are passed on`);
    const value = u.value;
    pieces.push({ type: u.type, flags: u.flags & 0xe0, len: value.length, write: (b, off) => void value.copy(b, off) });
  }

  pieces.sort((a, b) => a.type - b.type);
  let total = 0;
  for (const p of pieces) {
    check(p.len <= 0xffff, `${attrName(p.type)} is ${p.len} octets, more than an attribute can hold`);
    total += (p.len > 255 ? 4 : 3) + p.len;
  }
  const bytes = Buffer.allocUnsafe(total);
  let off = 0;
  let nextHopAt = -1;
  for (const p of pieces) {
    if (nextHopAt < 0 && p.type > AttrType.NEXT_HOP) nextHopAt = off;
    const ext = p.len > 255;
    bytes[off] = p.flags | (ext ? AttrFlag.EXTENDED_LENGTH : 0);
    bytes[off + 1] = p.type;
    if (ext) {
      bytes[off + 2] = p.len >>> 8;
      bytes[off + 3] = p.len & 255;
      off += 4;
    } else {
      bytes[off + 2] = p.len;
      off += 3;
    }
    p.write(bytes, off);
    off += p.len;
  }
  if (nextHopAt < 0) nextHopAt = off;
  return new EncodedAttributeSet(attrs, fourOctetAs, bytes, nextHopAt);
}

/** Octets of a NEXT_HOP attribute. */
export const NEXT_HOP_ATTR_SIZE = 7;

/** Writes the NEXT_HOP attribute (IPv4) at buf[off]. */
export function writeNextHopAttr(buf: Buffer, off: number, addr: number): number {
  buf[off] = AttrFlag.TRANSITIVE;
  buf[off + 1] = AttrType.NEXT_HOP;
  buf[off + 2] = 4;
  buf.writeUInt32BE(addr >>> 0, off + 3);
  return off + NEXT_HOP_ATTR_SIZE;
}

