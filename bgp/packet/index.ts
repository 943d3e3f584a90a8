// bgp/packet: a pure BGP-4 codec (no sockets, no timers). See bgp/README.md.
export * from './address.js';
export type { AsPathSegment, Aggregator, LargeCommunity, PathAttributes, RawAttribute } from './attributes.js';
export { asPathLength, mergeAs4Path } from './as-path.js';
export { EncodedAttributeSet, encodeAttributeSet } from './attr-encode.js';
export type { AddPathFamily, AfiSafi, Capability, ExtendedNextHopEntry, GracefulRestartFamily } from './capabilities.js';
export * from './constants.js';
export * from './context.js';
export { BgpEncodeError, BgpError, type ErrorHandling, type NotificationData } from './errors.js';
export { Framer } from './framer.js';
export { checkHeader } from './header.js';
export { decodeMessage, encodeMessage, notificationFor, type BgpMessage, type DecodeResult, type KeepaliveMessage } from './message.js';
export type { MpReach, MpUnreach } from './mp.js';
export { attrName, capabilityName, errorCodeName, errorSubcodeName, familyName, messageTypeName } from './names.js';
export { commonFamilies, findCapability, myAsField, negotiateContext, speakerAs } from './negotiate.js';
export {
  describeNotification,
  MAX_SHUTDOWN_COMMUNICATION,
  shutdownCommunication,
  shutdownNotification,
  type NotificationMessage,
} from './notification.js';
export type { OpenMessage } from './open.js';
export { encodeEndOfRib, endOfRib, endOfRibFamily, fitsOneUpdate, packUpdates, packWithdrawals } from './pack.js';
export type { RouteRefreshMessage } from './route-refresh.js';
export { BgpSendLimitError, checkOutgoing } from './send-limit.js';
export { decodeUpdate, encodeUpdate, type UpdateMessage, type UpdateOutcome } from './update.js';
