// Shapes shared by the IPAM modules and their callers.

import type { IpFamily } from '../src/api/cidr.js';

/** Facts about an allocation, stored with it (namespace, pod, node, ...). */
export type AllocationAttrs = Record<string, string>;

export interface AssignRequest {
  /** The host asking (its blocks are used first). */
  node: string;
  /** Index of the allocation for release, e.g. "<network>.<container id>". */
  handleID: string;
  attrs?: AllocationAttrs;
  /** How many IPv4 / IPv6 addresses (default 0 each; at least one must be > 0). */
  num4?: number;
  num6?: number;
  /** Only these pools (names or CIDRs), in this order of preference. */
  pools?: string[];
}

export interface Assigned {
  ip: string;
  family: IpFamily;
  /** The address as a host prefix, e.g. "10.65.0.5/32". */
  cidr: string;
  /** Name of the pool the address came from ("" if no pool holds it any more). */
  pool: string;
  /** CIDR of the block that holds the address. */
  block: string;
  /** The host holding the block's affinity, if any. */
  blockOwner: string | undefined;
  /** True when the block belongs to another host (or none): the address must be advertised as a /32. */
  borrowed: boolean;
  handleID: string;
  /** Sequence number of this allocation of the address (see releaseIps). */
  sequence: number;
}

export interface ReleaseRequest {
  ip: string;
  /** Release only if the address still belongs to this handle. */
  handleID?: string;
  /** Release only if the address was not given out again since (sequence from Assigned / a report). */
  sequence?: number;
}

export type ReleaseStatus = 'released' | 'not-allocated' | 'handle-mismatch' | 'reallocated' | 'no-block';

export interface ReleaseOutcome {
  ip: string;
  status: ReleaseStatus;
  /** The handle that held the address (when it was allocated). */
  handleID?: string | undefined;
  block?: string | undefined;
}

export interface IpamOptions {
  /** Compare-and-swap attempts per operation before giving up (default 100). */
  maxRetries?: number;
  /** Most allocation requests of one host written in one transaction (default 32, at most 50). */
  maxBatch?: number;
  /**
   * How long pools / IPAMConfig / node labels read for an allocation may be reused, in ms
   * (default 0: read them for every batch). Long-lived allocators can set a few seconds.
   */
  contextCacheMs?: number;
  /** Clock for allocation timestamps (ms since epoch). */
  now?: () => number;
}
