// Recursive next-hop resolution, after BIRD's `gateway recursive`: a learned next hop that is not
// on-link — no route without gateway in the main table covers it, so the kernel would refuse
// `via` it ("Nexthop has invalid gateway") — is resolved through the kernel's own route to it
// (longest match, e.g. the default route via the top-of-rack router), and the learned route is
// installed via that route's gateway(s) and interface(s) instead.
//
// `Underlay` is what resolution may use: the main table's routes that are not ours (our own
// learned routes never resolve a next hop, so nothing resolves through itself), kept from one
// dump and the route events. Pure: no I/O, no timers.
import { cidrContains, parseCidr, parseIp, type Cidr, type IpAddr } from '../../src/api/cidr.js';
import { RT_TABLE_MAIN, type Route } from '../../src/netlink/index.js';
import type { KernelNextHop } from './types.js';

export type Resolution =
  /** A route without gateway covers it: install via the next hop itself, as learned. */
  | { kind: 'onlink' }
  /** Resolved through the route to `through` (its destination): install via these hops. */
  | { kind: 'via'; through: string; hops: KernelNextHop[] }
  | { kind: 'unreachable' };

interface Entry {
  cidr: Cidr;
  route: Route;
}

/** Route types that can resolve (unicast) or refuse (reject routes) a next hop. */
const USABLE = new Set(['unicast', 'blackhole', 'unreachable', 'prohibit']);

const hopsOf = (r: Route): { gateway?: string; ifindex?: number; onlink?: boolean }[] =>
  r.multipath && r.multipath.length > 0 ? r.multipath : [{ gateway: r.gateway, ifindex: r.ifindex, onlink: r.onlink }];

const keyOf = (r: Route): string => `${r.dst}|${r.metric ?? 0}`;

export class Underlay {
  private readonly routes = new Map<string, Entry>();

  /** `ignoreProtocol`: our own route protocol. */
  constructor(private readonly ignoreProtocol: number) {}

  get size(): number {
    return this.routes.size;
  }

  /** Replaces everything with a fresh dump of the main table. */
  load(routes: readonly Route[]): void {
    this.routes.clear();
    for (const r of routes) this.apply('new', r);
  }

  /** Applies one route event; true when the set changed (resolutions may differ). */
  apply(action: 'new' | 'del', r: Route): boolean {
    if ((r.table ?? RT_TABLE_MAIN) !== RT_TABLE_MAIN || r.protocol === this.ignoreProtocol || !USABLE.has(r.type ?? 'unicast')) return false;
    const key = keyOf(r);
    if (action === 'new') {
      let cidr: Cidr;
      try {
        cidr = parseCidr(r.dst);
      } catch {
        return false;
      }
      this.routes.set(key, { cidr, route: r });
      return true;
    }
    const had = this.routes.get(key);
    if (!had) return false;
    const have = hopsOf(had.route);
    const gone = hopsOf(r);
    if (have.length > 1 && gone.length < have.length && gone.every((g) => g.gateway !== undefined)) {
      // IPv6 ECMP: one sibling deleted, the others stay.
      const left = have.filter((h) => !gone.some((g) => g.gateway === h.gateway && (!g.ifindex || g.ifindex === h.ifindex)));
      if (left.length > 0 && left.length < have.length) {
        const route: Route = { ...had.route, multipath: left.length > 1 ? left : undefined };
        if (left.length === 1) {
          route.gateway = left[0]!.gateway;
          route.ifindex = left[0]!.ifindex;
        }
        this.routes.set(key, { cidr: had.cidr, route });
        return true;
      }
    }
    this.routes.delete(key);
    return true;
  }

  /** How to reach `gateway`: on-link, through a route's gateways, or not at all. */
  resolve(gateway: string): Resolution {
    let a: IpAddr;
    try {
      a = parseIp(gateway);
    } catch {
      return { kind: 'unreachable' };
    }
    let best: Entry | undefined;
    for (const e of this.routes.values()) {
      if (!cidrContains(e.cidr, a)) continue;
      const r = e.route;
      const hops = hopsOf(r);
      // What the kernel itself accepts as a gateway: covered by a route without gateway.
      if ((r.type ?? 'unicast') === 'unicast' && hops.every((h) => !h.gateway)) return { kind: 'onlink' };
      if (!best || e.cidr.prefixLength > best.cidr.prefixLength || (e.cidr.prefixLength === best.cidr.prefixLength && (r.metric ?? 0) < (best.route.metric ?? 0))) best = e;
    }
    if (!best || (best.route.type ?? 'unicast') !== 'unicast') return { kind: 'unreachable' };
    // A hop of a multipath route without gateway is a device the next hop itself is on.
    const hops = hopsOf(best.route).map((h): KernelNextHop => ({
      gateway: h.gateway ?? gateway,
      ...(h.ifindex ? { ifindex: h.ifindex } : {}),
      ...(h.onlink && h.gateway ? { onlink: true } : {}),
    }));
    return { kind: 'via', through: best.route.dst, hops };
  }
}

/** Same outcome (for deciding whether prefixes need rewriting). */
export function sameResolution(a: Resolution, b: Resolution): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind !== 'via' || b.kind !== 'via') return true;
  if (a.through !== b.through || a.hops.length !== b.hops.length) return false;
  return a.hops.every((h, i) => h.gateway === b.hops[i]!.gateway && h.ifindex === b.hops[i]!.ifindex && !!h.onlink === !!b.hops[i]!.onlink);
}

/** The reason a prefix is left out of the kernel when none of its next hops resolves. */
export function unreachableReason(gateways: readonly string[]): string {
  return `next hop ${gateways.join(', ')} ${gateways.length > 1 ? 'are' : 'is'} not reachable: no route to ${gateways.length > 1 ? 'them' : 'it'}`;
}

/**
 * The next hops to install for a wanted set: on-link ones (and ones with an ifindex) as they are,
 * the others through their resolution; `unreachable` lists the next hops that resolved to nothing.
 * Not sorted or deduplicated.
 */
export function resolveNextHops(hops: readonly KernelNextHop[], resolve: (gateway: string) => Resolution): { hops: KernelNextHop[]; unreachable: string[] } {
  const out: KernelNextHop[] = [];
  const unreachable: string[] = [];
  for (const h of hops) {
    if (h.ifindex !== undefined) {
      out.push(h);
      continue;
    }
    const r = resolve(h.gateway);
    if (r.kind === 'onlink') out.push(h);
    else if (r.kind === 'via') out.push(...r.hops);
    else unreachable.push(h.gateway);
  }
  return { hops: out, unreachable };
}
