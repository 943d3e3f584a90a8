// IPAM: pools, blocks with host affinity, handles, allocation, release, check and garbage
// collection. See ./README.md.

export { Ipam } from './ipam.js';
export type { AssignRequest, Assigned, AllocationAttrs, IpamOptions, ReleaseRequest, ReleaseOutcome, ReleaseStatus } from './types.js';
export {
  PoolExhaustedError,
  NotAllocatedError,
  UnknownHandleError,
  PoolOverlapError,
  InvalidPoolError,
  NoSuchPoolError,
  IpamConflictError,
  IpamRequestError,
  type PoolFullness,
  type SkippedPool,
} from './errors.js';
export { checkPoolOverlap, parsePool, loadPools, DEFAULT_BLOCK_SIZE, BLOCK_SIZE_RANGE, type IpamPool } from './pools.js';
export { blockName, affinityName, handleName, hostAffinity, affinityHost } from './names.js';
export { handleAssignments, releaseByHandle, releaseIps, removeHost, type RemoveHostResult } from './release.js';
export { readIpamState, allAllocations, type IpamState, type Allocation } from './state.js';
export { ipamUsage, type IpamUsage, type PoolUsage, type BlockUsage } from './usage.js';
export { checkIpam, checkState, DEFAULT_CHECK_GRACE_MS, type IpamReport, type IpamProblem, type ProblemType, type Fix, type CheckOptions } from './check.js';
export { applyFixes, parseReport, type FixOutcome } from './repair.js';
export { gcPass, newGcState, DEFAULT_GC_GRACE_MS, type GcState, type GcOptions, type GcResult } from './gc.js';
export { blockRoutesFor, hostRoutes, ALLOCATION_NODE_ATTR, type BlockRoutes, type HostRoutes } from './host-routes.js';
