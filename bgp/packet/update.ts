// UPDATE message (RFC 4271 §4.3) decode and encode, with RFC 7606 error handling on decode.
import type { Ipv4Prefix, Prefix } from './address.js';
import { AFI_IPV4, AttrFlag, AttrType, ErrorCode, HEADER_LENGTH, MessageType, UpdateSubcode } from './constants.js';
import type { PathAttributes } from './attributes.js';
import { decodeAttributes } from './attr-decode.js';
import { EncodedAttributeSet, encodeAttributeSet, NEXT_HOP_ATTR_SIZE, writeNextHopAttr } from './attr-encode.js';
import { addPathFor, maxSendLength, type CodecContext } from './context.js';
import { BgpEncodeError, BgpError } from './errors.js';
import { writeHeader } from './header.js';
import { nextHopWireSize, writeNextHop, type MpReach, type MpUnreach } from './mp.js';
import { attrName } from './names.js';
import { assertEncodablePrefix, decodeIpv4Nlri, prefixWireSize, writePrefix } from './nlri.js';

export interface UpdateMessage {
  readonly type: 'update';
  /** Withdrawn Routes field (IPv4 unicast). */
  readonly withdrawn: readonly Ipv4Prefix[];
  /** Path attributes other than MP_REACH_NLRI / MP_UNREACH_NLRI. */
  readonly attrs: PathAttributes;
  /** NLRI field (IPv4 unicast), next hop in attrs.nextHop. */
  readonly nlri: readonly Ipv4Prefix[];
  readonly mpReach?: MpReach;
  readonly mpUnreach?: MpUnreach;
  /**
   * Decode only: the received path attribute octets, a view into the message buffer (copy it
   * before keeping it). Ignored by the encoder.
   */
  readonly rawAttrs?: Buffer;
}

/** What decoding an UPDATE found besides the message itself. */
export interface UpdateOutcome {
  /**
   * RFC 7606 treat-as-withdraw: every prefix in `nlri` and `mpReach.nlri` must be handled as
   * withdrawn (the withdrawals in the message still apply too).
   */
  readonly treatAsWithdraw: boolean;
  /** Non-fatal problems (attribute discards and the reasons for treat-as-withdraw), for logs. */
  readonly issues: readonly BgpError[];
}

function updateError(subcode: number, detail: string, data?: Buffer): BgpError {
  return new BgpError(ErrorCode.UPDATE_MESSAGE, subcode, `UPDATE: ${detail}`, data ? { data } : {});
}

/**
 * Decodes the UPDATE in msg (header included). Throws a BgpError for session-reset and
 * afisafi-disable problems; treat-as-withdraw and attribute-discard come back in the outcome.
 */
export function decodeUpdate(msg: Buffer, ctx: CodecContext): { message: UpdateMessage } & UpdateOutcome {
  const end = msg.length;
  let p = HEADER_LENGTH;
  const wlen = (msg[p]! << 8) | msg[p + 1]!;
  p += 2;
  if (p + wlen + 2 > end) {
    throw updateError(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, `withdrawn routes length ${wlen} runs past the end of the message (length ${end})`);
  }
  const withdrawn: Ipv4Prefix[] = [];
  const wErr = decodeIpv4Nlri(msg, p, p + wlen, addPathFor(ctx, AFI_IPV4, 'receive'), withdrawn);
  if (wErr) throw updateError(UpdateSubcode.INVALID_NETWORK_FIELD, `withdrawn routes: ${wErr}`);
  p += wlen;
  const alen = (msg[p]! << 8) | msg[p + 1]!;
  p += 2;
  if (p + alen > end) {
    throw updateError(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, `total path attribute length ${alen} runs past the end of the message (withdrawn length ${wlen}, message length ${end})`);
  }
  const a = decodeAttributes(msg, p, p + alen, ctx);
  const rawAttrs = msg.subarray(p, p + alen);
  const nlri: Ipv4Prefix[] = [];
  const nErr = decodeIpv4Nlri(msg, p + alen, end, addPathFor(ctx, AFI_IPV4, 'receive'), nlri);
  if (nErr) throw updateError(UpdateSubcode.INVALID_NETWORK_FIELD, `NLRI: ${nErr}`);
  if (a.familyError) throw a.familyError;

  const issues = a.issues;
  let treatAsWithdraw = a.treatAsWithdraw;
  const mpAnnounces = a.mpReach !== undefined && a.mpReach.nlri.length > 0;
  // RFC 7606 §3(d): a missing well-known mandatory attribute is treat-as-withdraw.
  if (nlri.length > 0 || mpAnnounces) {
    const missing: number[] = [];
    if (!a.hasOrigin) missing.push(AttrType.ORIGIN);
    if (!a.hasAsPath) missing.push(AttrType.AS_PATH);
    if (nlri.length > 0 && !a.hasNextHop) missing.push(AttrType.NEXT_HOP);
    for (const t of missing) {
      issues.push(
        new BgpError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MISSING_WELL_KNOWN, `UPDATE: well-known mandatory attribute ${attrName(t)} is missing`, {
          handling: 'treat-as-withdraw',
          data: Buffer.from([t]),
          attrType: t,
        }),
      );
      treatAsWithdraw = true;
    }
  } else if (treatAsWithdraw && alen > 0) {
    // RFC 7606 §5.2: attributes but no reachable NLRI — the NLRI may have been missed, so any
    // error stronger than attribute discard resets the session.
    const first = issues.find((i) => i.handling === 'treat-as-withdraw')!;
    throw first.escalate('session-reset', 'and the UPDATE carries no NLRI to withdraw (RFC 7606 §5.2)');
  }

  const message: UpdateMessage = {
    type: 'update',
    withdrawn,
    attrs: a.attrs,
    nlri,
    mpReach: a.mpReach,
    mpUnreach: a.mpUnreach,
    rawAttrs,
  };
  return { message, treatAsWithdraw, issues };
}

/** Octets of an MP_REACH_NLRI / MP_UNREACH_NLRI attribute header for a value of `len`. */
export function mpHeaderSize(len: number): number {
  return len > 255 ? 4 : 3;
}

/** Writes an attribute header (optional non-transitive, extended length when needed). */
export function writeMpHeader(buf: Buffer, off: number, type: number, len: number): number {
  if (len > 255) {
    buf[off] = AttrFlag.OPTIONAL | AttrFlag.EXTENDED_LENGTH;
    buf[off + 1] = type;
    buf[off + 2] = len >>> 8;
    buf[off + 3] = len & 255;
    return off + 4;
  }
  buf[off] = AttrFlag.OPTIONAL;
  buf[off + 1] = type;
  buf[off + 2] = len;
  return off + 3;
}

function nlriSize(list: readonly Prefix[], addPath: boolean): number {
  let n = 0;
  for (const pfx of list) {
    assertEncodablePrefix(pfx);
    n += prefixWireSize(pfx, addPath);
  }
  return n;
}

function checkFamily(list: readonly Prefix[], afi: number, where: string): void {
  for (const pfx of list) {
    if (pfx.afi !== afi) throw new BgpEncodeError(`${where} holds a prefix of AFI ${pfx.afi} in a list of AFI ${afi}`);
  }
}

/**
 * Encodes one UPDATE exactly as given (MP attributes first, then attrs in type order, NEXT_HOP
 * from attrs.nextHop when it is IPv4). Throws BgpEncodeError when it does not fit the maximum
 * message size; use packUpdates() to split large sets of prefixes.
 */
export function encodeUpdate(m: UpdateMessage, ctx: CodecContext, encoded?: EncodedAttributeSet): Buffer {
  const set = encoded ?? encodeAttributeSet(m.attrs, ctx.fourOctetAs);
  if (set.fourOctetAs !== ctx.fourOctetAs) throw new BgpEncodeError('attribute set was encoded for a different AS width than this session uses');
  const nh = m.attrs.nextHop;
  if (nh !== undefined && nh.afi !== AFI_IPV4) {
    throw new BgpEncodeError('UPDATE attrs.nextHop is IPv6; an IPv6 next hop goes in mpReach.nextHop', 'use packUpdates() to place next hops automatically');
  }
  checkFamily(m.withdrawn, AFI_IPV4, 'withdrawn');
  checkFamily(m.nlri, AFI_IPV4, 'nlri');
  const ap4 = addPathFor(ctx, AFI_IPV4, 'send');
  const wlen = nlriSize(m.withdrawn, ap4);
  const nlen = nlriSize(m.nlri, ap4);
  let mpReachLen = 0;
  let mpReachNlri = 0;
  if (m.mpReach) {
    checkFamily(m.mpReach.nlri, m.mpReach.afi, 'mpReach.nlri');
    mpReachNlri = nlriSize(m.mpReach.nlri, addPathFor(ctx, m.mpReach.afi, 'send'));
    mpReachLen = 5 + nextHopWireSize(m.mpReach.nextHop) + mpReachNlri;
  }
  let mpUnreachLen = 0;
  if (m.mpUnreach) {
    checkFamily(m.mpUnreach.withdrawn, m.mpUnreach.afi, 'mpUnreach.withdrawn');
    mpUnreachLen = 3 + nlriSize(m.mpUnreach.withdrawn, addPathFor(ctx, m.mpUnreach.afi, 'send'));
  }
  const alen =
    (m.mpReach ? mpHeaderSize(mpReachLen) + mpReachLen : 0) +
    (m.mpUnreach ? mpHeaderSize(mpUnreachLen) + mpUnreachLen : 0) +
    set.bytes.length +
    (nh ? NEXT_HOP_ATTR_SIZE : 0);
  const total = HEADER_LENGTH + 2 + wlen + 2 + alen + nlen;
  const max = maxSendLength(ctx);
  if (wlen > 0xffff || alen > 0xffff || total > max) {
    throw new BgpEncodeError(`UPDATE would be ${total} octets, more than the ${max} this session allows`, 'split the prefixes with packUpdates()/packWithdrawals()');
  }
  const buf = Buffer.allocUnsafe(total);
  writeHeader(buf, total, MessageType.UPDATE);
  let p = HEADER_LENGTH;
  buf.writeUInt16BE(wlen, p);
  p += 2;
  for (const pfx of m.withdrawn) p = writePrefix(buf, p, pfx, ap4);
  buf.writeUInt16BE(alen, p);
  p += 2;
  if (m.mpReach) {
    const r = m.mpReach;
    p = writeMpHeader(buf, p, AttrType.MP_REACH_NLRI, mpReachLen);
    buf.writeUInt16BE(r.afi, p);
    buf[p + 2] = r.safi;
    buf[p + 3] = nextHopWireSize(r.nextHop);
    p = writeNextHop(buf, p + 4, r.nextHop);
    buf[p++] = 0;
    const ap = addPathFor(ctx, r.afi, 'send');
    for (const pfx of r.nlri) p = writePrefix(buf, p, pfx, ap);
  }
  if (m.mpUnreach) {
    const u = m.mpUnreach;
    p = writeMpHeader(buf, p, AttrType.MP_UNREACH_NLRI, mpUnreachLen);
    buf.writeUInt16BE(u.afi, p);
    buf[p + 2] = u.safi;
    p += 3;
    const ap = addPathFor(ctx, u.afi, 'send');
    for (const pfx of u.withdrawn) p = writePrefix(buf, p, pfx, ap);
  }
  p = writeAttrsWithNextHop(buf, p, set, nh?.addr);
  for (const pfx of m.nlri) p = writePrefix(buf, p, pfx, ap4);
  return buf;
}

/** Copies the encoded set, with a NEXT_HOP attribute at its place when `nextHop` is given. */
export function writeAttrsWithNextHop(buf: Buffer, p: number, set: EncodedAttributeSet, nextHop: number | undefined): number {
  if (nextHop === undefined) {
    set.bytes.copy(buf, p);
    return p + set.bytes.length;
  }
  set.bytes.copy(buf, p, 0, set.nextHopAt);
  p += set.nextHopAt;
  p = writeNextHopAttr(buf, p, nextHop);
  set.bytes.copy(buf, p, set.nextHopAt);
  return p + set.bytes.length - set.nextHopAt;
}
