// The policy agent's desired state: what felix/calc computes from the datastore for ONE host, and
// what felix/rules and felix/dataplane consume. Plain data only (Maps, arrays, strings, numbers):
// it survives structuredClone / postMessage to a worker thread.
//
// Treat every value as immutable: calc shares arrays and objects between its outputs and its own
// records (copy before changing anything).
//
// Ordering is deterministic everywhere: every Map is filled in ascending key order (JS string
// order), every list is sorted (or ordered by meaning: policies by order then name). The same
// final datastore content gives a deep-equal DesiredState, whatever order the updates came in.
//
// Keys:
//   endpoints  by host-side interface name ("tw1a2b3c4d5e6")
//   policies   by PolicyId: "np/<namespace>/<name>" (NetworkPolicy), "gnp/<name>" (GlobalNetworkPolicy)
//   profiles   by ProfileId: "prof/<name>"
//   ipsets     by IpSetId: 20 lowercase hex digits (hash of what the set means); the kernel set
//              names are derived by felix/rules: "tw4-<id>" / "tw6-<id>"
//   routes     by destination CIDR ("10.65.0.5/32", "10.65.0.0/26")
//   pools      by pool CIDR

import type { EndpointPort, FelixConfigurationSpec, PolicyType } from '../../src/api/types.js';

export type IpVersion = 4 | 6;

export interface CalcOptions {
  /** This host's Node name: endpoints with spec.node === nodeName are local. */
  nodeName: string;
  /**
   * Workload interface prefix when no FelixConfiguration sets one (default "tw"). The effective
   * prefix (config.interfacePrefix) is what the dispatch chains match on.
   */
  interfacePrefix?: string;
  /**
   * Only these endpoints are local, on whichever node each runs (policy explain): the policies,
   * profiles and sets of each are exactly what its own host computes for it, without the work for
   * the hosts' other endpoints; nodeName then only picks the FelixConfiguration overlay and the
   * routes. Endpoints listed here must have distinct interface names. Default: every endpoint on
   * nodeName.
   */
  onlyEndpoints?: readonly { namespace: string; name: string }[];
}

// ---------------------------------------------------------------------------------------------
// Endpoints

/** A policy as one endpoint sees it: which policy, and where it sits in the evaluation order. */
export interface PolicyRef {
  id: string;
  /** Twill has one tier today: "default". Consecutive refs with the same tier form one tier. */
  tier: string;
  /** spec.order; undefined sorts after every number. */
  order: number | undefined;
}

export interface EndpointState {
  /** Host-side interface name (the map key). */
  interfaceName: string;
  /** The WorkloadEndpoint this came from. */
  namespace: string;
  name: string;
  /** Container-side MAC, when known. */
  mac: string | undefined;
  /** Canonical host prefixes, sorted: "10.65.0.5/32", "fd00::5/128". */
  ipv4Nets: string[];
  ipv6Nets: string[];
  /**
   * The labels selectors see: the endpoint's own labels, then labelsToApply of its profiles
   * (own labels win; among profiles the first listed wins), then "twill.io/namespace" and, when
   * the endpoint has one, "twill.io/orchestrator" (Calico's projectcalico.org/namespace and
   * projectcalico.org/orchestrator). Keys sorted.
   */
  labels: Record<string, string>;
  /** The namespace's labels (from Profile "kns.<namespace>", see felix/README.md). Keys sorted. */
  namespaceLabels: Record<string, string>;
  /** Policies that apply to inbound traffic (the endpoint is the destination), in evaluation order. */
  ingressPolicies: PolicyRef[];
  /** Policies that apply to outbound traffic (the endpoint is the source), in evaluation order. */
  egressPolicies: PolicyRef[];
  /** spec.profiles as ids, in the listed order (the order matters: first match wins). */
  profileIds: string[];
  /** Named ports, as in the spec. */
  ports: EndpointPort[];
}

// ---------------------------------------------------------------------------------------------
// Rules, policies, profiles

/** Lower-case protocol names as iptables spells them, or a protocol number (1..255). */
export type CalcProtocol = 'tcp' | 'udp' | 'icmp' | 'icmpv6' | 'sctp' | 'udplite' | number;

/** An inclusive port range; a single port has first === last. */
export interface PortRange {
  first: number;
  last: number;
}

export interface IcmpMatch {
  type?: number;
  code?: number;
}

/** One side (source or destination) of a normalised rule. Every list is sorted and de-duplicated. */
export interface CalcEntityMatch {
  /** Canonical CIDRs (both families mixed); the packet's address must be in one of them. */
  nets: string[];
  /** When nets has more than one entry: a hash:net set holding them (split per family). */
  netSetId?: string;
  /** The packet's address must be in none of these. */
  notNets: string[];
  /** When notNets is not empty: a hash:net set holding them (split per family). */
  notNetSetId?: string;
  /**
   * The address must be in this set: every endpoint / network set the rule's selector (scoped
   * by namespace / namespaceSelector) matches. Absent: no selector constraint.
   */
  selectorSetId?: string;
  /** The address must NOT be in this set (notSelector, scoped the same way). */
  notSelectorSetId?: string;
  /**
   * Numeric ports and named ports together form ONE alternative list: the packet's port must be
   * in `ports` OR (address, protocol, port) must be in one of `namedPortSetIds`.
   */
  ports: PortRange[];
  /** hash:ip,port sets, one per named port (resolved against the endpoints in the rule's scope). */
  namedPortSetIds: string[];
  /** The port must be in none of these (and the (address, port) in none of notNamedPortSetIds). */
  notPorts: PortRange[];
  notNamedPortSetIds: string[];
}

export interface CalcRule {
  action: 'Allow' | 'Deny' | 'Pass' | 'Log';
  /**
   * Families the rule can match in: from ipVersion, the protocol (ICMP → 4, ICMPv6 → 6) and the
   * families of its nets. Empty: the rule can never match (it is rendered nowhere).
   */
  ipVersions: IpVersion[];
  protocol?: CalcProtocol;
  notProtocol?: CalcProtocol;
  icmp?: IcmpMatch;
  notICMP?: IcmpMatch;
  source: CalcEntityMatch;
  destination: CalcEntityMatch;
}

export type PolicyKind = 'NetworkPolicy' | 'GlobalNetworkPolicy';

export interface PolicyState {
  id: string;
  kind: PolicyKind;
  name: string;
  /** NetworkPolicy only. */
  namespace: string | undefined;
  tier: string;
  order: number | undefined;
  /** The effective types (spec.types, or the default from the rules present). */
  types: PolicyType[];
  /** Rules for traffic into the selected endpoints: present (maybe empty) iff types has Ingress. */
  ingress: CalcRule[] | undefined;
  /** Rules for traffic out of the selected endpoints: present iff types has Egress. */
  egress: CalcRule[] | undefined;
}

export interface ProfileState {
  id: string;
  name: string;
  ingress: CalcRule[];
  egress: CalcRule[];
}

// ---------------------------------------------------------------------------------------------
// IP sets

/**
 * hash:net  — addresses of endpoints (as host prefixes) and CIDRs of network sets / rule nets.
 * hash:ip,port — named ports: "10.65.0.5,tcp:8080".
 */
export type IpSetType = 'hash:net' | 'hash:ip,port';

export type IpSetPurpose = 'selector' | 'namedPort' | 'nets';

export interface IpSetState {
  id: string;
  type: IpSetType;
  purpose: IpSetPurpose;
  /** Human-readable: the scoped selector, named port or nets the set stands for (for explain/logs). */
  description: string;
  /**
   * Members in the kernel's canonical text, sorted: "10.65.0.5" (a host prefix is written bare),
   * "10.66.0.0/16"; named ports "10.65.0.5,tcp:8080".
   */
  members4: string[];
  members6: string[];
}

// ---------------------------------------------------------------------------------------------
// Routes, pools, config

export type RouteState =
  | {
      dst: string;
      family: IpVersion;
      /** A local workload's address, scope link, out of its interface. */
      type: 'local';
      interfaceName: string;
    }
  | {
      dst: string;
      family: IpVersion;
      /** A block this host holds (confirmed affinity): unused addresses in it go nowhere. */
      type: 'blackhole';
    };

export interface PoolState {
  cidr: string;
  family: IpVersion;
  natOutgoing: boolean;
  disabled: boolean;
}

/** FelixConfiguration "default" overlaid with "node.<nodeName>", over the built-in defaults. */
export interface EffectiveConfig extends FelixConfigurationSpec {
  interfacePrefix: string;
  iptablesMarkMask: number;
  defaultEndpointToHostAction: 'Drop' | 'Accept' | 'Return';
  ipv6Support: boolean;
  iptablesRefreshInterval: string;
  routeRefreshInterval: string;
  iptablesBackend: 'Auto' | 'NFT' | 'Legacy';
  routeProtocol: number;
}

// ---------------------------------------------------------------------------------------------
// The whole picture, and what changed

export interface DesiredState {
  nodeName: string;
  config: EffectiveConfig;
  /** Local workload endpoints. */
  endpoints: ReadonlyMap<string, EndpointState>;
  /** Only policies that apply to at least one local endpoint (in some direction). */
  policies: ReadonlyMap<string, PolicyState>;
  /** Only profiles that some local endpoint lists and that exist. */
  profiles: ReadonlyMap<string, ProfileState>;
  /** Only sets referenced by the rules of the policies and profiles above. */
  ipsets: ReadonlyMap<string, IpSetState>;
  routes: ReadonlyMap<string, RouteState>;
  /** Every IPPool (including disabled ones: their addresses are still "inside the cluster"). */
  pools: ReadonlyMap<string, PoolState>;
}

/** Upserts carry the full new value of each changed key; deletes list keys that are gone. */
export interface KeyedDelta<T> {
  upserts: ReadonlyMap<string, T>;
  deletes: readonly string[];
}

/** What flush() reports: only keys whose value changed since the previous flush. */
export interface DesiredStateDelta {
  /** Present only when the effective configuration changed (always on the first flush). */
  config?: EffectiveConfig;
  endpoints: KeyedDelta<EndpointState>;
  policies: KeyedDelta<PolicyState>;
  profiles: KeyedDelta<ProfileState>;
  ipsets: KeyedDelta<IpSetState>;
  routes: KeyedDelta<RouteState>;
  pools: KeyedDelta<PoolState>;
}

/** Something calc had to skip or could not fully honour (also logged by the agent). */
export interface CalcProblem {
  /** The object at fault, e.g. "NetworkPolicy prod/allow-web". */
  object: string;
  message: string;
}
