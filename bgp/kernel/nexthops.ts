// Next-hop sets: validating what the speaker asks for, turning it into a netlink Route, reading
// a kernel route back, and comparing the two. A set is kept sorted so that equal sets compare
// equal whatever order the paths arrived in.
import { routeAddr, routeKey, type NextHop, type Route } from '../../src/netlink/index.js';
import type { KernelNextHop } from './types.js';

export interface WantedRoute {
  family: 4 | 6;
  /** Sorted by gateway then ifindex, no duplicates, at most maxPaths. */
  nextHops: KernelNextHop[];
}

/** Canonical "addr/len" with host bits clear (the route core's key), or a reason it is not one. */
export function normalizePrefix(prefix: string): { prefix: string; family: 4 | 6 } | { error: string } {
  const k = routeKey(prefix);
  return 'error' in k ? k : { prefix: k.key, family: k.family };
}

function isLinkLocal6(gw: string): boolean {
  return /^fe[89ab]/i.test(gw);
}

/** Validates and canonicalises a next-hop list for `family`; keeps the first `maxPaths`. */
export function normalizeNextHops(family: 4 | 6, hops: readonly KernelNextHop[], maxPaths: number): KernelNextHop[] | { error: string } {
  if (!Array.isArray(hops) || hops.length === 0) return { error: 'no next hop (use null to withdraw)' };
  const out: KernelNextHop[] = [];
  const seen = new Set<string>();
  for (const nh of hops) {
    const gw = typeof nh?.gateway === 'string' ? routeAddr(nh.gateway) : undefined;
    if (!gw) return { error: `next hop "${String(nh?.gateway)}" is not an IP address` };
    if (gw.includes(':') !== (family === 6)) return { error: `next hop ${gw} is not an IPv${family} address` };
    if (nh.ifindex !== undefined && (!Number.isInteger(nh.ifindex) || nh.ifindex <= 0)) {
      return { error: `next hop ${gw}: ifindex ${String(nh.ifindex)} is not a positive integer` };
    }
    if (family === 6 && isLinkLocal6(gw) && nh.ifindex === undefined) return { error: `link-local next hop ${gw} needs an ifindex` };
    const key = `${gw}%${nh.ifindex ?? ''}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(nh.ifindex !== undefined ? { gateway: gw, ifindex: nh.ifindex } : { gateway: gw });
    if (out.length >= maxPaths) break;
  }
  return out.sort(compareNextHop);
}

/** Sorted, without duplicates (resolved hops of several next hops can meet). */
export function uniqueNextHops(hops: readonly KernelNextHop[]): KernelNextHop[] {
  const seen = new Set<string>();
  return hops.filter((h) => !seen.has(`${h.gateway}%${h.ifindex ?? ''}`) && !!seen.add(`${h.gateway}%${h.ifindex ?? ''}`)).sort(compareNextHop);
}

function compareNextHop(a: KernelNextHop, b: KernelNextHop): number {
  if (a.gateway !== b.gateway) return a.gateway < b.gateway ? -1 : 1;
  return (a.ifindex ?? 0) - (b.ifindex ?? 0);
}

export interface RouteShape {
  protocol: number;
  table: number;
  metric: number | undefined;
}

/** The route to add/replace: a plain gateway route for one next hop, RTA_MULTIPATH for more. */
export function toRoute(prefix: string, w: WantedRoute, s: RouteShape): Route {
  const r: Route = { family: w.family, dst: prefix, table: s.table, protocol: s.protocol, type: 'unicast' };
  if (s.metric !== undefined) r.metric = s.metric;
  if (w.nextHops.length === 1) {
    const nh = w.nextHops[0]!;
    r.gateway = nh.gateway;
    if (nh.ifindex !== undefined) r.ifindex = nh.ifindex;
    if (nh.onlink) r.onlink = true;
  } else {
    r.multipath = w.nextHops.map((nh): NextHop => ({
      gateway: nh.gateway,
      ...(nh.ifindex !== undefined ? { ifindex: nh.ifindex } : {}),
      ...(nh.onlink ? { onlink: true } : {}),
    }));
  }
  return r;
}

/** The delete request for our route at `prefix`: matches only our protocol (never a foreign route). */
export function toDelete(prefix: string, family: 4 | 6, s: RouteShape): Route {
  const r: Route = { family, dst: prefix, table: s.table, protocol: s.protocol };
  if (s.metric !== undefined) r.metric = s.metric;
  return r;
}

/** The next hops of a route as the kernel reports it (gateway-less hops are kept with gateway ''). */
export function nextHopsOf(r: Route): KernelNextHop[] {
  if (r.multipath && r.multipath.length > 0) {
    return r.multipath.map((nh) => (nh.ifindex ? { gateway: nh.gateway ?? '', ifindex: nh.ifindex } : { gateway: nh.gateway ?? '' }));
  }
  if (r.gateway === undefined && r.ifindex === undefined) return [];
  return [r.ifindex ? { gateway: r.gateway ?? '', ifindex: r.ifindex } : { gateway: r.gateway ?? '' }];
}

/**
 * True when the kernel's next hops are what we want. The kernel always reports an interface;
 * a wanted hop without ifindex accepts whichever interface the kernel resolved.
 */
export function sameNextHops(wanted: readonly KernelNextHop[], actual: readonly KernelNextHop[]): boolean {
  if (wanted.length !== actual.length) return false;
  const used = new Array<boolean>(actual.length).fill(false);
  for (const w of wanted) {
    let found = false;
    for (let i = 0; i < actual.length; i++) {
      const a = actual[i]!;
      if (used[i] || a.gateway !== w.gateway) continue;
      if (w.ifindex !== undefined && a.ifindex !== w.ifindex) continue;
      used[i] = true;
      found = true;
      break;
    }
    if (!found) return false;
  }
  return true;
}
