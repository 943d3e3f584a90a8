// Typed IPAM errors. Each names the object at fault and says what to do.

import { TwillError } from '../src/errors.js';

/** How full one pool was when an allocation failed. */
export interface PoolFullness {
  pool: string;
  cidr: string;
  /** Addresses in the pool. A string for IPv6 pools whose size exceeds 2^53. */
  totalAddresses: number | string;
  inUse: number;
  blocksClaimed: number;
  /** Blocks the pool can hold. A string when it exceeds 2^53. */
  blocksTotal: number | string;
  /** Free addresses in blocks this host holds. */
  freeInOwnBlocks: number;
  /** Free addresses in other hosts' (or no host's) blocks. */
  freeInOtherBlocks: number;
}

/** A pool that was not used, and why. */
export interface SkippedPool {
  pool: string;
  cidr: string;
  reason: string;
}

export class PoolExhaustedError extends TwillError {
  constructor(
    readonly node: string,
    readonly family: 4 | 6,
    readonly tried: PoolFullness[],
    readonly skipped: SkippedPool[],
    readonly notes: string[] = [],
  ) {
    const fam = `IPv${family}`;
    const lines: string[] = [];
    for (const p of tried) {
      lines.push(
        `pool ${p.pool} (${p.cidr}): ${p.inUse}/${p.totalAddresses} addresses in use, ` +
          `${p.blocksClaimed}/${p.blocksTotal} blocks claimed, ${p.freeInOwnBlocks} free in ${node}'s blocks, ` +
          `${p.freeInOtherBlocks} free in other hosts' blocks`,
      );
    }
    for (const s of skipped) lines.push(`pool ${s.pool} (${s.cidr}) not used: ${s.reason}`);
    const what =
      tried.length === 0
        ? `no ${fam} pool can be used by node ${node}`
        : `no free ${fam} address for node ${node} in ${tried.length === 1 ? 'pool' : 'pools'} ${tried.map((p) => p.pool).join(', ')}`;
    const body = lines.length ? `:\n  - ${lines.join('\n  - ')}` : '';
    const extra = notes.length ? `\n  ${notes.join('\n  ')}` : '';
    super('PoolExhausted', `${what}${body}${extra}`, {
      hint:
        tried.length === 0
          ? `create an enabled ${fam} IPPool whose nodeSelector matches node ${node}`
          : 'free leaked addresses (twillctl ipam check, then twillctl ipam release --from-report), or add an IPPool',
    });
  }
}

export class NotAllocatedError extends TwillError {
  constructor(
    readonly ip: string,
    detail?: string,
  ) {
    super('NotAllocated', `address ${ip} is not allocated${detail ? ` (${detail})` : ''}; nothing was released`, {
      hint: 'see twillctl ipam show --show-blocks for what is allocated',
    });
  }
}

export class UnknownHandleError extends TwillError {
  constructor(readonly handleID: string) {
    super('UnknownHandle', `IPAM handle "${handleID}" does not exist; nothing was released`, {
      hint: 'handles are named <network>.<container id>; twillctl ipam check lists the handles in use',
    });
  }
}

export class PoolOverlapError extends TwillError {
  constructor(
    readonly pool: string,
    readonly cidr: string,
    readonly other: string,
    readonly otherCidr: string,
  ) {
    super('PoolOverlap', `IPPool ${pool} (${cidr}) overlaps IPPool ${other} (${otherCidr}); nothing was changed`, {
      hint: `choose a CIDR that does not overlap ${otherCidr}, or delete IPPool ${other} first`,
    });
  }
}

export class InvalidPoolError extends TwillError {
  constructor(
    readonly pool: string,
    reason: string,
    hint?: string,
  ) {
    super('InvalidPool', `IPPool ${pool}: ${reason}`, hint !== undefined ? { hint } : undefined);
  }
}

export class NoSuchPoolError extends TwillError {
  constructor(
    readonly requested: string,
    known: string[],
  ) {
    super('NoSuchPool', `IP pool "${requested}" does not exist`, {
      hint: known.length ? `known pools: ${known.join(', ')} (name or CIDR)` : 'create an IPPool first',
    });
  }
}

/** A compare-and-swap kept failing: other writers changed the same objects every time. */
export class IpamConflictError extends TwillError {
  constructor(
    readonly what: string,
    readonly attempts: number,
  ) {
    super('IpamConflict', `${what}: gave up after ${attempts} attempts, the objects kept changing under us`, {
      hint: 'the datastore is very busy; retry the operation',
    });
  }
}

export class IpamRequestError extends TwillError {
  constructor(message: string, hint?: string) {
    super('IpamRequest', message, hint !== undefined ? { hint } : undefined);
  }
}
