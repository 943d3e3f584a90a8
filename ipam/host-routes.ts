// "This host's blocks": the one answer felix (blackhole routes) and the BGP agent (what to
// originate, what never to import) both use. Pure: IPAMBlock resources in, prefixes out.
//
// A block is this host's when its affinity is host:<node> and it is not marked deleted. An
// address is borrowed by this host when it is allocated in another host's (or nobody's) block
// with the allocation attribute `node` = this host (ipam/allocator.ts writes `node` on every
// allocation). The reverse, an address of this host's block allocated to a workload on another
// host, is lent: that host advertises it as a /32 (/128), and this host must accept that route.

import type { IPAMBlockResource } from '../src/api/types.js';
import { addrAt, bitsOf, cidrSize, formatCidr, formatIp, networkOf, parseCidr, type Cidr } from '../src/api/cidr.js';
import { affinityHost } from './names.js';

/** What one block means for one host. */
export interface BlockRoutes {
  /** The block's CIDR (canonical) when the block is this host's. */
  block?: string;
  /** Host routes (/32, /128) of addresses in this block allocated to this host's workloads, when the block is someone else's. */
  borrowed: string[];
  /** Host routes of addresses in this (own) block allocated to workloads on other hosts. */
  lent: string[];
  /** The block's CIDR does not parse: nothing is derived from it. */
  problem?: string;
}

/** Every block's contribution, merged: sorted, without duplicates. */
export interface HostRoutes {
  blocks: string[];
  borrowed: string[];
  lent: string[];
  /** "IPAMBlock NAME: why" for blocks that could not be read. */
  problems: string[];
}

/** The allocation attribute that names the host of the workload holding an address. */
export const ALLOCATION_NODE_ATTR = 'node';

function hostRoute(c: Cidr, ordinal: number): string {
  const a = addrAt(c, ordinal);
  return `${formatIp(a)}/${bitsOf(a.family)}`;
}

/** What `block` means for host `nodeName` (see the file comment). */
export function blockRoutesFor(nodeName: string, block: IPAMBlockResource): BlockRoutes {
  const spec = block.spec;
  const out: BlockRoutes = { borrowed: [], lent: [] };
  if (spec === undefined || spec.deleted === true) return out;
  let cidr: Cidr;
  try {
    cidr = networkOf(parseCidr(spec.cidr, { strict: false, allowBare: true }));
  } catch (e) {
    out.problem = `spec.cidr: ${e instanceof Error ? e.message : String(e)}`;
    return out;
  }
  const mine = affinityHost(spec.affinity) === nodeName;
  if (mine) out.block = formatCidr(cidr);
  const allocations = spec.allocations ?? [];
  // A corrupt block may list more slots than it has addresses (ipam check reports it).
  const size = Math.min(allocations.length, Number(cidrSize(cidr)));
  for (let o = 0; o < size; o++) {
    const a = allocations[o];
    if (a === null || a === undefined) continue;
    const holder = spec.attributes?.[a]?.secondary?.[ALLOCATION_NODE_ATTR];
    if (holder === undefined) continue;
    if (!mine && holder === nodeName) out.borrowed.push(hostRoute(cidr, o));
    else if (mine && holder !== nodeName) out.lent.push(hostRoute(cidr, o));
  }
  return out;
}

function sortedUnique(xs: Iterable<string>): string[] {
  return [...new Set(xs)].sort();
}

// blockRoutesFor per block object and host, for callers that ask again and again about the same
// (unchanged) objects, as the BGP agent does on every rebuild. Objects handed out by the syncer
// are never mutated, so the object identity is the cache key.
const memo = new WeakMap<IPAMBlockResource, { nodeName: string; routes: BlockRoutes }>();

function cachedBlockRoutes(nodeName: string, block: IPAMBlockResource): BlockRoutes {
  const hit = memo.get(block);
  if (hit !== undefined && hit.nodeName === nodeName) return hit.routes;
  const routes = blockRoutesFor(nodeName, block);
  memo.set(block, { nodeName, routes });
  return routes;
}

/**
 * This host's blocks and borrowed / lent addresses across all `blocks`. The blocks must not be
 * changed after they were passed in once (results are remembered per block object).
 */
export function hostRoutes(nodeName: string, blocks: Iterable<IPAMBlockResource>): HostRoutes {
  const own: string[] = [];
  const borrowed: string[] = [];
  const lent: string[] = [];
  const problems: string[] = [];
  for (const b of blocks) {
    const r = cachedBlockRoutes(nodeName, b);
    if (r.block !== undefined) own.push(r.block);
    borrowed.push(...r.borrowed);
    lent.push(...r.lent);
    if (r.problem !== undefined) problems.push(`IPAMBlock ${b.metadata.name}: ${r.problem}`);
  }
  return { blocks: sortedUnique(own), borrowed: sortedUnique(borrowed), lent: sortedUnique(lent), problems: problems.sort() };
}
