// What `twillctl ipam show` prints: per pool and per block, how many addresses exist, are in use
// and are free, and who holds each block.

import { cidrContains, parseCidr, type Cidr } from '../src/api/cidr.js';
import { inUseCount } from './block.js';
import { affinityHost } from './names.js';
import { poolAddressCount, poolBlockCount } from './pools.js';
import { allAllocations, type IpamState } from './state.js';

export interface PoolUsage {
  name: string;
  cidr: string;
  family: 4 | 6;
  blockSize: number;
  disabled: boolean;
  /** Decimal strings: IPv6 pools can exceed 2^53 addresses. */
  total: string;
  inUse: number;
  free: string;
  blocksClaimed: number;
  blocksTotal: string;
}

export interface BlockUsage {
  cidr: string;
  /** Pool holding the block, "" when no pool does any more. */
  pool: string;
  /** Host holding the affinity, "" when none. */
  owner: string;
  /** True when the owner has no Node resource. */
  ownerMissing: boolean;
  total: number;
  inUse: number;
  free: number;
  /** Addresses in this block allocated for other hosts (borrowed). */
  borrowed: number;
}

export interface IpamUsage {
  pools: PoolUsage[];
  blocks: BlockUsage[];
  totals: { inUse: number; blocks: number };
}

export function ipamUsage(state: IpamState): IpamUsage {
  const blocks: BlockUsage[] = [];
  const parsed: { cidr: Cidr; use: BlockUsage }[] = [];
  const borrowedBy = new Map<string, number>();
  const byCidr = new Map(state.blocks.map((b) => [b.spec.cidr, b]));
  for (const a of allAllocations(state)) {
    const b = byCidr.get(a.block);
    const owner = affinityHost(b?.spec.affinity);
    if (a.attrs.node !== undefined && a.attrs.node !== owner) borrowedBy.set(a.block, (borrowedBy.get(a.block) ?? 0) + 1);
  }
  for (const b of state.blocks) {
    let cidr: Cidr;
    try {
      cidr = parseCidr(b.spec.cidr);
    } catch {
      continue;
    }
    const pool = state.pools.find((p) => cidrContains(p.cidr, cidr));
    const owner = affinityHost(b.spec.affinity) ?? '';
    const inUse = inUseCount(b.spec);
    const use: BlockUsage = {
      cidr: b.spec.cidr,
      pool: pool?.name ?? '',
      owner,
      ownerMissing: owner !== '' && !state.nodes.has(owner),
      total: b.spec.allocations.length,
      inUse,
      free: b.spec.allocations.length - inUse,
      borrowed: borrowedBy.get(b.spec.cidr) ?? 0,
    };
    blocks.push(use);
    parsed.push({ cidr, use });
  }
  blocks.sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0));
  const pools: PoolUsage[] = state.pools.map((p) => {
    let inUse = 0;
    let claimed = 0;
    for (const x of parsed) {
      if (!cidrContains(p.cidr, x.cidr)) continue;
      inUse += x.use.inUse;
      claimed++;
    }
    const total = poolAddressCount(p);
    return {
      name: p.name,
      cidr: p.cidrText,
      family: p.family,
      blockSize: p.blockSize,
      disabled: p.disabled,
      total: total.toString(),
      inUse,
      free: (total - BigInt(inUse)).toString(),
      blocksClaimed: claimed,
      blocksTotal: poolBlockCount(p).toString(),
    };
  });
  return { pools, blocks, totals: { inUse: blocks.reduce((n, b) => n + b.inUse, 0), blocks: blocks.length } };
}
