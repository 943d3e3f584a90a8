// The public, in-process API of the Twill BGP speaker. The `twill-bgp` daemon, the node agent and
// the tests code against these types only; everything else under bgp/{fsm,session,rib,server} is
// internal. Addresses and prefixes are strings here (RFC 5952 for IPv6); inside, the speaker keeps
// compact values and makes strings only when asked.

/** A prefix filter. Rules are tried in order; the first that matches decides, else `default`. */
export interface PrefixPolicy {
  default: 'accept' | 'reject';
  rules: readonly PrefixRule[];
}

/**
 * Matches prefixes inside `prefix` whose length is within [ge, le]. Without ge/le only `prefix`
 * itself matches; with only `ge`, le is the family maximum (32 / 128); with only `le`, ge is the
 * length of `prefix` (the usual prefix-list semantics).
 */
export interface PrefixRule {
  prefix: string;
  ge?: number;
  le?: number;
  action: 'accept' | 'reject';
}

export type FamilyName = 'ipv4' | 'ipv6';

/** Backoff knobs (seconds). The defaults suit production; tests shorten them. */
export interface BackoffConfig {
  /** First Idle hold after a session went down (doubles with each flap). Default 1. */
  idleHold?: number;
  /** Upper bound of the Idle hold. Default 120. */
  idleHoldMax?: number;
  /** Upper bound of the exponential ConnectRetry. Default 60. */
  connectRetryMax?: number;
  /** A session Established this long resets the flap count (and so both backoffs). Default 60. */
  stableTime?: number;
}

export interface NeighborConfig {
  /** The peer's address (IPv4 or IPv6). Identifies the neighbour; incoming connections are matched on it. */
  address: string;
  /** The peer's AS; its OPEN must carry it (else OPEN error Bad Peer AS). iBGP when equal to our AS. */
  asn: number;
  /** Never connect out; wait for the peer to connect. */
  passive?: boolean;
  /** The peer's TCP port to connect to. Default 179. */
  port?: number;
  /** Source address for the outgoing connection (and the next hop of that family). */
  localAddress?: string;
  /** Overrides SpeakerConfig.holdTime / keepalive / connectRetry for this peer (seconds). */
  holdTime?: number;
  keepalive?: number;
  connectRetry?: number;
  description?: string;
  /**
   * What we accept from / send to this peer. When absent: accept / send everything to iBGP peers;
   * for eBGP peers nothing, unless SpeakerConfig.ebgpRequiresPolicy is false (RFC 8212).
   */
  importPolicy?: PrefixPolicy;
  exportPolicy?: PrefixPolicy;
  /** Rewrite the next hop to our own address also for iBGP (eBGP always does). */
  nextHopSelf?: boolean;
  /**
   * Our next hop per family, for next-hop-self. Defaults: the session's local address for its own
   * family; for the other family the speaker-wide `nextHop`, else (IPv4) the router id or (IPv6)
   * the IPv4-mapped form of the local IPv4 address.
   */
  nextHop?: { ipv4?: string; ipv6?: string };
  /** Families to negotiate. Default both. */
  families?: FamilyName[];
  /**
   * Graceful restart (RFC 4724) for this neighbour. Default: follows SpeakerConfig.gracefulRestart.
   * `false` opts out; `{ restartTime }` enables it with its own advertised restart time.
   */
  gracefulRestart?: boolean | { restartTime: number };
  /**
   * ADD-PATH (RFC 7911), IPv4 and IPv6. `receive`: keep every path the peer sends, keyed by
   * (prefix, path id). `send`: true = every path we have, a number = the best N.
   */
  addPath?: { send?: boolean | number; receive?: boolean };
  /**
   * Advertise Extended Message (RFC 8654). Messages over 4096 octets are sent only when the peer
   * advertises it too (FRR always does); without this, every message stays within 4096.
   */
  extendedMessage?: boolean;
  /** This iBGP neighbour is our route-reflector client (RFC 4456). */
  routeReflectorClient?: boolean;
  /** TCP MD5 signature password (RFC 2385), on the listener (for this address) and our connections. */
  password?: string;
  /** GTSM (RFC 5082): the peer is at most this many hops away; we send TTL 255 and accept TTL >= 256 - hops. */
  ttlSecurity?: number;
  /**
   * At most this many prefixes from this peer (a number: over both families together), or limits
   * per family with what to do over them (see MaxPrefixesConfig; default action `reset`: CEASE /
   * Maximum Number of Prefixes Reached, RFC 4486).
   */
  maxPrefixes?: number | MaxPrefixesConfig;
}

/** Which count a maxPrefixes limit applies to. */
export type MaxPrefixesScope = 'ipv4' | 'ipv6' | 'total';

/** What to do when a peer sends more prefixes than allowed. */
export type MaxPrefixesAction = 'warn' | 'stop' | 'reset';

export interface MaxPrefixesConfig {
  /** Over both families together (the older shape). At least one of limit / ipv4 / ipv6. */
  limit?: number;
  /** IPv4 unicast prefixes. */
  ipv4?: number;
  /** IPv6 unicast prefixes. */
  ipv6?: number;
  /**
   * `warn`: log and count once each time a limit is crossed, keep everything; `stop`: keep the
   * session, refuse new prefixes of that family (with a warning) while at the limit, accept again
   * once under it; `reset` (default): CEASE 6/1 and stay down (or restart after `restartAfter`).
   */
  action?: MaxPrefixesAction;
  /** `reset` only: start the session again after this many seconds (default: stay down). */
  restartAfter?: number;
}

/** Graceful restart (RFC 4724), both roles. */
export interface GracefulRestartConfig {
  enabled: boolean;
  /** Seconds we ask peers to keep our routes while we restart (advertised; 0..4095). Default 120. */
  restartTime?: number;
  /** At most this long (s) we keep a restarting peer's routes stale. Default 360. */
  stalePathTime?: number;
}

export interface OriginateConfig {
  prefix: string;
  /** Default: our own address towards each peer (next-hop-self). */
  nextHop?: string;
  /** "65000:100" style (RFC 1997). */
  communities?: string[];
  /** Default 100 towards iBGP peers. */
  localPref?: number;
  med?: number;
}

export interface SpeakerConfig {
  /** BGP identifier, dotted IPv4. */
  routerId: string;
  /** Our AS (1..4294967295; 4-octet AS is always advertised). */
  asn: number;
  /**
   * Where to accept connections. Default: port 179 on all addresses. `false`: no listener
   * (every neighbour must be active). Port 0 picks a free port (see BgpSpeaker.port).
   */
  listen?: { address?: string; port: number } | false;
  /** Seconds; 0 (no keepalives) or at least 3. Default 90. */
  holdTime?: number;
  /** Seconds; default a third of the negotiated hold time. */
  keepalive?: number;
  /** Seconds between connection attempts (grows exponentially on failures). Default 5. */
  connectRetry?: number;
  /**
   * RFC 9687 send hold time, seconds: a session whose output has not drained for this long (the
   * peer stopped reading) is closed with NOTIFICATION 8. Default max(480, 2 × hold time); not
   * used when the hold time is 0.
   */
  sendHoldTime?: number;
  backoff?: BackoffConfig;
  neighbors: NeighborConfig[];
  originate?: OriginateConfig[];
  /** Speaker-wide next hops for next-hop-self of the family the session address is not in. */
  nextHop?: { ipv4?: string; ipv6?: string };
  /** Compare MED between routes from different neighbour ASes too. Default false. */
  alwaysCompareMed?: boolean;
  /** RFC 8212: eBGP peers without an explicit policy exchange nothing. Default true. */
  ebgpRequiresPolicy?: boolean;
  /**
   * Route reflection (RFC 4456): our cluster id (dotted quad). With it, routes are reflected between
   * route-reflector clients and non-clients. Neighbours marked routeReflectorClient without a
   * clusterId use the router id as the cluster id.
   */
  clusterId?: string;
  /** ECMP: up to this many equal best paths (decision equal up to the router id) per prefix. Default 1. */
  maxPaths?: number;
  /** Graceful restart (RFC 4724), default off. Neighbours may opt out. */
  gracefulRestart?: GracefulRestartConfig;
}

export type PeerState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

export interface PeerStatus {
  address: string;
  asn: number;
  description?: string;
  type: 'ebgp' | 'ibgp';
  state: PeerState;
  /** When the peer entered its current state. */
  since: Date;
  /** Peer's BGP identifier (once an OPEN was received). */
  routerId?: string;
  /** Negotiated hold time and keepalive interval (Established only), seconds. */
  holdTime?: number;
  keepalive?: number;
  localAddress?: string;
  localPort?: number;
  remotePort?: number;
  /** Prefixes in this peer's Adj-RIB-In (before import policy). */
  receivedPrefixes: number;
  /** Of those, accepted by import policy. */
  acceptedPrefixes: number;
  /** Prefixes currently advertised to this peer. */
  advertisedPrefixes: number;
  /** Times the session went Established / dropped from Established. */
  establishedCount: number;
  flaps: number;
  /** Human sentence of the last error: NOTIFICATION sent or received, TCP error, hold timer. */
  lastError?: string;
  /** Capabilities both sides advertised (Established only). */
  capabilities?: NegotiatedCapabilities;
  /** TCP MD5 is configured for this neighbour. */
  md5?: boolean;
  /** Our route-reflector client. */
  routeReflectorClient?: boolean;
  /** Graceful restart: the peer's routes are kept, stale, while it restarts. */
  staleRoutes?: boolean;
  /** End-of-RIB received for every negotiated family on the current session. */
  endOfRibReceived?: boolean;
  /** maxPrefixes configured: prefixes received per family, times a limit was crossed, prefixes refused (action stop). */
  maxPrefixes?: { action: MaxPrefixesAction; received: { ipv4: number; ipv6: number }; exceeded: number; refused: number; over: MaxPrefixesScope[] };
  messages: { sent: MessageCounters; received: MessageCounters };
}

export interface MessageCounters {
  open: number;
  update: number;
  notification: number;
  keepalive: number;
  routeRefresh: number;
}

export interface NegotiatedCapabilities {
  families: FamilyName[];
  fourOctetAs: boolean;
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  gracefulRestart: boolean;
  /** The peer advertised the Restart State bit (it has just restarted). */
  peerRestarting?: boolean;
  addPath: { ipv4: { send: boolean; receive: boolean }; ipv6: { send: boolean; receive: boolean } };
  /** Both sides advertised Extended Message: messages up to 65535 octets both ways. */
  extendedMessage: boolean;
}

export type OriginName = 'igp' | 'egp' | 'incomplete';

export interface RouteView {
  /** "10.0.0.0/24", "2001:db8::/64". */
  prefix: string;
  family: 4 | 6;
  /** As received (table 'in'), as installed (table 'loc') or as sent (table 'out'). */
  nextHop: string;
  /** Flattened AS path (AS_SET members in braces are listed in order; see asPathText). */
  asPath: number[];
  /** "65001 65002 {65010 65011}". */
  asPathText: string;
  origin: OriginName;
  med?: number;
  localPref?: number;
  /** "65000:100". */
  communities?: string[];
  largeCommunities?: string[];
  originatorId?: string;
  clusterList?: string[];
  /** Tables 'loc'/'in': the neighbour that sent it (undefined = originated locally); 'out': the neighbour it was sent to. */
  peer?: string;
  /** Best in the Loc-RIB (table 'loc'), or accepted by import policy (table 'in'). */
  best: boolean;
  /** Why it won or lost (table 'loc'), or why it was rejected (table 'in'). */
  reason?: string;
  /** Kept from a session that ended while the peer restarts (graceful restart). */
  stale?: boolean;
  /**
   * ADD-PATH path identifier: the one the peer gave it (tables 'in' / 'loc'), or the one we send
   * it under (table 'out', when several paths per prefix go to that peer). Absent without ADD-PATH.
   */
  pathId?: number;
  /** Part of the multipath (ECMP) set of the prefix (table 'loc'). */
  multipath?: boolean;
}

export interface RouteQuery {
  /** 'in' = a peer's Adj-RIB-In (peer required), 'loc' = Loc-RIB, 'out' = what was sent to a peer (peer required). */
  table: 'loc' | 'in' | 'out';
  peer?: string;
  family?: 4 | 6;
  /** Exact prefix. */
  prefix?: string;
  /** For 'loc': all candidate paths (the best first), not just the best. Default false. */
  all?: boolean;
  /** At most this many routes (default 1000; 0 = no limit). */
  limit?: number;
}

/**
 * One Loc-RIB best-path change (for kernel sync). Cheap to make even for a million prefixes:
 * the full RouteView is built only when route() is called.
 */
export interface BestChange {
  prefix: string;
  family: 4 | 6;
  /** False: the prefix has no best path any more (remove it). */
  reachable: boolean;
  /** Next hop of the best path ("self" for a local route without one); undefined when unreachable. */
  nextHop: string | undefined;
  /**
   * Every next hop of the multipath set (the best path first, at most maxPaths, one per distinct
   * address), empty when unreachable or for a local route without a next hop. IPv6: `address` is
   * the global next hop; a link-local second next hop (RFC 2545) is in `linkLocal`.
   */
  nextHops: BestNextHop[];
  /** The neighbour the best path came from; undefined for local routes or when unreachable. */
  peer: string | undefined;
  /** The best path in full (undefined when unreachable). */
  route(): RouteView | undefined;
}

export interface BestNextHop {
  address: string;
  linkLocal?: string;
  /** The neighbour the path came from. */
  peer: string | undefined;
}

export type SpeakerEvent =
  | { type: 'peer-state'; peer: string; from: PeerState; to: PeerState; reason?: string }
  | {
      type: 'notification';
      peer: string;
      direction: 'sent' | 'received';
      code: number;
      subcode: number;
      /** The human sentence, e.g. "Cease / Administrative Shutdown: maintenance". */
      message: string;
    }
  /** RFC 7606 treat-as-withdraw or attribute-discard handled without a reset. */
  | { type: 'update-error'; peer: string; handling: string; message: string; withdrawn: number }
  /** The peer sent End-of-RIB for a family (RFC 4724): its initial table (or refresh) is complete. */
  | { type: 'end-of-rib'; peer: string; family: FamilyName }
  /** A maxPrefixes limit was crossed (`scope` 'total' = both families together). */
  | { type: 'max-prefixes'; peer: string; scope: MaxPrefixesScope; limit: number; received: number; action: MaxPrefixesAction }
  /** Loc-RIB best paths changed (`count` prefixes); the details go to onBestChanged() listeners. */
  | { type: 'best-changed'; count: number }
  | { type: 'error'; message: string };

export interface SpeakerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SpeakerOptions {
  /** pino-compatible. Default: silent. */
  logger?: SpeakerLogger;
  /**
   * Graceful restart, restarting role: we are coming back from a restart with our forwarding
   * state kept (kernel routes left in place); the OPEN says so (R bit, F bits).
   */
  restarting?: boolean;
}

export interface LocalPath {
  prefix: string;
  nextHop?: string;
  communities?: string[];
  localPref?: number;
  med?: number;
}

/**
 * What BgpSpeaker (./speaker.ts) offers. Documented here so the daemon can code against it:
 *
 *   new BgpSpeaker(cfg: SpeakerConfig, opts?: SpeakerOptions)
 *   start(): Promise<void>             listen (if configured) and start every neighbour
 *   stop(opts?): Promise<void>         CEASE / Administrative Shutdown to all, close the listener;
 *                                      { graceful: true }: close without CEASE (graceful restart)
 *   readonly port: number | undefined  the bound listen port (after start)
 *   listPeers(): PeerStatus[]
 *   listRoutes(q: RouteQuery): RouteView[]
 *   addPath(p: LocalPath): void        originate (replaces a path of the same prefix)
 *   deletePath(prefix: string): void
 *   subscribe(fn: (e: SpeakerEvent) => void): () => void
 *   onBestChanged(fn: (changes: BestChange[]) => void): () => void
 *   addNeighbor(n: NeighborConfig): void
 *   removeNeighbor(address: string): Promise<void>   CEASE / Peer De-configured
 *   updateConfig(cfg: SpeakerConfig): Promise<void>  resets only the sessions whose identity changed
 *   resetPeer(address: string, opts?: { soft?: boolean }): Promise<void>
 *   idle(): Promise<void>              resolves when all queued RIB work and output are done
 *
 * start, stop, addNeighbor, removeNeighbor, updateConfig and resetPeer are serialized (one at a
 * time, in call order; a burst of updateConfig applies only the latest), see ./serial.ts.
 */
export interface BgpSpeakerApi {
  readonly port: number | undefined;
  start(): Promise<void>;
  stop(opts?: { graceful?: boolean }): Promise<void>;
  listPeers(): PeerStatus[];
  listRoutes(q: RouteQuery): RouteView[];
  addPath(p: LocalPath): void;
  deletePath(prefix: string): void;
  subscribe(fn: (e: SpeakerEvent) => void): () => void;
  onBestChanged(fn: (changes: BestChange[]) => void): () => void;
  addNeighbor(n: NeighborConfig): void;
  removeNeighbor(address: string): Promise<void>;
  updateConfig(cfg: SpeakerConfig): Promise<void>;
  resetPeer(address: string, opts?: { soft?: boolean }): Promise<void>;
  idle(): Promise<void>;
}
