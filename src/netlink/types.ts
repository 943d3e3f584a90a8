// The netlink layer's public model: what a handle can do, and the plain objects it reads and
// writes. Implemented by the kernel handle (handle.ts) and by the in-memory fake (fake/).
import type { NetlinkError } from './errors.js';
import type { NetnsRef } from './ref.js';

export type { NetnsRef } from './ref.js';

/** Route protocol number of routes programmed by the policy/route agent (felix). */
export const RTPROT_TWILL = 84;
/** Route protocol number of routes learned by the BGP speaker. */
export const RTPROT_TWILL_BGP = 85;

/** An interface, by name or by index. */
export type LinkRef = string | number;

export interface Link {
  index: number;
  name: string;
  /** Link kind from IFLA_INFO_KIND ("veth", ...); absent for loopback and physical devices. */
  kind?: string;
  mtu: number;
  mac?: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** RFC 2863 operational state: "up", "down", "lowerlayerdown", "unknown", ... */
  operState?: string;
  master?: number;
  /** For a veth: the ifindex of its peer (in the peer's namespace when netnsId is set). */
  peerIndex?: number;
  /** For a veth whose peer lives in another namespace: that namespace's id as seen from here. */
  netnsId?: number;
}

export interface Addr {
  ifindex: number;
  family: 4 | 6;
  address: string;
  prefixLength: number;
  /** 0 universe, 253 link, 254 host. Set by the kernel when absent. */
  scope?: number;
  /** IPv6: skip duplicate address detection (the address is usable at once). */
  noDad?: boolean;
}

export type RouteType =
  | 'unicast'
  | 'local'
  | 'broadcast'
  | 'anycast'
  | 'multicast'
  | 'blackhole'
  | 'unreachable'
  | 'prohibit'
  | 'throw';

export type RouteScope = 'universe' | 'site' | 'link' | 'host' | 'nowhere' | number;

export interface NextHop {
  gateway?: string;
  ifindex?: number;
  /** ECMP weight, 1..256 (default 1). */
  weight?: number;
  onlink?: boolean;
}

export interface Route {
  family: 4 | 6;
  /** CIDR, "0.0.0.0/0" / "::/0" for default. Host bits must be clear. */
  dst: string;
  /** Routing table; default main (254). */
  table?: number;
  /** Route protocol; on add defaults to "boot" (3) like iproute2. Use RTPROT_TWILL / RTPROT_TWILL_BGP for ours. */
  protocol?: number;
  /** On add: default "link" for a unicast route without gateway, "host" for local, else "universe". */
  scope?: RouteScope;
  type?: RouteType;
  ifindex?: number;
  gateway?: string;
  onlink?: boolean;
  /** Priority. IPv6 routes get 1024 from the kernel when 0/absent. */
  metric?: number;
  /** Preferred source address. */
  src?: string;
  /** ECMP next hops (RTA_MULTIPATH). Mutually exclusive with ifindex/gateway. */
  multipath?: NextHop[];
}

export interface RouteFilter {
  /** Only this family; absent: both. */
  family?: 4 | 6;
  /** Only this table; default main (254); "all" for every table. */
  table?: number | 'all';
  protocol?: number;
  scope?: RouteScope;
  type?: RouteType;
  /** Only routes leaving through this interface (directly or as one of their ECMP next hops). */
  ifindex?: number;
}

export type NeighState = 'permanent' | 'reachable' | 'stale' | 'delay' | 'probe' | 'failed' | 'incomplete' | 'noarp' | 'none';

export interface Neighbour {
  ifindex: number;
  family: 4 | 6;
  /** The neighbour's IP address. */
  address: string;
  mac?: string;
  /** On add defaults to "permanent". */
  state?: NeighState;
}

export interface AddrFilter {
  family?: 4 | 6;
  ifindex?: number;
}

export interface NeighFilter {
  family?: 4 | 6;
  ifindex?: number;
}

export interface VethOptions {
  name: string;
  peerName: string;
  /** Create the peer directly in this namespace (IFLA_NET_NS_FD). Absent: same namespace. */
  peerNetns?: NetnsRef;
  mtu?: number;
  mac?: string;
  peerMac?: string;
}

/** One write in a batch. */
export type NetlinkOp =
  | { op: 'routeAdd' | 'routeReplace' | 'routeDel'; route: Route }
  | { op: 'addrAdd' | 'addrDel'; addr: Addr }
  | { op: 'neighAdd' | 'neighReplace' | 'neighDel'; neigh: Neighbour };

export type BatchResult = { ok: true } | { ok: false; error: NetlinkError };

export type MonitorGroup = 'link' | 'addr' | 'route';

export type NetlinkEvent =
  | { kind: 'link'; action: 'new' | 'del'; link: Link }
  | { kind: 'addr'; action: 'new' | 'del'; addr: Addr }
  | { kind: 'route'; action: 'new' | 'del'; route: Route }
  /** The kernel dropped events (socket buffer overrun): list again to resynchronise. */
  | { kind: 'overrun' };

export interface Monitor {
  close(): void;
}

export interface NetlinkHandle {
  /** The namespace this handle works in. */
  readonly netns: NetnsRef;

  linkList(): Promise<Link[]>;
  linkGet(ref: LinkRef): Promise<Link | undefined>;
  /** Creates a veth pair; the peer can be placed (and named) straight in another namespace. */
  vethAdd(o: VethOptions): Promise<void>;
  linkSetUp(ref: LinkRef, up: boolean): Promise<void>;
  linkSetMtu(ref: LinkRef, mtu: number): Promise<void>;
  linkSetMac(ref: LinkRef, mac: string): Promise<void>;
  /** The kernel refuses (EBUSY) to rename an interface that is up. */
  linkRename(ref: LinkRef, newName: string): Promise<void>;
  /** Deleting one end of a veth deletes the other too. */
  linkDel(ref: LinkRef): Promise<void>;

  addrAdd(a: Addr): Promise<void>;
  addrDel(a: Addr): Promise<void>;
  addrList(filter?: AddrFilter): Promise<Addr[]>;

  routeAdd(r: Route): Promise<void>;
  routeReplace(r: Route): Promise<void>;
  /** Fields left out match anything (e.g. no protocol: any protocol). */
  routeDel(r: Route): Promise<void>;
  routeList(filter?: RouteFilter): Promise<Route[]>;

  neighAdd(n: Neighbour): Promise<void>;
  neighReplace(n: Neighbour): Promise<void>;
  neighDel(n: Neighbour): Promise<void>;
  neighList(filter?: NeighFilter): Promise<Neighbour[]>;

  /** Reads /proc/sys/<path> in this namespace, e.g. "net/ipv4/conf/eth0/proxy_arp" (trimmed). */
  sysctlGet(path: string): Promise<string>;
  sysctlSet(path: string, value: string): Promise<void>;

  /** Many writes in as few kernel round trips as possible; one result per op, in order. Never throws for one op. */
  batch(ops: readonly NetlinkOp[]): Promise<BatchResult[]>;

  close(): void;
}
