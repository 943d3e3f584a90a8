// felix/dataplane: reconcilers that make the kernel match the rendered desired state.
export { Dataplane, DRIFT_MEMORY_MS } from './dataplane.js';
export { diffKernel, readKernel, sysctlPaths, describeRoute } from './verify.js';
export type { DesiredIptables, DesiredKernel, FelixCounts, KernelDiff, KernelReaders, KernelView } from './verify.js';
export type { ApplyReport, DataplaneDeps, DataplaneHealth, DataplaneState, DesiredDataplane, DesiredDataplaneUpdate } from './dataplane.js';
export { IptablesReconciler, ALL_TABLES, isOurRule } from './iptables-reconciler.js';
export type { IptablesApplyResult, IptablesReconcilerOptions } from './iptables-reconciler.js';
export { IpsetReconciler, IPSET_MAXELEM } from './ipset-reconciler.js';
export type { IpsetApplyResult, IpsetReconcilerOptions } from './ipset-reconciler.js';
export { RouteReconciler } from './route-reconciler.js';
export type { RouteApplyResult, RouteReconcilerOptions } from './route-reconciler.js';
export { InterfaceReconciler, globalSysctls, workloadSysctls } from './interface-reconciler.js';
export type { InterfaceApplyResult, InterfaceReconcilerOptions } from './interface-reconciler.js';
export { LinkIndex } from './link-index.js';
export { KeyBackoff } from './backoff.js';
export type { BackoffOptions, FailureInfo } from './backoff.js';
export { DataplaneWriteError } from './errors.js';
export { silentLogger } from './log.js';
export type { DataplaneLogger } from './log.js';
