// MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 §3-4) for IPv4 and IPv6 unicast, with IPv6 next
// hops for IPv4 NLRI (RFC 8950) and a link-local second next hop (RFC 2545).
import type { Ipv4Prefix, Ipv6Prefix, NextHop, Prefix } from './address.js';
import { AFI_IPV4, AFI_IPV6, SAFI_UNICAST, type Afi } from './constants.js';
import { addPathFor, type CodecContext } from './context.js';
import { decodeIpv4Nlri, decodeIpv6Nlri } from './nlri.js';

export interface MpReach {
  readonly afi: Afi;
  readonly safi: number;
  readonly nextHop: NextHop;
  readonly nlri: readonly Prefix[];
}

export interface MpUnreach {
  readonly afi: Afi;
  readonly safi: number;
  readonly withdrawn: readonly Prefix[];
}

/** Why an MP attribute could not be used. `unsupported`: a family the codec does not decode. */
export interface MpProblem {
  readonly problem: string;
  readonly afi: number | undefined;
  readonly safi: number | undefined;
  readonly unsupported: boolean;
}

const isSupported = (afi: number, safi: number): boolean => (afi === AFI_IPV4 || afi === AFI_IPV6) && safi === SAFI_UNICAST;

function problem(p: string, afi?: number, safi?: number, unsupported = false): MpProblem {
  return { problem: p, afi, safi, unsupported };
}

function decodeNlriOf(buf: Buffer, start: number, end: number, afi: Afi, ctx: CodecContext): Prefix[] | string {
  const addPath = addPathFor(ctx, afi, 'receive');
  if (afi === AFI_IPV4) {
    const out: Ipv4Prefix[] = [];
    return decodeIpv4Nlri(buf, start, end, addPath, out) ?? out;
  }
  const out: Ipv6Prefix[] = [];
  return decodeIpv6Nlri(buf, start, end, addPath, out) ?? out;
}

/** Decodes the MP_REACH_NLRI value at buf[start..end). */
export function decodeMpReach(buf: Buffer, start: number, end: number, ctx: CodecContext): MpReach | MpProblem {
  const len = end - start;
  if (len < 5) return problem(`MP_REACH_NLRI is ${len} octets, too short for AFI, SAFI, next hop length and reserved octet`, len >= 3 ? buf.readUInt16BE(start) : undefined, len >= 3 ? buf[start + 2] : undefined);
  const afi = buf.readUInt16BE(start);
  const safi = buf[start + 2]!;
  if (!isSupported(afi, safi)) return problem(`MP_REACH_NLRI for AFI ${afi} SAFI ${safi}, which Twill does not decode`, afi, safi, true);
  const nhLen = buf[start + 3]!;
  const nhStart = start + 4;
  if (nhStart + nhLen + 1 > end) return problem(`MP_REACH_NLRI next hop length ${nhLen} runs past the end of the attribute`, afi, safi);
  let nextHop: NextHop;
  if (nhLen === 4 && afi === AFI_IPV4) {
    nextHop = { afi: AFI_IPV4, addr: buf.readUInt32BE(nhStart) };
  } else if (nhLen === 16) {
    nextHop = { afi: AFI_IPV6, addr: Buffer.from(buf.subarray(nhStart, nhStart + 16)) };
  } else if (nhLen === 32) {
    nextHop = {
      afi: AFI_IPV6,
      addr: Buffer.from(buf.subarray(nhStart, nhStart + 16)),
      linkLocal: Buffer.from(buf.subarray(nhStart + 16, nhStart + 32)),
    };
  } else {
    return problem(`MP_REACH_NLRI next hop length ${nhLen} is not valid for ${afi === AFI_IPV4 ? 'IPv4' : 'IPv6'} unicast (expected ${afi === AFI_IPV4 ? '4, 16 or 32' : '16 or 32'})`, afi, safi);
  }
  // One reserved octet (formerly the SNPA count), ignored on receipt.
  const nlri = decodeNlriOf(buf, nhStart + nhLen + 1, end, afi as Afi, ctx);
  if (typeof nlri === 'string') return problem(`MP_REACH_NLRI: ${nlri}`, afi, safi);
  return { afi: afi as Afi, safi, nextHop, nlri };
}

/** Decodes the MP_UNREACH_NLRI value at buf[start..end). */
export function decodeMpUnreach(buf: Buffer, start: number, end: number, ctx: CodecContext): MpUnreach | MpProblem {
  const len = end - start;
  if (len < 3) return problem(`MP_UNREACH_NLRI is ${len} octets, too short for AFI and SAFI`);
  const afi = buf.readUInt16BE(start);
  const safi = buf[start + 2]!;
  if (!isSupported(afi, safi)) return problem(`MP_UNREACH_NLRI for AFI ${afi} SAFI ${safi}, which Twill does not decode`, afi, safi, true);
  const withdrawn = decodeNlriOf(buf, start + 3, end, afi as Afi, ctx);
  if (typeof withdrawn === 'string') return problem(`MP_UNREACH_NLRI: ${withdrawn}`, afi, safi);
  return { afi: afi as Afi, safi, withdrawn };
}

export function isMpProblem(x: MpReach | MpUnreach | MpProblem): x is MpProblem {
  return 'problem' in x;
}

/** Octets of the next hop field for a next hop. */
export function nextHopWireSize(nh: NextHop): number {
  return nh.afi === AFI_IPV4 ? 4 : nh.linkLocal ? 32 : 16;
}

/** Writes the next hop octets at buf[off]; returns the offset after them. */
export function writeNextHop(buf: Buffer, off: number, nh: NextHop): number {
  if (nh.afi === AFI_IPV4) {
    buf.writeUInt32BE(nh.addr >>> 0, off);
    return off + 4;
  }
  nh.addr.copy(buf, off, 0, 16);
  if (nh.linkLocal) {
    nh.linkLocal.copy(buf, off + 16, 0, 16);
    return off + 32;
  }
  return off + 16;
}
