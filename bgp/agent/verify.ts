// `twillctl verify`, the BGP part (pure): the sessions this node's configuration asks for against
// the speaker's, and the best paths the speaker learned from peers against the routes of the BGP
// route protocol in the kernel (read afresh by the caller). Next hops that are not on-link are
// resolved through the same main-table routes as kernel sync does (bgp/kernel/resolve.ts), so a
// route installed via the resolved gateway counts as in place. Repairs nothing.
import { RTPROT_TWILL_BGP, routeKeyOr, type Route } from '../../src/netlink/index.js';
import { resolveNextHops, Underlay, unreachableReason } from '../kernel/resolve.js';
import type { NodeDifference, VerifyCounts } from '../../src/nodeapi/types.js';
import type { NeighborConfig, PeerStatus, RouteView } from '../server/types.js';

export interface BgpVerifyInput {
  /** The neighbours of the speaker's configuration (BgpAgent.config). */
  neighbors: readonly NeighborConfig[];
  /** The speaker's sessions, as it reports them now. */
  peers: readonly PeerStatus[];
  /** The Loc-RIB, every path (speaker.routes({ table: 'loc', all: true, limit: 0 })). */
  learned: readonly RouteView[];
  /** The kernel's routes of the BGP route protocol in the table the speaker installs into. */
  kernel: readonly Route[];
  /**
   * The main table's routes (any protocol; those of the BGP one are skipped): what next hops that
   * are not on-link resolve through. Absent: every next hop is taken as on-link.
   */
  underlay?: readonly Route[];
  /** The peer type of a neighbour, for the object's name ("node-to-node mesh"). */
  typeOf?: (address: string) => string | undefined;
}

export type BgpCounts = Pick<VerifyCounts, 'bgpSessions' | 'bgpRoutes'>;

const gatewaysOf = (r: Route): string[] => (r.multipath ? r.multipath.map((h) => h.gateway ?? '') : r.gateway ? [r.gateway] : []);
/** A kernel route as a person reads it: "via A, B", or its type ("blackhole"). */
const describe = (r: Route): string => (r.type !== undefined && r.type !== 'unicast' ? r.type : `via ${gatewaysOf(r).join(', ') || '(no gateway)'}`);

/** Every session expected but not Established (or not expected at all), every learned best path not in the kernel as learned. */
export function diffBgp(i: BgpVerifyInput): { differences: NodeDifference[]; checked: BgpCounts } {
  const out: NodeDifference[] = [];
  const name = (addr: string): string => {
    const t = i.typeOf?.(addr);
    return t ? `peer ${addr} (${t})` : `peer ${addr}`;
  };
  const byAddr = new Map(i.peers.map((p) => [p.address, p]));
  const wanted = new Set(i.neighbors.map((n) => n.address));
  for (const n of i.neighbors) {
    const p = byAddr.get(n.address);
    if (p === undefined) out.push({ kind: 'bgp-session', object: name(n.address), expected: 'Established', actual: 'absent (the speaker has no such neighbour)' });
    else if (p.state !== 'Established') out.push({ kind: 'bgp-session', object: name(n.address), expected: 'Established', actual: p.lastError ? `${p.state}: ${p.lastError}` : p.state });
  }
  for (const p of i.peers) if (!wanted.has(p.address)) out.push({ kind: 'bgp-session', object: name(p.address), expected: 'absent (not in the configuration)', actual: p.state });

  // Learned best paths (from a peer, with a next hop) → one kernel route each.
  const want = new Map<string, RouteView>();
  for (const r of i.learned) if (r.best && r.peer !== undefined && r.nextHop && r.nextHop !== 'self') want.set(routeKeyOr(r.prefix), r);
  const kernel = new Map(i.kernel.map((r) => [r.dst, r]));
  const underlay = new Underlay(RTPROT_TWILL_BGP);
  underlay.load(i.underlay ?? []);
  const resolve = i.underlay ? (gw: string) => underlay.resolve(gw) : () => ({ kind: 'onlink' as const });
  for (const [key, r] of want) {
    const k = kernel.get(key);
    // "fd00::2 (link-local fe80::1)": the kernel gets the global address.
    const nextHop = r.nextHop.split(' ')[0]!;
    const via = resolveNextHops([{ gateway: nextHop }], resolve).hops.map((h) => h.gateway);
    const resolved = via.length > 0 && (via.length !== 1 || via[0] !== nextHop) ? `; resolved via ${via.join(', ')}` : '';
    const expected = `via ${r.nextHop} (learned from ${r.peer}${resolved})`;
    if (k === undefined) out.push({ kind: 'bgp-route', object: key, expected, actual: via.length === 0 ? `absent: ${unreachableReason([nextHop])}` : 'absent' });
    else if (!gatewaysOf(k).some((g) => via.includes(g))) out.push({ kind: 'bgp-route', object: key, expected, actual: describe(k) });
  }
  for (const [key, k] of kernel) {
    if (!want.has(key)) out.push({ kind: 'bgp-route', object: key, expected: 'absent (no best path learned from a peer)', actual: describe(k) });
  }
  return { differences: out, checked: { bgpSessions: i.neighbors.length, bgpRoutes: want.size } };
}
