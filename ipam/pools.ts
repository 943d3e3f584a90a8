// IP pools as the allocator sees them: parsed, defaulted and checked. Also the apply-time checks
// twillctl runs before writing a pool (overlap, block size, changes to a pool in use).

import type { IPAMBlockResource, IPPoolResource, IPPoolSpec } from '../src/api/types.js';
import { cidrContains, cidrSize, cidrsOverlap, formatCidr, parseCidr, type Cidr, type IpFamily } from '../src/api/cidr.js';
import { parseSelector, type Labels } from '../src/api/selector/index.js';
import type { Datastore } from '../src/datastore/types.js';
import { InvalidPoolError, PoolOverlapError } from './errors.js';

export const DEFAULT_BLOCK_SIZE: Readonly<Record<IpFamily, number>> = { 4: 26, 6: 122 };
/** Allowed block prefix lengths (as Calico): IPv4 20..32, IPv6 116..128. */
export const BLOCK_SIZE_RANGE: Readonly<Record<IpFamily, readonly [number, number]>> = { 4: [20, 32], 6: [116, 128] };

export interface IpamPool {
  name: string;
  cidr: Cidr;
  cidrText: string;
  family: IpFamily;
  blockSize: number;
  disabled: boolean;
  natOutgoing: boolean;
  /** Absent or "all()" means every node. */
  nodeSelector: string | undefined;
}

/** Checks a pool spec on its own; throws InvalidPoolError naming the pool and the field. */
export function parsePool(name: string, spec: IPPoolSpec): IpamPool {
  let cidr: Cidr;
  try {
    cidr = parseCidr(String(spec.cidr));
  } catch (e) {
    throw new InvalidPoolError(name, `spec.cidr: ${(e as Error).message}`);
  }
  const [lo, hi] = BLOCK_SIZE_RANGE[cidr.family];
  const blockSize = spec.blockSize ?? DEFAULT_BLOCK_SIZE[cidr.family];
  if (!Number.isInteger(blockSize) || blockSize < lo || blockSize > hi) {
    throw new InvalidPoolError(
      name,
      `spec.blockSize: ${String(spec.blockSize)} is out of range for an IPv${cidr.family} pool (${lo}..${hi})`,
      `use a block size between ${lo} and ${hi}; the default is ${DEFAULT_BLOCK_SIZE[cidr.family]}`,
    );
  }
  if (blockSize < cidr.prefixLength) {
    throw new InvalidPoolError(
      name,
      `spec.blockSize: /${blockSize} blocks do not fit in the pool ${formatCidr(cidr)}`,
      `use a block size of at least ${cidr.prefixLength}, or a larger pool`,
    );
  }
  const sel = spec.nodeSelector?.trim();
  if (sel) {
    try {
      parseSelector(sel);
    } catch (e) {
      throw new InvalidPoolError(name, `spec.nodeSelector: ${(e as Error).message}`);
    }
  }
  return {
    name,
    cidr,
    cidrText: formatCidr(cidr),
    family: cidr.family,
    blockSize,
    disabled: spec.disabled === true,
    natOutgoing: spec.natOutgoing === true,
    nodeSelector: sel && sel !== 'all()' ? sel : undefined,
  };
}

/** Every stored pool that parses, plus the ones that do not (with the reason). */
export async function loadPools(ds: Datastore): Promise<{ pools: IpamPool[]; invalid: { name: string; reason: string }[] }> {
  const { items } = await ds.list<IPPoolResource>({ kind: 'IPPool' });
  return parsePools(items);
}

export function parsePools(items: IPPoolResource[]): { pools: IpamPool[]; invalid: { name: string; reason: string }[] } {
  const pools: IpamPool[] = [];
  const invalid: { name: string; reason: string }[] = [];
  for (const r of items) {
    try {
      pools.push(parsePool(r.metadata.name, r.spec));
    } catch (e) {
      invalid.push({ name: r.metadata.name, reason: (e as Error).message });
    }
  }
  return { pools, invalid };
}

export function poolMatchesNode(pool: IpamPool, labels: Labels): boolean {
  if (pool.nodeSelector === undefined) return true;
  return parseSelector(pool.nodeSelector).evaluate(labels);
}

/** The pool containing a block (by CIDR), if any. */
export function poolOfCidr(pools: readonly IpamPool[], cidr: Cidr): IpamPool | undefined {
  return pools.find((p) => cidrContains(p.cidr, cidr));
}

export function poolBlockCount(pool: IpamPool): bigint {
  return 1n << BigInt(pool.blockSize - pool.cidr.prefixLength);
}

export function poolAddressCount(pool: IpamPool): bigint {
  return cidrSize(pool.cidr);
}

/** A bigint as a number when it is exactly representable, else as a decimal string. */
export function countValue(n: bigint): number | string {
  return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
}

/**
 * Apply-time check for an IPPool about to be created or changed: its own fields are valid, it
 * overlaps no other stored pool (nor any pool in `alsoApplying`, the rest of the same batch), and
 * when it already exists and blocks were carved from it, its CIDR and block size do not change.
 * Throws PoolOverlapError or InvalidPoolError; writes nothing.
 */
export async function checkPoolOverlap(
  ds: Datastore,
  pool: IPPoolResource,
  opts: { alsoApplying?: IPPoolResource[] } = {},
): Promise<void> {
  const name = pool.metadata.name;
  const mine = parsePool(name, pool.spec);
  const { items } = await ds.list<IPPoolResource>({ kind: 'IPPool' });
  const others = new Map<string, IPPoolResource>();
  for (const r of items) if (r.metadata.name !== name) others.set(r.metadata.name, r);
  for (const r of opts.alsoApplying ?? []) if (r.metadata.name !== name) others.set(r.metadata.name, r);
  for (const other of others.values()) {
    let oc: Cidr;
    try {
      oc = parseCidr(String(other.spec.cidr));
    } catch {
      continue; // an invalid pool is reported on its own
    }
    if (cidrsOverlap(mine.cidr, oc)) throw new PoolOverlapError(name, mine.cidrText, other.metadata.name, formatCidr(oc));
  }
  const existing = items.find((r) => r.metadata.name === name);
  if (!existing) return;
  let old: IpamPool;
  try {
    old = parsePool(name, existing.spec);
  } catch {
    return;
  }
  if (old.cidrText === mine.cidrText && old.blockSize === mine.blockSize) return;
  const { items: blocks } = await ds.list<IPAMBlockResource>({ kind: 'IPAMBlock' });
  const used = blocks.filter((b) => {
    try {
      return cidrContains(old.cidr, parseCidr(b.spec.cidr));
    } catch {
      return false;
    }
  });
  if (used.length > 0) {
    const what = old.cidrText !== mine.cidrText ? `spec.cidr (${old.cidrText} → ${mine.cidrText})` : `spec.blockSize (${old.blockSize} → ${mine.blockSize})`;
    throw new InvalidPoolError(
      name,
      `cannot change ${what}: ${used.length} block(s) of this pool are in use (e.g. ${used[0]?.spec.cidr})`,
      'create a new pool, move workloads to it (disable this one), then delete this pool',
    );
  }
}
