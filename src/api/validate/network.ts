// IPPool, NetworkSet and GlobalNetworkSet specs.

import { cidrsOverlap, formatCidr, parseCidr, type Cidr } from '../cidr.js';
import type { Path, Problems } from './problems.js';
import { cidr, selector } from './scalars.js';
import { bool, int, list, obj, type ObjectSchema } from './schema.js';

/** Block sizes per family (prefix lengths). */
export const BLOCK_SIZE_RANGE = { 4: { min: 20, max: 32 }, 6: { min: 116, max: 128 } } as const;

/** Ranges a pool must not overlap: addresses there are not routable to workloads. */
const RESERVED: { cidr: Cidr; what: string }[] = [
  ['0.0.0.0/8', 'the "this network" range'],
  ['127.0.0.0/8', 'the loopback range'],
  ['169.254.0.0/16', 'the IPv4 link-local range'],
  ['224.0.0.0/4', 'the IPv4 multicast range'],
  ['::/127', 'the unspecified and loopback addresses'],
  ['fe80::/10', 'the IPv6 link-local range'],
  ['ff00::/8', 'the IPv6 multicast range'],
].map(([c, what]) => ({ cidr: parseCidr(c as string), what: what as string }));

function tryCidr(v: unknown): Cidr | undefined {
  if (typeof v !== 'string') return undefined;
  try {
    return parseCidr(v, { strict: true });
  } catch {
    return undefined;
  }
}

function checkPool(spec: Record<string, unknown>, path: Path, problems: Problems): void {
  const pool = tryCidr(spec.cidr);
  if (pool === undefined) return;
  for (const r of RESERVED) {
    if (cidrsOverlap(pool, r.cidr)) {
      problems.add([...path, 'cidr'], `${formatCidr(pool)} overlaps ${r.what} (${formatCidr(r.cidr)}); pick a pool outside it`);
    }
  }
  const bs = spec.blockSize;
  if (typeof bs !== 'number' || !Number.isInteger(bs)) return;
  const range = BLOCK_SIZE_RANGE[pool.family];
  if (bs < range.min || bs > range.max) {
    problems.add(
      [...path, 'blockSize'],
      `${bs} is out of range for an IPv${pool.family} pool (${range.min}..${range.max})`,
    );
  } else if (bs < pool.prefixLength) {
    problems.add(
      [...path, 'blockSize'],
      `a /${bs} block does not fit in the pool ${formatCidr(pool)}: use a blockSize of at least ${pool.prefixLength}`,
    );
  }
}

export const ipPoolSpec: ObjectSchema = obj(
  {
    cidr: cidr(),
    blockSize: int(0, 128),
    natOutgoing: bool(),
    disabled: bool(),
    nodeSelector: selector(),
  },
  { required: ['cidr'], check: checkPool },
);

export const networkSetSpec: ObjectSchema = obj({ nets: list(cidr()) });
