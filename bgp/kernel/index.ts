// Kernel route sync: installs the speaker's best routes through src/netlink with our protocol number.
export { KernelRouteSync } from './sync.js';
export { kernelChangesOf } from './best.js';
export { KernelSyncStateError } from './errors.js';
export type {
  KernelNextHop,
  KernelRouteChange,
  KernelRouteSyncOptions,
  KernelStartOptions,
  KernelStopOptions,
  KernelSyncLogger,
  KernelSyncStats,
  RouteMonitorFactory,
} from './types.js';
