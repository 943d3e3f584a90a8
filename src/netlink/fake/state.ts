// The fake kernel's records, and how they render as the kernel would report them.
import * as C from '../constants.js';
import { formatIP, formatMac, type Family } from '../ip.js';
import { ROUTE_TYPE_NAMES, scopeName } from '../spec.js';
import type { Addr, Link, Neighbour, NeighState, Route } from '../types.js';

export interface LinkRec {
  index: number;
  name: string;
  kind: 'veth' | 'loopback';
  mtu: number;
  mac: Uint8Array;
  up: boolean;
  /** For a veth: the other end (possibly in another namespace). */
  peer?: { ns: NetnsView; link: LinkRec };
}

export interface AddrRec {
  ifindex: number;
  family: Family;
  address: Uint8Array;
  prefixLength: number;
  scope: number;
  noDad: boolean;
}

export interface NhRec {
  gateway: Uint8Array | undefined;
  ifindex: number;
  weight: number;
  onlink: boolean;
}

export interface RouteRec {
  family: Family;
  dst: Uint8Array;
  dstLen: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  metric: number;
  src: Uint8Array | undefined;
  /** One entry for a plain route, several for ECMP; empty for blackhole/unreachable (IPv4). */
  nhs: NhRec[];
  multipath: boolean;
  /** Made by the kernel for an address (connected, local, broadcast routes). */
  auto?: boolean;
}

export interface NeighRec {
  ifindex: number;
  family: Family;
  address: Uint8Array;
  mac: Uint8Array | undefined;
  state: number;
}

/** What route logic needs to see of a namespace. */
export interface NetnsView {
  readonly links: Map<number, LinkRec>;
  readonly addrs: AddrRec[];
  readonly routes: ReadonlySet<RouteRec>;
  /** Tables that ever held a route ("4:254"): the kernel creates them on first use and keeps them. */
  readonly tables: Set<string>;
  /** The route with the same table, prefix and metric (what an add collides with). */
  sameKey(r: RouteRec): RouteRec | undefined;
  /** Routes of one table with exactly this prefix, in insertion order. */
  samePrefix(family: 4 | 6, table: number, dst: Uint8Array, dstLen: number): readonly RouteRec[];
  /** The id this namespace gives another one (veth peers across namespaces). */
  nsidOf(other: NetnsView): number;
}

export function prefixKey(r: RouteRec): string {
  return `${r.family}|${r.table}|${r.dst.join('.')}/${r.dstLen}`;
}

export function routeKey(r: RouteRec): string {
  return `${prefixKey(r)}|${r.metric}`;
}

export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function operState(l: LinkRec): string {
  if (!l.up) return 'down';
  if (l.kind === 'loopback') return 'unknown';
  return l.peer && l.peer.link.up ? 'up' : 'lowerlayerdown';
}

export function renderLink(ns: NetnsView, l: LinkRec): Link {
  const out: Link = { index: l.index, name: l.name, mtu: l.mtu, up: l.up, operState: operState(l), mac: formatMac(l.mac) };
  if (l.kind === 'veth') {
    out.kind = 'veth';
    if (l.peer) {
      if (l.peer.ns !== ns) out.netnsId = ns.nsidOf(l.peer.ns);
      if (l.peer.link.index !== l.index) out.peerIndex = l.peer.link.index;
    }
  }
  return out;
}

export function renderAddr(a: AddrRec): Addr {
  const out: Addr = { ifindex: a.ifindex, family: a.family, address: formatIP(a.family, a.address), prefixLength: a.prefixLength, scope: a.scope };
  if (a.noDad) out.noDad = true;
  return out;
}

export function renderRoute(r: RouteRec): Route {
  const out: Route = {
    family: r.family,
    dst: `${formatIP(r.family, r.dst)}/${r.dstLen}`,
    table: r.table,
    protocol: r.protocol,
    scope: r.family === 6 ? 'universe' : scopeName(r.scope),
    type: ROUTE_TYPE_NAMES[r.type] ?? 'unicast',
  };
  if (r.family === 6 || r.metric) out.metric = r.metric;
  if (r.src) out.src = formatIP(r.family, r.src);
  if (r.multipath) {
    out.multipath = r.nhs.map((nh) => {
      const o: { gateway?: string; ifindex?: number; weight?: number; onlink?: boolean } = {};
      if (nh.gateway) o.gateway = formatIP(r.family, nh.gateway);
      if (nh.ifindex) o.ifindex = nh.ifindex;
      o.weight = nh.weight;
      if (nh.onlink) o.onlink = true;
      return o;
    });
  } else {
    const nh = r.nhs[0];
    if (nh?.gateway) out.gateway = formatIP(r.family, nh.gateway);
    if (nh?.ifindex) out.ifindex = nh.ifindex;
    if (nh?.onlink) out.onlink = true;
  }
  return out;
}

const STATE_NAMES: Record<number, NeighState> = {
  [C.NUD_PERMANENT]: 'permanent',
  [C.NUD_NOARP]: 'noarp',
  [C.NUD_REACHABLE]: 'reachable',
  [C.NUD_STALE]: 'stale',
  [C.NUD_DELAY]: 'delay',
  [C.NUD_PROBE]: 'probe',
  [C.NUD_FAILED]: 'failed',
  [C.NUD_INCOMPLETE]: 'incomplete',
};

export function renderNeigh(n: NeighRec): Neighbour {
  const out: Neighbour = { ifindex: n.ifindex, family: n.family, address: formatIP(n.family, n.address), state: STATE_NAMES[n.state] ?? 'none' };
  if (n.mac) out.mac = formatMac(n.mac);
  return out;
}
