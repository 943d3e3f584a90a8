// The decoded form of an UPDATE's path attributes: the part of a route that many prefixes share.
import type { NextHop } from './address.js';
import type { Origin, SegmentType } from './constants.js';

export interface AsPathSegment {
  readonly type: SegmentType;
  /** 4-octet AS numbers, 1..255 of them. */
  readonly asns: readonly number[];
}

export interface Aggregator {
  readonly as: number;
  /** IPv4 address (BGP identifier) of the aggregating speaker. */
  readonly address: number;
}

/** RFC 8092 large community: three unsigned 32-bit numbers. */
export interface LargeCommunity {
  readonly global: number;
  readonly local1: number;
  readonly local2: number;
}

/** An attribute the codec does not interpret, passed on as is (optional transitive only). */
export interface RawAttribute {
  /** Flags as they go on the wire (the Extended Length bit is recomputed on encode). */
  readonly flags: number;
  readonly type: number;
  readonly value: Buffer;
}

/**
 * Path attributes. MP_REACH_NLRI / MP_UNREACH_NLRI are not here (they belong to the UPDATE), nor
 * are AS4_PATH / AS4_AGGREGATOR: on 2-octet sessions the decoder merges them into asPath and
 * aggregator (RFC 6793 §4.2.3) and the encoder generates them again.
 */
export interface PathAttributes {
  origin?: Origin;
  /** Always with 4-octet AS numbers, whatever the session negotiated. */
  asPath?: readonly AsPathSegment[];
  /**
   * Decoded: the NEXT_HOP attribute (IPv4). For packUpdates(): the next hop of the prefixes being
   * announced, of any family (IPv6 goes into MP_REACH_NLRI).
   */
  nextHop?: NextHop;
  med?: number;
  localPref?: number;
  atomicAggregate?: boolean;
  aggregator?: Aggregator;
  /** RFC 1997 communities, each an unsigned 32-bit number (ASN << 16 | value). */
  communities?: readonly number[];
  /** RFC 4360 extended communities, each 8 octets as an unsigned 64-bit bigint. */
  extendedCommunities?: readonly bigint[];
  largeCommunities?: readonly LargeCommunity[];
  /** RFC 4456 route reflection. */
  originatorId?: number;
  clusterList?: readonly number[];
  /** Unrecognised optional transitive attributes, with the Partial bit set (RFC 4271 §5). */
  unknown?: readonly RawAttribute[];
}
