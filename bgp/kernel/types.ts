// The public shapes of kernel route sync: what the speaker hands in (prefix → next hops), the
// options, and the counters stats() reports. Addresses are strings (RFC 5952 for IPv6).
import type { Monitor, NetlinkEvent } from '../../src/netlink/index.js';

/** One next hop of a learned route. A link-local IPv6 gateway needs its ifindex. */
export interface KernelNextHop {
  gateway: string;
  ifindex?: number;
  /**
   * Only on next hops resolution produced (never taken from the speaker): the route resolved
   * through says `onlink` (e.g. `default via 169.254.1.1 dev eth0 onlink`), so ours must too.
   */
  onlink?: boolean;
}

/** A best-path change: the next hops to install for `prefix`, or null to withdraw it. */
export interface KernelRouteChange {
  prefix: string;
  nextHops: KernelNextHop[] | null;
}

/** pino-compatible logger (the speaker's SpeakerLogger fits). */
export interface KernelSyncLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Opens a route-event monitor of the handle's namespace; default: src/netlink sharedMonitor() (this thread's one monitor). */
export type RouteMonitorFactory = (onEvent: (e: NetlinkEvent) => void) => Promise<Monitor>;

export interface KernelRouteSyncOptions {
  /** Route protocol number marking our routes. Default RTPROT_TWILL_BGP (85). */
  protocol?: number;
  /** Routing table. Default main (254). */
  table?: number;
  /** At most this many next hops per route (ECMP); 1 = no multipath. Default 1. */
  maxPaths?: number;
  /** Route priority of our routes. Default: the kernel's (0 for IPv4, 1024 for IPv6). */
  metric?: number;
  log?: KernelSyncLogger;
  /** How to watch route events (tests pass the fake kernel's monitor). */
  monitor?: RouteMonitorFactory;
  /** Changes arriving within this window are written together. Default 10 ms. */
  coalesceMs?: number;
  /** Operations per netlink batch call. Default 8192. */
  batchSize?: number;
  /** Backoff of failed prefixes: first delay and ceiling (ms). Defaults 100 / 30,000. */
  retryInitialMs?: number;
  retryMaxMs?: number;
}

export interface KernelStartOptions {
  /**
   * Graceful restart: routes of ours found in the kernel at start and not (yet) wanted are kept
   * until markInSync() or until this many ms have passed. Default 120,000.
   */
  reconcileAfterMs?: number;
}

export interface KernelStopOptions {
  /** Leave our routes in the kernel (restart with graceful restart: forwarding is preserved). */
  keepRoutes: boolean;
}

export interface KernelSyncStats {
  /** Prefixes we want in the kernel. */
  desired: number;
  /** Routes of ours in the kernel, as last seen. */
  installed: number;
  /** Prefixes still to be written (including ones waiting to be retried). */
  pending: number;
  /** Prefixes whose last write failed and that wait for a retry. */
  retrying: number;
  /** Prefixes held in our table by a route that is not ours: never replaced, reported here. */
  conflicts: number;
  /** Prefixes we want but did not install: none of their next hops is reachable (no route to it). */
  unreachable: number;
  /** Routes of ours left by a previous run, kept until in sync (graceful restart). */
  stale: number;
  inSync: boolean;
  /** Changes refused because they were malformed (bad prefix, gateway of the wrong family). */
  rejected: number;
  writes: { add: number; replace: number; del: number; failed: number };
  /** Route events from the kernel monitor that concerned our table, or the main-table routes next hops resolve through. */
  events: number;
  /** Our routes found deleted or changed by someone else and put back. */
  repaired: number;
  /** Times the monitor overran and our routes were listed again. */
  resyncs: number;
}
