// What the two speakers agreed in their OPEN messages, as far as the byte format depends on it.
// The codec never guesses: AS_PATH width, ADD-PATH path identifiers and the size limit all come
// from here. Build one with negotiateContext() (./negotiate.ts) once both OPENs are known; before
// that (OPEN, NOTIFICATION, KEEPALIVE) DEFAULT_CONTEXT applies.
import { AFI_IPV4, AFI_IPV6, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js';

/** A capability that applies separately to what we send and what we receive. */
export interface DirectionFlags {
  readonly send: boolean;
  readonly receive: boolean;
}

export interface CodecContext {
  /** RFC 6793: both sides advertised the 4-octet AS capability (AS_PATH/AGGREGATOR use 4 octets). */
  readonly fourOctetAs: boolean;
  /** RFC 7911: NLRI carry a 4-octet path identifier, per family and direction. */
  readonly addPath: { readonly ipv4: DirectionFlags; readonly ipv6: DirectionFlags };
  /**
   * RFC 8654: `receive` — we advertised Extended Message, so accept up to 65535 octets;
   * `send` — both sides advertised it, so we may send up to 65535 octets (negotiateContext()).
   * OPEN and KEEPALIVE stay within 4096 either way.
   */
  readonly extendedMessage: DirectionFlags;
  /** RFC 8950: the peer accepts IPv4 unicast NLRI with an IPv6 next hop (we may send them). */
  readonly extendedNextHop: boolean;
  /**
   * The peer is external (eBGP). RFC 7606 §7.5/§7.9/§7.10: LOCAL_PREF, ORIGINATOR_ID and
   * CLUSTER_LIST received from an external peer are discarded.
   */
  readonly ebgp: boolean;
}

const NO: DirectionFlags = Object.freeze({ send: false, receive: false });

/** The context before capabilities are negotiated (plain RFC 4271). */
export const DEFAULT_CONTEXT: CodecContext = Object.freeze({
  fourOctetAs: false,
  addPath: Object.freeze({ ipv4: NO, ipv6: NO }),
  extendedMessage: NO,
  extendedNextHop: false,
  ebgp: false,
});

/** Override parts of the default context (handy in tests and tools). */
export function makeContext(over: Partial<CodecContext> = {}): CodecContext {
  return { ...DEFAULT_CONTEXT, ...over };
}

/** Whether NLRI of `afi` carry path identifiers in the given direction. */
export function addPathFor(ctx: CodecContext, afi: number, dir: 'send' | 'receive'): boolean {
  if (afi === AFI_IPV4) return ctx.addPath.ipv4[dir];
  if (afi === AFI_IPV6) return ctx.addPath.ipv6[dir];
  return false;
}

/** Largest message we may send (UPDATE, NOTIFICATION, ROUTE-REFRESH). */
export function maxSendLength(ctx: CodecContext): number {
  return ctx.extendedMessage.send ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}

/** Largest message we accept (UPDATE, NOTIFICATION, ROUTE-REFRESH). */
export function maxReceiveLength(ctx: CodecContext): number {
  return ctx.extendedMessage.receive ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
}
