// What this node originates, and the prefix policies on every session: export exactly this
// host's blocks, its borrowed host routes and the service ranges (a reflector also passes on what
// lies inside the pools); import everything except routes inside this host's own blocks (other
// than the addresses it lent to other hosts' workloads).

import { bitsOf, cidrContains, formatCidr, networkOf, parseCidr, type Cidr } from '../../src/api/cidr.js';
import { hostRoutes } from '../../ipam/host-routes.js';
import type { OriginateConfig, PrefixPolicy, PrefixRule } from '../server/types.js';
import type { ClusterBgp } from './cluster.js';
import type { AgentSnapshot } from './types.js';

export interface RoutePlan {
  originate: OriginateConfig[];
  /** Export to an eBGP neighbour, or to an iBGP one when we do not reflect. */
  exportOwn: PrefixPolicy;
  /** Export to iBGP neighbours when this node is a route reflector. */
  exportReflector: PrefixPolicy;
  import: PrefixPolicy;
}

const STANDARD_COMMUNITY = /^(\d{1,5}):(\d{1,5})$/;
const LARGE_COMMUNITY = /^\d+:\d+:\d+$/;

function canonical(text: string, what: string, problems: string[]): Cidr | undefined {
  try {
    const c = parseCidr(text);
    return networkOf(c);
  } catch (e) {
    problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}; not advertised`);
    return undefined;
  }
}

interface Advertisement {
  cidr: Cidr;
  communities: string[];
}

/** prefixAdvertisements with community names resolved; bad entries are problems and dropped. */
function advertisements(cluster: ClusterBgp, problems: string[]): Advertisement[] {
  const named = new Map<string, string>();
  for (const c of cluster.spec.communities ?? []) named.set(c.name, c.value);
  const out: Advertisement[] = [];
  (cluster.spec.prefixAdvertisements ?? []).forEach((pa, i) => {
    const what = `BGPConfiguration default: prefixAdvertisements[${i}]`;
    const cidr = canonical(pa.cidr, `${what}.cidr`, problems);
    if (cidr === undefined) return;
    const communities: string[] = [];
    for (const c of pa.communities ?? []) {
      const value = named.get(c) ?? c;
      const m = STANDARD_COMMUNITY.exec(value);
      if (m !== null && Number(m[1]) <= 65535 && Number(m[2]) <= 65535) communities.push(value);
      else if (LARGE_COMMUNITY.test(value)) {
        problems.push(`${what}: community "${c}" (${value}) is a large community; the speaker does not originate those yet, left out`);
      } else {
        problems.push(`${what}: community "${c}" is neither a name from spec.communities nor a value like 65000:100; left out`);
      }
    }
    out.push({ cidr, communities });
  });
  return out;
}

function exact(prefix: string, action: 'accept' | 'reject' = 'accept'): PrefixRule {
  return { prefix, action };
}

/** The prefix itself and everything more specific. */
function within(c: Cidr, action: 'accept' | 'reject', ge = c.prefixLength): PrefixRule {
  return { prefix: formatCidr(c), ge, le: bitsOf(c.family), action };
}

export function planRoutes(s: AgentSnapshot, nodeName: string, cluster: ClusterBgp, problems: string[]): RoutePlan {
  const host = hostRoutes(nodeName, s.ipamBlocks);
  problems.push(...host.problems);
  const blocks = host.blocks.map((b) => parseCidr(b));

  const services: string[] = [];
  for (const [field, list] of [
    ['serviceClusterIPs', cluster.spec.serviceClusterIPs],
    ['serviceExternalIPs', cluster.spec.serviceExternalIPs],
  ] as const) {
    (list ?? []).forEach((e, i) => {
      const c = canonical(e.cidr, `BGPConfiguration default: ${field}[${i}].cidr`, problems);
      if (c !== undefined) services.push(formatCidr(c));
    });
  }

  const ads = advertisements(cluster, problems);
  const originated = [...new Set([...host.blocks, ...host.borrowed, ...services])].sort();
  const originate: OriginateConfig[] = originated.map((prefix) => {
    const p = parseCidr(prefix);
    const communities = [...new Set(ads.filter((a) => cidrContains(a.cidr, p)).flatMap((a) => a.communities))].sort();
    return communities.length > 0 ? { prefix, communities } : { prefix };
  });

  // Own blocks exactly, never anything more specific inside them; borrowed host routes; services.
  const ownRules: PrefixRule[] = [];
  for (const b of blocks) {
    ownRules.push(exact(formatCidr(b)));
    if (b.prefixLength < bitsOf(b.family)) ownRules.push(within(b, 'reject', b.prefixLength + 1));
  }
  for (const x of [...host.borrowed, ...services]) ownRules.push(exact(x));

  // A reflector passes on what its clients originate: blocks and host routes inside the pools
  // (never a pool CIDR itself, and never to eBGP), and other hosts' host routes inside our blocks.
  const poolRules: PrefixRule[] = [];
  for (const pool of s.ipPools) {
    let c: Cidr;
    try {
      c = networkOf(parseCidr(pool.spec.cidr, { strict: false }));
    } catch {
      continue; // IPPool problems are the allocator's to report
    }
    const blockSize = pool.spec.blockSize ?? (c.family === 4 ? 26 : 122);
    const ge = Math.min(Math.max(c.prefixLength + 1, blockSize), bitsOf(c.family));
    poolRules.push(within(c, 'accept', ge));
  }
  const lentRules = host.lent.map((x) => exact(x));

  return {
    originate,
    exportOwn: { default: 'reject', rules: ownRules },
    exportReflector: { default: 'reject', rules: [...lentRules, ...ownRules, ...poolRules] },
    // A peer's route inside one of our blocks would override (or shadow) our own workloads:
    // refused, except the host routes of addresses we lent to workloads on other hosts.
    import: { default: 'accept', rules: [...lentRules, ...blocks.map((b) => within(b, 'reject'))] },
  };
}
