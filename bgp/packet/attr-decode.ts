// Decodes an UPDATE's path attributes with the RFC 7606 error handling: each problem becomes a
// BgpError whose `handling` says what to do; only session resets are thrown from here, the rest
// are collected so the caller can still locate and return the NLRI.
import { AFI_IPV4, AS_TRANS, AttrFlag, AttrType, ErrorCode, UpdateSubcode, type Origin } from './constants.js';
import type { Aggregator, AsPathSegment, LargeCommunity, PathAttributes, RawAttribute } from './attributes.js';
import { decodeAsPath, mergeAs4Path, withoutConfed } from './as-path.js';
import type { CodecContext } from './context.js';
import { BgpError, type ErrorHandling } from './errors.js';
import { decodeMpReach, decodeMpUnreach, isMpProblem, type MpReach, type MpUnreach, type MpProblem } from './mp.js';
import { attrName } from './names.js';

export interface AttrDecodeResult {
  attrs: PathAttributes;
  mpReach: MpReach | undefined;
  mpUnreach: MpUnreach | undefined;
  /** Non-fatal problems (attribute discard and treat-as-withdraw), in the order found. */
  issues: BgpError[];
  treatAsWithdraw: boolean;
  /** First MP_REACH/MP_UNREACH problem (afisafi-disable); the caller throws it after the NLRI checks. */
  familyError: BgpError | undefined;
  /** Which well-known mandatory attributes were present (valid or not). */
  hasOrigin: boolean;
  hasAsPath: boolean;
  hasNextHop: boolean;
}

const OPT_TRANS = AttrFlag.OPTIONAL | AttrFlag.TRANSITIVE;
const OPT = AttrFlag.OPTIONAL;
const WK = AttrFlag.TRANSITIVE;
/** Expected Optional/Transitive bits of each recognised attribute; -1 when not recognised. */
const EXPECTED_FLAGS = new Int16Array(256).fill(-1);
EXPECTED_FLAGS[AttrType.ORIGIN] = WK;
EXPECTED_FLAGS[AttrType.AS_PATH] = WK;
EXPECTED_FLAGS[AttrType.NEXT_HOP] = WK;
EXPECTED_FLAGS[AttrType.MULTI_EXIT_DISC] = OPT;
EXPECTED_FLAGS[AttrType.LOCAL_PREF] = WK;
EXPECTED_FLAGS[AttrType.ATOMIC_AGGREGATE] = WK;
EXPECTED_FLAGS[AttrType.AGGREGATOR] = OPT_TRANS;
EXPECTED_FLAGS[AttrType.COMMUNITIES] = OPT_TRANS;
EXPECTED_FLAGS[AttrType.ORIGINATOR_ID] = OPT;
EXPECTED_FLAGS[AttrType.CLUSTER_LIST] = OPT;
EXPECTED_FLAGS[AttrType.MP_REACH_NLRI] = OPT;
EXPECTED_FLAGS[AttrType.MP_UNREACH_NLRI] = OPT;
EXPECTED_FLAGS[AttrType.EXTENDED_COMMUNITIES] = OPT_TRANS;
EXPECTED_FLAGS[AttrType.AS4_PATH] = OPT_TRANS;
EXPECTED_FLAGS[AttrType.AS4_AGGREGATOR] = OPT_TRANS;
EXPECTED_FLAGS[AttrType.LARGE_COMMUNITY] = OPT_TRANS;

/** Recognised attribute flags, for encoders. */
export function expectedFlags(type: number): number {
  return EXPECTED_FLAGS[type] ?? -1;
}

const u32 = (b: Buffer, i: number): number => (b[i]! * 0x1000000 + ((b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!)) >>> 0;

/** Duplicate detection without allocating per UPDATE (decoding is synchronous). */
const seen = new Uint8Array(256);
const seenList: number[] = [];

function note(r: AttrDecodeResult, buf: Buffer, end: number, handling: ErrorHandling, subcode: number, type: number, detail: string, from: number, to: number): void {
  r.issues.push(
    new BgpError(ErrorCode.UPDATE_MESSAGE, subcode, `UPDATE: ${attrName(type)}: ${detail}`, {
      handling,
      data: Buffer.from(buf.subarray(from, Math.min(to, end))),
      attrType: type,
    }),
  );
  if (handling === 'treat-as-withdraw') r.treatAsWithdraw = true;
}

function familyProblem(r: AttrDecodeResult, buf: Buffer, end: number, type: number, p: MpProblem, from: number, to: number): void {
  const data = Buffer.from(buf.subarray(from, Math.min(to, end)));
  if (p.unsupported) {
    // A family we never negotiated: nothing of ours to withdraw or disable; ignore it.
    r.issues.push(new BgpError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.OPTIONAL_ATTRIBUTE, `UPDATE: ${p.problem}; ignored`, { handling: 'attribute-discard', data, attrType: type, afi: p.afi, safi: p.safi }));
    return;
  }
  if (r.familyError) return;
  const detail = `UPDATE: ${p.problem}`;
  r.familyError =
    p.afi !== undefined && p.safi !== undefined
      ? new BgpError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.OPTIONAL_ATTRIBUTE, detail, { handling: 'afisafi-disable', data, attrType: type, afi: p.afi, safi: p.safi })
      : new BgpError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.OPTIONAL_ATTRIBUTE, detail, { handling: 'session-reset', data, attrType: type });
}

/**
 * Decodes the attributes at buf[start..end). Throws a session-reset BgpError for problems that
 * make the rest of the message untrustworthy (RFC 7606 §3(g) duplicate MP attributes, §3 unknown
 * well-known attributes).
 */
export function decodeAttributes(buf: Buffer, start: number, end: number, ctx: CodecContext): AttrDecodeResult {
  const attrs: PathAttributes = {};
  const r: AttrDecodeResult = {
    attrs,
    mpReach: undefined,
    mpUnreach: undefined,
    issues: [],
    treatAsWithdraw: false,
    familyError: undefined,
    hasOrigin: false,
    hasAsPath: false,
    hasNextHop: false,
  };
  let as4Path: readonly AsPathSegment[] | undefined;
  let as4Aggregator: Aggregator | undefined;
  let unknown: RawAttribute[] | undefined;
  const asSize = ctx.fourOctetAs ? 4 : 2;

  for (const t of seenList) seen[t] = 0;
  seenList.length = 0;

  let pos = start;
  while (pos < end) {
    // RFC 7606 §4: a header or value running past the attribute block is treat-as-withdraw; the
    // Total Attribute Length still locates the NLRI.
    if (end - pos < 3) {
      note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, buf[pos + 1] ?? 0, `only ${end - pos} octet(s) left for an attribute header`, pos, end);
      break;
    }
    const flags = buf[pos]!;
    const type = buf[pos + 1]!;
    const ext = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
    const hdr = ext ? 4 : 3;
    if (end - pos < hdr) {
      note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, type, 'extended-length attribute header is truncated', pos, end);
      break;
    }
    const len = ext ? (buf[pos + 2]! << 8) | buf[pos + 3]! : buf[pos + 2]!;
    const v = pos + hdr;
    const vEnd = v + len;
    if (vEnd > end) {
      if (type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI) {
        const afi = end - v >= 3 ? buf.readUInt16BE(v) : undefined;
        const safi = end - v >= 3 ? buf[v + 2] : undefined;
        familyProblem(r, buf, end, type, { problem: `${attrName(type)} length ${len} runs past the end of the path attributes`, afi, safi, unsupported: false }, pos, end);
      } else {
        note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH, type, `length ${len} runs past the end of the path attributes`, pos, end);
      }
      break;
    }
    const next = vEnd;

    if (seen[type]) {
      if (type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI) {
        throw new BgpError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, `UPDATE: ${attrName(type)} appears more than once`, {
          attrType: type,
        });
      }
      note(r, buf, end, 'attribute-discard', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, type, 'appears more than once; the repeat is ignored', pos, next);
      pos = next;
      continue;
    }
    seen[type] = 1;
    seenList.push(type);

    const expected = EXPECTED_FLAGS[type]!;
    if (expected < 0) {
      if ((flags & AttrFlag.OPTIONAL) === 0) {
        throw new BgpError(ErrorCode.UPDATE_MESSAGE, UpdateSubcode.UNRECOGNIZED_WELL_KNOWN, `UPDATE: well-known attribute type ${type} is not recognised`, {
          data: Buffer.from(buf.subarray(pos, next)),
          attrType: type,
        });
      }
      if ((flags & AttrFlag.TRANSITIVE) !== 0) {
        (unknown ??= []).push({ flags: (flags | AttrFlag.PARTIAL) & 0xe0, type, value: Buffer.from(buf.subarray(v, vEnd)) });
      }
      pos = next;
      continue;
    }
    if ((flags & OPT_TRANS) !== expected) {
      const what = `flags 0x${flags.toString(16)} do not match the attribute (optional/transitive bits should be 0x${expected.toString(16)})`;
      if (type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI) {
        familyProblem(r, buf, end, type, { problem: `${attrName(type)} ${what}`, afi: len >= 3 ? buf.readUInt16BE(v) : undefined, safi: len >= 3 ? buf[v + 2] : undefined, unsupported: false }, pos, next);
      } else if (type === AttrType.AS4_PATH || type === AttrType.AS4_AGGREGATOR) {
        note(r, buf, end, 'attribute-discard', UpdateSubcode.ATTRIBUTE_FLAGS, type, what, pos, next);
      } else {
        note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_FLAGS, type, what, pos, next);
        if (type === AttrType.ORIGIN) r.hasOrigin = true;
        else if (type === AttrType.AS_PATH) r.hasAsPath = true;
        else if (type === AttrType.NEXT_HOP) r.hasNextHop = true;
      }
      pos = next;
      continue;
    }

    switch (type) {
      case AttrType.ORIGIN:
        r.hasOrigin = true;
        if (len !== 1) note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH, type, `length ${len}, expected 1`, pos, next);
        else if (buf[v]! > 2) note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.INVALID_ORIGIN, type, `value ${buf[v]} is not IGP (0), EGP (1) or INCOMPLETE (2)`, pos, next);
        else attrs.origin = buf[v] as Origin;
        break;
      case AttrType.AS_PATH: {
        r.hasAsPath = true;
        const segs = decodeAsPath(buf, v, vEnd, asSize);
        if (typeof segs === 'string') note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.MALFORMED_AS_PATH, type, `${segs} (${asSize}-octet AS numbers)`, pos, next);
        else attrs.asPath = segs;
        break;
      }
      case AttrType.NEXT_HOP:
        r.hasNextHop = true;
        if (len !== 4) note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH, type, `length ${len}, expected 4`, pos, next);
        else attrs.nextHop = { afi: AFI_IPV4, addr: u32(buf, v) };
        break;
      case AttrType.MULTI_EXIT_DISC:
        if (len !== 4) note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH, type, `length ${len}, expected 4`, pos, next);
        else attrs.med = u32(buf, v);
        break;
      case AttrType.LOCAL_PREF:
        if (ctx.ebgp) note(r, buf, end, 'attribute-discard', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, type, 'received from an external peer; ignored', pos, next);
        else if (len !== 4) note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH, type, `length ${len}, expected 4`, pos, next);
        else attrs.localPref = u32(buf, v);
        break;
      case AttrType.ATOMIC_AGGREGATE:
        if (len !== 0) note(r, buf, end, 'attribute-discard', UpdateSubcode.ATTRIBUTE_LENGTH, type, `length ${len}, expected 0`, pos, next);
        else attrs.atomicAggregate = true;
        break;
      case AttrType.AGGREGATOR: {
        const want = asSize + 4;
        if (len !== want) note(r, buf, end, 'attribute-discard', UpdateSubcode.ATTRIBUTE_LENGTH, type, `length ${len}, expected ${want} on a ${asSize}-octet AS session`, pos, next);
        else attrs.aggregator = asSize === 4 ? { as: u32(buf, v), address: u32(buf, v + 4) } : { as: buf.readUInt16BE(v), address: u32(buf, v + 2) };
        break;
      }
      case AttrType.COMMUNITIES:
        if (len === 0 || len % 4 !== 0) note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH, type, `length ${len} is not a non-zero multiple of 4`, pos, next);
        else {
          const list = new Array<number>(len / 4);
          for (let k = 0; k < list.length; k++) list[k] = u32(buf, v + 4 * k);
          attrs.communities = list;
        }
        break;
      case AttrType.ORIGINATOR_ID:
        if (ctx.ebgp) note(r, buf, end, 'attribute-discard', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, type, 'received from an external peer; ignored', pos, next);
        else if (len !== 4) note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH, type, `length ${len}, expected 4`, pos, next);
        else attrs.originatorId = u32(buf, v);
        break;
      case AttrType.CLUSTER_LIST:
        if (ctx.ebgp) note(r, buf, end, 'attribute-discard', UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, type, 'received from an external peer; ignored', pos, next);
        else if (len === 0 || len % 4 !== 0) note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH, type, `length ${len} is not a non-zero multiple of 4`, pos, next);
        else {
          const list = new Array<number>(len / 4);
          for (let k = 0; k < list.length; k++) list[k] = u32(buf, v + 4 * k);
          attrs.clusterList = list;
        }
        break;
      case AttrType.MP_REACH_NLRI: {
        const m = decodeMpReach(buf, v, vEnd, ctx);
        if (isMpProblem(m)) familyProblem(r, buf, end, type, m, pos, next);
        else r.mpReach = m;
        break;
      }
      case AttrType.MP_UNREACH_NLRI: {
        const m = decodeMpUnreach(buf, v, vEnd, ctx);
        if (isMpProblem(m)) familyProblem(r, buf, end, type, m, pos, next);
        else r.mpUnreach = m;
        break;
      }
      case AttrType.EXTENDED_COMMUNITIES:
        if (len === 0 || len % 8 !== 0) note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH, type, `length ${len} is not a non-zero multiple of 8`, pos, next);
        else {
          const list = new Array<bigint>(len / 8);
          for (let k = 0; k < list.length; k++) list[k] = buf.readBigUInt64BE(v + 8 * k);
          attrs.extendedCommunities = list;
        }
        break;
      case AttrType.AS4_PATH:
        if (ctx.fourOctetAs) {
          note(r, buf, end, 'attribute-discard', UpdateSubcode.OPTIONAL_ATTRIBUTE, type, 'received on a 4-octet AS session, where it must not appear; ignored', pos, next);
        } else {
          const segs = len === 0 ? 'attribute is empty' : decodeAsPath(buf, v, vEnd, 4);
          if (typeof segs === 'string') note(r, buf, end, 'attribute-discard', UpdateSubcode.OPTIONAL_ATTRIBUTE, type, `${segs}; ignored`, pos, next);
          else {
            const clean = withoutConfed(segs);
            if (clean.length !== segs.length) note(r, buf, end, 'attribute-discard', UpdateSubcode.OPTIONAL_ATTRIBUTE, type, 'carries confederation segments, which were removed', pos, next);
            as4Path = clean;
          }
        }
        break;
      case AttrType.AS4_AGGREGATOR:
        if (ctx.fourOctetAs) note(r, buf, end, 'attribute-discard', UpdateSubcode.OPTIONAL_ATTRIBUTE, type, 'received on a 4-octet AS session, where it must not appear; ignored', pos, next);
        else if (len !== 8) note(r, buf, end, 'attribute-discard', UpdateSubcode.ATTRIBUTE_LENGTH, type, `length ${len}, expected 8; ignored`, pos, next);
        else as4Aggregator = { as: u32(buf, v), address: u32(buf, v + 4) };
        break;
      case AttrType.LARGE_COMMUNITY:
        if (len === 0 || len % 12 !== 0) note(r, buf, end, 'treat-as-withdraw', UpdateSubcode.ATTRIBUTE_LENGTH, type, `length ${len} is not a non-zero multiple of 12`, pos, next);
        else {
          const list = new Array<LargeCommunity>(len / 12);
          for (let k = 0; k < list.length; k++) list[k] = { global: u32(buf, v + 12 * k), local1: u32(buf, v + 12 * k + 4), local2: u32(buf, v + 12 * k + 8) };
          attrs.largeCommunities = list;
        }
        break;
    }
    pos = next;
  }

  if (unknown) attrs.unknown = unknown;

  // RFC 6793 §4.2.3 on 2-octet sessions.
  if (!ctx.fourOctetAs && (as4Path || as4Aggregator)) {
    let useAs4Path = true;
    if (as4Aggregator && attrs.aggregator) {
      if (attrs.aggregator.as !== AS_TRANS) useAs4Path = false;
      else attrs.aggregator = as4Aggregator;
    }
    if (useAs4Path && as4Path && attrs.asPath) attrs.asPath = mergeAs4Path(attrs.asPath, as4Path);
  }
  return r;
}
