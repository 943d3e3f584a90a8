// What twill-node's local API serves, as plain data: the agent's status, its BGP peers and its
// routes. Both sides import these: twill-node (server, src/node) and twillctl (client, src/cli).
// Nothing here knows about the speaker or felix; src/node converts their types into these rows.

/** A failing kernel write, as the policy dataplane reports it. */
export interface FailingKey {
  key: string;
  attempts: number;
  error: string;
}

export interface NodeStatusReport {
  nodeName: string;
  /** twill-node's version (the package version). */
  version: string;
  /** The node's addresses with prefix length, as registered in its Node resource. */
  ipv4Address?: string;
  ipv6Address?: string;
  startedAt: Date;
  /** The policy agent (felix). */
  policy: {
    /** The datastore view is complete. */
    inSync: boolean;
    /** What /readiness says: in sync, desired state applied, no kernel write failing, the datastore syncer not in error. */
    ready: boolean;
    /** Why not ready (empty when ready), as /readiness lists them. */
    reasons: string[];
    localEndpoints: number;
    programmedEndpoints: number;
    failing: FailingKey[];
  };
  /** The BGP speaker; absent while it is not running. */
  bgp?: { asn: number; routerId: string };
}

/**
 * Where a peering comes from (Calico's PEER TYPE column). 'route reflector': that peer reflects
 * for us; 'route reflector client': we reflect for it.
 */
export type NodePeerType = 'node-to-node mesh' | 'global' | 'node specific' | 'route reflector' | 'route reflector client';

/** The session's BGP FSM state (RFC 4271). */
export type NodePeerState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export interface NodePeerRow {
  peerAddress: string;
  peerType: NodePeerType;
  state: NodePeerState;
  /** When the session entered its current state. */
  since: Date;
  /** Calico's INFO column: the FSM state, and the last error while not Established. */
  info: string;
  lastError?: string;
  asn: number;
  prefixesReceived: number;
  prefixesAccepted: number;
  prefixesAdvertised: number;
}

export type RouteDirection = 'learned' | 'advertised';

export interface NodeRouteQuery {
  /** Default: both. */
  direction?: RouteDirection;
  family?: 4 | 6;
  /** Exact prefix. */
  prefix?: string;
  /** Only routes from (learned) or to (advertised) this peer. */
  peer?: string;
  /** At most this many rows (0 = no limit). Default 1000. */
  limit?: number;
}

export interface NodeRouteRow {
  direction: RouteDirection;
  prefix: string;
  family: 4 | 6;
  nextHop: string;
  /** Learned: the peer it came from (absent = originated here). Advertised: the peer it went to. */
  peer?: string;
  /** "65001 65002". */
  asPath: string;
  origin: string;
  localPref?: number;
  med?: number;
  communities: string[];
  /** Learned: this path is the best for its prefix. Advertised: always true. */
  best: boolean;
  /** Why this path won (or lost) the best-path selection, e.g. "lower router id (10.0.0.2 vs 10.0.0.3)". */
  reason?: string;
}

/**
 * What a node's kernel holds that differs from what its agent wants (`twillctl verify`). felix
 * and the BGP side produce these (felix/dataplane/verify.ts, bgp/agent/verify.ts).
 */
export type DifferenceKind = 'route' | 'chain' | 'rule' | 'hook' | 'ipset' | 'ipset-member' | 'interface' | 'sysctl' | 'bgp-session' | 'bgp-route';

export interface NodeDifference {
  kind: DifferenceKind;
  /** The object by name: "10.65.0.1/32", "v4 filter tw-fw-twab12 rule 3", "tw4-0a1b… 10.65.0.2", "net/ipv4/conf/tw1/proxy_arp", "peer 198.18.0.11". */
  object: string;
  /** What the agent wants ("absent" when it wants nothing there). */
  expected: string;
  /** What the kernel (or the speaker) holds ("absent" when nothing). */
  actual: string;
  /**
   * Set for a change the agent saw happen (a netlink event) and has already undone: when it saw
   * it. The kernel holds the expected value again; the entry stays for 10 minutes.
   */
  seenAt?: Date;
}

/** How many objects of each kind a verify compared (so "no differences" says what was looked at). */
export interface VerifyCounts {
  routes: number;
  chains: number;
  ipsets: number;
  ipsetMembers: number;
  interfaces: number;
  sysctls: number;
  bgpSessions: number;
  bgpRoutes: number;
}

export interface NodeVerifyReport {
  nodeName: string;
  /** The agent's desired state is complete (in sync with the datastore); before that, differences are expected. */
  inSync: boolean;
  differences: NodeDifference[];
  checked: VerifyCounts;
  /** What could not be checked, and why ("BGP: the speaker is not running"). */
  notes: string[];
}

/** One packet policy denied, as twill-node logged it (FelixConfiguration logDeniedPackets). */
export interface NodeDeniedPacket {
  time: Date;
  /** The NFLOG prefix the drop carried: "twd:" + 12 hex digits. */
  id: string;
  src: string;
  dst: string;
  /** "tcp", "udp", "icmp", "icmpv6", "sctp", or the protocol number. */
  protocol: string;
  srcPort?: number;
  dstPort?: number;
  /** Absent when the id is unknown (its rule went away before the packet was read). */
  direction?: 'ingress' | 'egress';
  /** "np/<ns>/<name>", "gnp/<name>", "prof/<name>", "end-of-tier/<tier>", "no-profile-allowed", or "unknown". */
  policy: string;
  /** The Deny rule's index in its direction, as written. */
  rule?: number;
  /** "<namespace>/<name>" of the local endpoint the packet was going to (ingress) or from (egress). */
  endpoint?: string;
  /** That endpoint's host-side interface. */
  interfaceName?: string;
}

export interface NodeDeniedQuery {
  /** After the recent ones, keep sending new ones until cancelled. */
  follow?: boolean;
  /** How many recent ones first (default 100; 0 = every one kept). */
  limit?: number;
}

/** What the API serves; twill-node implements it, tests use a fake. */
export interface NodeApiBackend {
  status(): Promise<NodeStatusReport>;
  peers(): Promise<NodePeerRow[]>;
  routes(q: NodeRouteQuery): Promise<NodeRouteRow[]>;
  /** Reads the kernel afresh and compares it with the agent's desired state; repairs nothing. */
  verify(): Promise<NodeVerifyReport>;
  /**
   * Calls onPacket with the recent denied packets (oldest first), then, with follow, with each
   * new one until signal aborts; resolves when done.
   */
  denied(q: NodeDeniedQuery, onPacket: (p: NodeDeniedPacket) => void, signal: AbortSignal): Promise<void>;
}
