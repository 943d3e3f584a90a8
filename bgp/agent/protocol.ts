// The message protocol between the main thread (./worker-host.ts) and the speaker worker
// (./worker.ts): plain data only (structured clone), one discriminated union per direction.
// Requests carry an id; each gets exactly one reply with that id, a value or a WireError.
import type { KernelSyncStats } from '../kernel/types.js';
import type { PeerStatus, RouteQuery, RouteView, SpeakerConfig, SpeakerEvent } from '../server/types.js';

export type WorkerLogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** Installing learned routes into the kernel (bgp/kernel KernelRouteSync) from the worker. */
export interface WorkerKernelOptions {
  install: boolean;
  /** Routing table; default main (254). */
  table?: number;
  /** Route protocol number; default RTPROT_TWILL_BGP (85). */
  protocol?: number;
  /** Route priority; default the kernel's. */
  metric?: number;
  /** ECMP next hops per route; default 1. */
  maxPaths?: number;
}

/** `workerData` of the worker. */
export interface WorkerInit {
  kernel?: WorkerKernelOptions;
  logLevel: WorkerLogLevel;
  /**
   * Run the worker thread inside this network namespace (a name under /run/netns): its BGP
   * sockets and kernel routes live there, the main thread stays where it is.
   */
  netns?: string;
}

/** main → worker. */
export type WorkerRequest =
  | { id: number; op: 'set-config'; config: SpeakerConfig }
  | { id: number; op: 'peers' }
  | { id: number; op: 'routes'; query: RouteQuery }
  | { id: number; op: 'kernel-stats' }
  | { id: number; op: 'stop'; graceful: boolean };

export type WorkerOp = WorkerRequest['op'];

/** The reply value of each request. */
export interface WorkerReplies {
  'set-config': null;
  peers: PeerStatus[];
  routes: RouteView[];
  /** null when kernel install is off or the speaker has not started yet. */
  'kernel-stats': KernelSyncStats | null;
  stop: null;
}

/** An error thrown in the worker, as data: TwillError's code and hint survive the crossing. */
export interface WireError {
  /** The class name in the worker, e.g. "SpeakerConfigError". */
  name: string;
  code: string;
  message: string;
  hint?: string;
}

/** worker → main. */
export type WorkerMessage =
  /** Initialised (namespace entered); requests may follow. */
  | { type: 'ready' }
  /** Initialisation failed; the worker exits after this. */
  | { type: 'init-failed'; error: WireError }
  | { type: 'reply'; id: number; ok: true; value: WorkerReplies[WorkerOp] }
  | { type: 'reply'; id: number; ok: false; error: WireError }
  | { type: 'event'; event: SpeakerEvent }
  | { type: 'log'; level: Exclude<WorkerLogLevel, 'silent'>; fields: Record<string, unknown>; msg: string };

export const LOG_LEVEL_VALUES: Record<WorkerLogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };
