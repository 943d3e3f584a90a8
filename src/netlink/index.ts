// rtnetlink over koffi: links, addresses, routes, neighbours, sysctls, per-namespace handles,
// batching and an event monitor; plus the types the in-memory fake (./fake/index.js) shares.
export { RTPROT_TWILL, RTPROT_TWILL_BGP } from './types.js';
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
export { sysctlPath } from './sysctl.js';
export { describeNetns } from './ref.js';
export type { SessionOptions } from './session.js';
