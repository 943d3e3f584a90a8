// The IPAM front door: one object per process, holding the allocator's per-host queues and caches.

import type { Datastore } from '../src/datastore/types.js';
import type { IPAMHandleResource } from '../src/api/types.js';
import { Allocator } from './allocator.js';
import { handleName } from './names.js';
import { checkIpam, type CheckOptions, type IpamReport } from './check.js';
import { UnknownHandleError } from './errors.js';
import { loadPools } from './pools.js';
import { handleAssignments, releaseByHandle, releaseIps, removeHost, type RemoveHostResult } from './release.js';
import { readIpamState } from './state.js';
import type { AssignRequest, Assigned, IpamOptions, ReleaseOutcome, ReleaseRequest } from './types.js';
import { ipamUsage, type IpamUsage } from './usage.js';

export class Ipam {
  private readonly allocator: Allocator;
  private readonly maxRetries: number;

  constructor(
    readonly ds: Datastore,
    opts: IpamOptions = {},
  ) {
    this.allocator = new Allocator(ds, opts);
    this.maxRetries = opts.maxRetries ?? 100;
  }

  /**
   * Allocates num4 IPv4 and num6 IPv6 addresses for a handle, from the node's own blocks first.
   * All addresses of one call are written together (all or none). Throws PoolExhaustedError
   * (with how full each pool is), NoSuchPoolError, IpamRequestError or IpamConflictError.
   */
  async autoAssign(req: AssignRequest): Promise<{ ips: Assigned[] }> {
    return { ips: await this.allocator.assign(req) };
  }

  /** Is there a handle of this id (it may hold nothing)? One datastore read. */
  async handleExists(handleID: string): Promise<boolean> {
    const h = await this.ds.get<IPAMHandleResource>({ kind: 'IPAMHandle', name: handleName(handleID) });
    return h !== undefined && h.spec.handleID === handleID;
  }

  /** The addresses a handle holds (empty when it holds none). */
  async handleAssignments(handleID: string): Promise<Assigned[]> {
    const { pools } = await loadPools(this.ds);
    return handleAssignments(this.ds, handleID, pools);
  }

  /** Releases all addresses of a handle. Throws UnknownHandleError when there is no such handle. */
  releaseByHandle(handleID: string): Promise<ReleaseOutcome[]> {
    return releaseByHandle(this.ds, handleID, { maxRetries: this.maxRetries });
  }

  /** Like releaseByHandle, but an unknown handle is not an error (CNI DEL is idempotent). */
  async releaseHandleIfExists(handleID: string): Promise<ReleaseOutcome[]> {
    try {
      return await this.releaseByHandle(handleID);
    } catch (e) {
      if (e instanceof UnknownHandleError) return [];
      throw e;
    }
  }

  /**
   * Releases addresses (each guarded by its optional handle / sequence number). With `strict`,
   * throws NotAllocatedError and changes nothing if any of them cannot be released.
   */
  releaseIps(ips: ReleaseRequest[], opts: { strict?: boolean } = {}): Promise<ReleaseOutcome[]> {
    return releaseIps(this.ds, ips, { maxRetries: this.maxRetries, ...opts });
  }

  /** Gives up the blocks of a host that is gone (see release.ts removeHost). */
  async removeHost(node: string): Promise<RemoveHostResult> {
    this.allocator.forgetHost(node);
    return removeHost(this.ds, node, { maxRetries: this.maxRetries });
  }

  async usage(): Promise<IpamUsage> {
    return ipamUsage(await readIpamState(this.ds));
  }

  check(opts: CheckOptions = {}): Promise<IpamReport> {
    return checkIpam(this.ds, opts);
  }
}
