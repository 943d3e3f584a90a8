// Packing many prefixes that share one attribute set into as few UPDATEs as the session's
// maximum message size allows (IPv4 in the NLRI field, IPv6 — and IPv4 with an IPv6 next hop —
// in MP_REACH_NLRI), the same for withdrawals, and End-of-RIB markers (RFC 4724 §2).
import type { Prefix } from './address.js';
import { AFI_IPV4, AFI_IPV6, AttrType, HEADER_LENGTH, MessageType, SAFI_UNICAST } from './constants.js';
import type { PathAttributes } from './attributes.js';
import { EncodedAttributeSet, encodeAttributeSet, NEXT_HOP_ATTR_SIZE } from './attr-encode.js';
import type { AfiSafi } from './capabilities.js';
import { addPathFor, maxSendLength, type CodecContext } from './context.js';
import { BgpEncodeError } from './errors.js';
import { writeHeader } from './header.js';
import { nextHopWireSize, writeNextHop } from './mp.js';
import { assertEncodablePrefix, prefixWireSize, writePrefix } from './nlri.js';
import { mpHeaderSize, writeAttrsWithNextHop, writeMpHeader, type UpdateMessage } from './update.js';

/** Splits prefixes by family, keeping their order. */
function byFamily(prefixes: readonly Prefix[]): [Prefix[], Prefix[]] {
  const v4: Prefix[] = [];
  const v6: Prefix[] = [];
  for (const p of prefixes) {
    assertEncodablePrefix(p);
    if (p.afi === AFI_IPV4) v4.push(p);
    else v6.push(p);
  }
  return [v4, v6];
}

/**
 * How many prefixes from `from` fit in `budget` octets, and the octets they take. At least one
 * must fit, or the attributes alone fill the message.
 */
function fit(list: readonly Prefix[], from: number, budget: number, addPath: boolean): [number, number] {
  let used = 0;
  let i = from;
  for (; i < list.length; i++) {
    const s = prefixWireSize(list[i]!, addPath);
    if (used + s > budget) break;
    used += s;
  }
  if (i === from) {
    throw new BgpEncodeError(`path attributes leave only ${budget} octets for prefixes in an UPDATE; not even one prefix fits`, 'shorten the AS path or the community lists');
  }
  return [i - from, used];
}

/** Octets of an UPDATE announcing `afi` prefixes with `set`, apart from the prefixes themselves. */
function announceOverhead(set: EncodedAttributeSet, afi: number): number {
  const nh = set.attrs.nextHop!;
  if (afi === AFI_IPV4 && nh.afi === AFI_IPV4) return HEADER_LENGTH + 4 + set.bytes.length + NEXT_HOP_ATTR_SIZE;
  // MP_REACH_NLRI, budgeted with the 4-octet (extended length) attribute header.
  return HEADER_LENGTH + 4 + 4 + 5 + nextHopWireSize(nh) + set.bytes.length;
}

/**
 * Whether an UPDATE announcing one prefix of `afi` (the longest there is) with this attribute set
 * fits the session's maximum message size. When it does not, the route cannot be sent to this
 * peer at all (RFC 8654 §4 / RFC 4271 §9.2): packUpdates() would throw.
 */
export function fitsOneUpdate(set: EncodedAttributeSet, afi: number, ctx: CodecContext): boolean {
  if (set.attrs.nextHop === undefined) return false;
  const longest = (afi === AFI_IPV4 ? 5 : 17) + (addPathFor(ctx, afi, 'send') ? 4 : 0);
  return announceOverhead(set, afi) + longest <= maxSendLength(ctx);
}

/**
 * Encodes UPDATEs announcing `prefixes` with the attribute set `attrs` (or a set encoded before
 * with encodeAttributeSet() for the same AS width, to skip re-encoding). attrs.origin,
 * attrs.asPath and attrs.nextHop are required. IPv4 prefixes go in the NLRI field with a
 * NEXT_HOP attribute when the next hop is IPv4, or in MP_REACH_NLRI with an IPv6 next hop when
 * the peer accepts that (ctx.extendedNextHop); IPv6 prefixes need an IPv6 next hop.
 */
export function packUpdates(attrs: PathAttributes | EncodedAttributeSet, prefixes: readonly Prefix[], ctx: CodecContext): Buffer[] {
  const set = attrs instanceof EncodedAttributeSet ? attrs : encodeAttributeSet(attrs, ctx.fourOctetAs);
  if (set.fourOctetAs !== ctx.fourOctetAs) throw new BgpEncodeError('attribute set was encoded for a different AS width than this session uses');
  const a = set.attrs;
  if (a.origin === undefined || a.asPath === undefined) {
    throw new BgpEncodeError('cannot announce prefixes without ORIGIN and AS_PATH', 'set attrs.origin and attrs.asPath (an empty path is [])');
  }
  const nh = a.nextHop;
  if (nh === undefined) throw new BgpEncodeError('cannot announce prefixes without a next hop', 'set attrs.nextHop');
  const out: Buffer[] = [];
  const [v4, v6] = byFamily(prefixes);
  const max = maxSendLength(ctx);

  if (v4.length > 0) {
    if (nh.afi === AFI_IPV4) {
      const ap = addPathFor(ctx, AFI_IPV4, 'send');
      const alen = set.bytes.length + NEXT_HOP_ATTR_SIZE;
      const base = announceOverhead(set, AFI_IPV4);
      for (let i = 0; i < v4.length; ) {
        const [n, bytes] = fit(v4, i, max - base, ap);
        const total = base + bytes;
        const buf = Buffer.allocUnsafe(total);
        writeHeader(buf, total, MessageType.UPDATE);
        buf[19] = 0;
        buf[20] = 0;
        buf.writeUInt16BE(alen, 21);
        let p = writeAttrsWithNextHop(buf, 23, set, nh.addr);
        for (let k = i; k < i + n; k++) p = writePrefix(buf, p, v4[k]!, ap);
        out.push(buf);
        i += n;
      }
    } else {
      if (!ctx.extendedNextHop) {
        throw new BgpEncodeError('IPv4 prefixes with an IPv6 next hop need the peer\'s Extended Next Hop capability (RFC 8950)', 'give an IPv4 next hop, or negotiate extended next hop');
      }
      packMpReach(out, set, AFI_IPV4, v4, ctx, max);
    }
  }
  if (v6.length > 0) {
    if (nh.afi !== AFI_IPV6) throw new BgpEncodeError('IPv6 prefixes need an IPv6 next hop', 'use an IPv4-mapped IPv6 address (::ffff:a.b.c.d) on an IPv4-only peering');
    packMpReach(out, set, AFI_IPV6, v6, ctx, max);
  }
  return out;
}

function packMpReach(out: Buffer[], set: EncodedAttributeSet, afi: number, list: readonly Prefix[], ctx: CodecContext, max: number): void {
  const nh = set.attrs.nextHop!;
  const ap = addPathFor(ctx, afi, 'send');
  const fixed = 5 + nextHopWireSize(nh);
  // Budget assuming the 4-octet (extended length) attribute header; a short value then uses 3.
  const base = announceOverhead(set, afi);
  for (let i = 0; i < list.length; ) {
    const [n, bytes] = fit(list, i, max - base, ap);
    const mpLen = fixed + bytes;
    const alen = mpHeaderSize(mpLen) + mpLen + set.bytes.length;
    const total = HEADER_LENGTH + 4 + alen;
    const buf = Buffer.allocUnsafe(total);
    writeHeader(buf, total, MessageType.UPDATE);
    buf[19] = 0;
    buf[20] = 0;
    buf.writeUInt16BE(alen, 21);
    let p = writeMpHeader(buf, 23, AttrType.MP_REACH_NLRI, mpLen);
    buf.writeUInt16BE(afi, p);
    buf[p + 2] = SAFI_UNICAST;
    buf[p + 3] = nextHopWireSize(nh);
    p = writeNextHop(buf, p + 4, nh);
    buf[p++] = 0;
    for (let k = i; k < i + n; k++) p = writePrefix(buf, p, list[k]!, ap);
    set.bytes.copy(buf, p);
    out.push(buf);
    i += n;
  }
}

/** Encodes UPDATEs withdrawing `prefixes` (IPv4 in Withdrawn Routes, IPv6 in MP_UNREACH_NLRI). */
export function packWithdrawals(prefixes: readonly Prefix[], ctx: CodecContext): Buffer[] {
  const out: Buffer[] = [];
  const [v4, v6] = byFamily(prefixes);
  const max = maxSendLength(ctx);
  if (v4.length > 0) {
    const ap = addPathFor(ctx, AFI_IPV4, 'send');
    const base = HEADER_LENGTH + 4;
    for (let i = 0; i < v4.length; ) {
      const [n, bytes] = fit(v4, i, max - base, ap);
      const total = base + bytes;
      const buf = Buffer.allocUnsafe(total);
      writeHeader(buf, total, MessageType.UPDATE);
      buf.writeUInt16BE(bytes, 19);
      let p = 21;
      for (let k = i; k < i + n; k++) p = writePrefix(buf, p, v4[k]!, ap);
      buf[p] = 0;
      buf[p + 1] = 0;
      out.push(buf);
      i += n;
    }
  }
  if (v6.length > 0) {
    const ap = addPathFor(ctx, AFI_IPV6, 'send');
    const base = HEADER_LENGTH + 4 + 4 + 3;
    for (let i = 0; i < v6.length; ) {
      const [n, bytes] = fit(v6, i, max - base, ap);
      const mpLen = 3 + bytes;
      const alen = mpHeaderSize(mpLen) + mpLen;
      const total = HEADER_LENGTH + 4 + alen;
      const buf = Buffer.allocUnsafe(total);
      writeHeader(buf, total, MessageType.UPDATE);
      buf[19] = 0;
      buf[20] = 0;
      buf.writeUInt16BE(alen, 21);
      let p = writeMpHeader(buf, 23, AttrType.MP_UNREACH_NLRI, mpLen);
      buf.writeUInt16BE(AFI_IPV6, p);
      buf[p + 2] = SAFI_UNICAST;
      p += 3;
      for (let k = i; k < i + n; k++) p = writePrefix(buf, p, v6[k]!, ap);
      out.push(buf);
      i += n;
    }
  }
  return out;
}

/** The End-of-RIB marker for a family: an empty UPDATE for IPv4 unicast, else an empty MP_UNREACH_NLRI. */
export function endOfRib(afi: number, safi: number): UpdateMessage {
  if (afi === AFI_IPV4 && safi === SAFI_UNICAST) return { type: 'update', withdrawn: [], attrs: {}, nlri: [] };
  if (afi !== AFI_IPV6 && afi !== AFI_IPV4) throw new BgpEncodeError(`End-of-RIB for AFI ${afi} is not supported`);
  return { type: 'update', withdrawn: [], attrs: {}, nlri: [], mpUnreach: { afi, safi, withdrawn: [] } };
}

/** Encodes the End-of-RIB marker for a family. */
export function encodeEndOfRib(afi: number, safi: number): Buffer {
  if (afi === AFI_IPV4 && safi === SAFI_UNICAST) {
    const buf = Buffer.alloc(23);
    writeHeader(buf, 23, MessageType.UPDATE);
    return buf;
  }
  const buf = Buffer.alloc(29);
  writeHeader(buf, 29, MessageType.UPDATE);
  buf.writeUInt16BE(6, 21);
  writeMpHeader(buf, 23, AttrType.MP_UNREACH_NLRI, 3);
  buf.writeUInt16BE(afi, 26);
  buf[28] = safi;
  return buf;
}

/** The family an UPDATE marks End-of-RIB for, or undefined when it is not an End-of-RIB. */
export function endOfRibFamily(m: UpdateMessage): AfiSafi | undefined {
  if (m.withdrawn.length > 0 || m.nlri.length > 0 || m.mpReach) return undefined;
  for (const k in m.attrs) if ((m.attrs as Record<string, unknown>)[k] !== undefined) return undefined;
  if (!m.mpUnreach) return { afi: AFI_IPV4, safi: SAFI_UNICAST };
  if (m.mpUnreach.withdrawn.length > 0) return undefined;
  return { afi: m.mpUnreach.afi, safi: m.mpUnreach.safi };
}
