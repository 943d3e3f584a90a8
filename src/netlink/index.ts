// rtnetlink over koffi: links, addresses, routes, neighbours, sysctls, per-namespace handles,
// batching and an event monitor; plus the types the in-memory fake (./fake/index.js) shares.
export { RTPROT_TWILL, RTPROT_TWILL_BGP } from './types.js';
export { RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN, RTPROT_BOOT, RTPROT_KERNEL, RTPROT_STATIC, RTPROT_UNSPEC } from './constants.js';
export type {
  Addr,
  AddrFilter,
  BatchResult,
  Link,
  LinkRef,
  Monitor,
  MonitorGroup,
  Neighbour,
  NeighFilter,
  NeighState,
  NetlinkEvent,
  NetlinkHandle,
  NetlinkOp,
  NetnsRef,
  NextHop,
  Route,
  RouteFilter,
  RouteScope,
  RouteType,
  VethOptions,
} from './types.js';
export { NetlinkClosedError, NetlinkError, NetlinkSocketError, NetnsNotFoundError } from './errors.js';
export { openNetlink } from './handle.js';
export { enterNetnsForThread } from './netns.js';
export { monitor, type MonitorOptions } from './monitor.js';
export { MonitorRegistry, sharedMonitor, type MonitorOpener } from './shared-monitor.js';
export { sysctlPath } from './sysctl.js';
export { KeyBackoff, type BackoffOptions, type FailureInfo } from './backoff.js';
export { RouteOwner, routeAddr, routeKey, routeKeyOr, type RouteOwnerOptions, type RouteWrite, type RouteWriteOp, type RouteWritePass, type RouteWriteResult } from './route-owner.js';
export { describeNetns } from './ref.js';
export type { SessionOptions } from './session.js';
export { DEFAULT_NFLOG_COPY_RANGE, decodeNflogPacket, encodeNflogConfig, openNflog, type NflogConfig, type NflogOptions, type NflogPacket, type NflogReader } from './nflog.js';
export { parsePacketHeaders, protocolName, type PacketHeaders } from './packet-headers.js';
