// The Twill resource model (apiVersion twill.io/v1).
//
// These interfaces are the single source of truth for the shape of every resource, as users
// write it in YAML/JSON and as it is stored in the datastore. Validation and defaulting live in
// ./validate.ts and ./defaults.ts; the selector language in ./selector/.

export const API_VERSION = 'twill.io/v1' as const;
export type ApiVersion = typeof API_VERSION;

/** Kinds a user manages with twillctl. */
export const PUBLIC_KINDS = [
  'Node',
  'WorkloadEndpoint',
  'HostEndpoint',
  'IPPool',
  'Profile',
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'NetworkSet',
  'GlobalNetworkSet',
  'BGPPeer',
  'BGPConfiguration',
  'FelixConfiguration',
] as const;

/** Kinds that Twill's own components keep in the datastore (IPAM bookkeeping). */
export const INTERNAL_KINDS = ['IPAMBlock', 'BlockAffinity', 'IPAMHandle', 'IPAMConfig'] as const;

export type PublicKind = (typeof PUBLIC_KINDS)[number];
export type InternalKind = (typeof INTERNAL_KINDS)[number];
export type Kind = PublicKind | InternalKind;

/** Kinds whose objects live in a namespace; every other kind is cluster-scoped. */
export const NAMESPACED_KINDS: ReadonlySet<Kind> = new Set<Kind>([
  'WorkloadEndpoint',
  'NetworkPolicy',
  'NetworkSet',
]);

export interface ObjectMeta {
  name: string;
  /** Only for namespaced kinds; defaults to "default". */
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Set by the datastore: the revision of the last write. Used for compare-and-swap. */
  resourceVersion?: string;
  /** Set by the datastore on create. */
  uid?: string;
  /** Set by the datastore on create (RFC 3339). */
  creationTimestamp?: string;
}

export interface ResourceOf<K extends Kind, S, St = never> {
  apiVersion: ApiVersion;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
  status?: St;
}

// ---------------------------------------------------------------------------------------------
// Policy building blocks

export type Action = 'Allow' | 'Deny' | 'Pass' | 'Log';
/** Named protocols, or a protocol number 1..255. */
export type Protocol = 'TCP' | 'UDP' | 'ICMP' | 'ICMPv6' | 'SCTP' | 'UDPLite' | number;
/** A port: a number, a range "80:90", or the name of a named port on the endpoint. */
export type Port = number | string;

export interface ICMPFields {
  type?: number;
  code?: number;
}

export interface EntityRule {
  nets?: string[];
  notNets?: string[];
  selector?: string;
  notSelector?: string;
  /** Selects namespaces by their labels; `global()` selects non-namespaced objects (network sets). */
  namespaceSelector?: string;
  ports?: Port[];
  notPorts?: Port[];
  serviceAccounts?: { names?: string[]; selector?: string };
}

export interface Rule {
  action: Action;
  ipVersion?: 4 | 6;
  protocol?: Protocol;
  notProtocol?: Protocol;
  icmp?: ICMPFields;
  notICMP?: ICMPFields;
  source?: EntityRule;
  destination?: EntityRule;
  metadata?: { annotations?: Record<string, string> };
}

export type PolicyType = 'Ingress' | 'Egress';

export interface EndpointPort {
  name: string;
  protocol: 'TCP' | 'UDP' | 'SCTP';
  port: number;
}

// ---------------------------------------------------------------------------------------------
// Kinds

export interface NodeSpec {
  bgp?: {
    /** The node's IPv4 address with prefix length, e.g. "10.0.0.1/24". */
    ipv4Address?: string;
    ipv6Address?: string;
    /** Overrides the cluster AS number for this node. */
    asNumber?: number;
    /** Makes this node a route reflector with this cluster id (dotted quad). */
    routeReflectorClusterID?: string;
  };
  /** Orchestrator references (e.g. the Kubernetes node name). */
  orchRefs?: { orchestrator: string; nodeName?: string }[];
}
export interface NodeStatus {
  /** Written by twill-node. */
  agentVersion?: string;
  lastHeartbeat?: string;
}
export type NodeResource = ResourceOf<'Node', NodeSpec, NodeStatus>;

export interface WorkloadEndpointSpec {
  node: string;
  orchestrator?: string;
  workload?: string;
  pod?: string;
  endpoint?: string;
  containerID?: string;
  serviceAccountName?: string;
  /** Host side of the veth, e.g. "tw1a2b3c4d5e6". */
  interfaceName: string;
  mac?: string;
  /** Addresses with prefix length, e.g. ["10.65.0.5/32"]. */
  ipNetworks: string[];
  profiles?: string[];
  ports?: EndpointPort[];
}
export interface WorkloadEndpointStatus {
  /** Set by twill-node once routes and policy for this endpoint are programmed. */
  programmed?: boolean;
  programmedAt?: string;
  /** The node that programmed it. */
  programmedBy?: string;
  /** A hash of the spec that was programmed (so a stale status is recognisable). */
  specHash?: string;
}
export type WorkloadEndpointResource = ResourceOf<
  'WorkloadEndpoint',
  WorkloadEndpointSpec,
  WorkloadEndpointStatus
>;

export interface HostEndpointSpec {
  node: string;
  interfaceName?: string;
  expectedIPs?: string[];
  profiles?: string[];
  ports?: EndpointPort[];
}
export type HostEndpointResource = ResourceOf<'HostEndpoint', HostEndpointSpec>;

export interface IPPoolSpec {
  cidr: string;
  /** Prefix length of the blocks: default 26 for IPv4, 122 for IPv6. */
  blockSize?: number;
  natOutgoing?: boolean;
  disabled?: boolean;
  /** Which nodes may allocate from this pool; default "all()". */
  nodeSelector?: string;
}
export type IPPoolResource = ResourceOf<'IPPool', IPPoolSpec>;

export interface ProfileSpec {
  ingress?: Rule[];
  egress?: Rule[];
  /** Labels every endpoint with this profile inherits. */
  labelsToApply?: Record<string, string>;
}
export type ProfileResource = ResourceOf<'Profile', ProfileSpec>;

export interface NetworkPolicySpec {
  /** Lower order is applied first; a policy without order comes after all with one. */
  order?: number;
  selector?: string;
  /** Defaults: ["Ingress"], plus "Egress" when egress rules are present. */
  types?: PolicyType[];
  ingress?: Rule[];
  egress?: Rule[];
  serviceAccountSelector?: string;
}
export type NetworkPolicyResource = ResourceOf<'NetworkPolicy', NetworkPolicySpec>;

export interface GlobalNetworkPolicySpec extends NetworkPolicySpec {
  namespaceSelector?: string;
  applyOnForward?: boolean;
  preDNAT?: boolean;
  doNotTrack?: boolean;
}
export type GlobalNetworkPolicyResource = ResourceOf<'GlobalNetworkPolicy', GlobalNetworkPolicySpec>;

export interface NetworkSetSpec {
  nets: string[];
}
export type NetworkSetResource = ResourceOf<'NetworkSet', NetworkSetSpec>;
export type GlobalNetworkSetResource = ResourceOf<'GlobalNetworkSet', NetworkSetSpec>;

export interface BGPPeerSpec {
  /** Peer only from this node (name). Exclusive with nodeSelector. */
  node?: string;
  /** Peer from the nodes matching this selector. */
  nodeSelector?: string;
  /** Fixed peer address (IPv4 or IPv6), optionally with ":port". Exclusive with peerSelector. */
  peerIP?: string;
  asNumber?: number;
  /** Peer with the nodes matching this selector. */
  peerSelector?: string;
  password?: { value?: string; secretKeyRef?: { name: string; key: string } };
  keepaliveTime?: string;
  holdTime?: string;
  maxRestartTime?: string;
  sourceAddress?: 'UseNodeIP' | 'None';
  keepOriginalNextHop?: boolean;
  ttlSecurity?: number;
  /** Twill: at most this many prefixes per family from the peer, and what to do over the limit. */
  maxPrefixes?: BGPPeerMaxPrefixes;
}

export interface BGPPeerMaxPrefixes {
  ipv4?: number;
  ipv6?: number;
  /** warn: log and count; stop: keep the session, refuse new prefixes at the limit; reset (default): close it (CEASE 6/1). */
  action?: 'warn' | 'stop' | 'reset';
  /** reset only: open the session again after this long (e.g. "5m"); absent = stay down. */
  restartAfter?: string;
}
export type BGPPeerResource = ResourceOf<'BGPPeer', BGPPeerSpec>;

export interface BGPConfigurationSpec {
  logSeverityScreen?: 'Debug' | 'Info' | 'Warning' | 'Error' | 'Fatal';
  /** Default true. */
  nodeToNodeMeshEnabled?: boolean;
  /** Default 64512. */
  asNumber?: number;
  /** Default 179. */
  listenPort?: number;
  serviceClusterIPs?: { cidr: string }[];
  serviceExternalIPs?: { cidr: string }[];
  communities?: { name: string; value: string }[];
  prefixAdvertisements?: { cidr: string; communities?: string[] }[];
  nodeMeshMaxRestartTime?: string;
  nodeMeshPassword?: { value?: string; secretKeyRef?: { name: string; key: string } };
}
export type BGPConfigurationResource = ResourceOf<'BGPConfiguration', BGPConfigurationSpec>;

export interface FelixConfigurationSpec {
  /** Host-side workload interface prefix; default "tw". */
  interfacePrefix?: string;
  /** Mark bits Twill may use; default 0xffff0000. */
  iptablesMarkMask?: number;
  iptablesRefreshInterval?: string;
  routeRefreshInterval?: string;
  iptablesBackend?: 'Auto' | 'NFT' | 'Legacy';
  defaultEndpointToHostAction?: 'Drop' | 'Accept' | 'Return';
  logSeverityScreen?: 'Debug' | 'Info' | 'Warning' | 'Error' | 'Fatal';
  ipv6Support?: boolean;
  healthEnabled?: boolean;
  healthPort?: number;
  prometheusMetricsEnabled?: boolean;
  prometheusMetricsPort?: number;
  failsafeInboundHostPorts?: { protocol: 'TCP' | 'UDP'; port: number }[];
  failsafeOutboundHostPorts?: { protocol: 'TCP' | 'UDP'; port: number }[];
  routeProtocol?: number;
  mtu?: number;
  /**
   * Log denied packets (default false): every drop by a Deny rule, at the end of a tier, or when
   * no profile allows goes through NFLOG first, and twill-node logs one line per packet
   * (`twillctl node denied`).
   */
  logDeniedPackets?: boolean;
  /** Logged packets per second per drop rule, at most (default 10). */
  logDeniedPacketsRate?: number;
  /** Burst allowed above the rate (default 20). */
  logDeniedPacketsBurst?: number;
  /** The NFLOG group twill-node reads (default 20; Calico's flow logs use 1 and 2). */
  logDeniedPacketsGroup?: number;
}
export type FelixConfigurationResource = ResourceOf<'FelixConfiguration', FelixConfigurationSpec>;

// ---------------------------------------------------------------------------------------------
// Internal kinds (IPAM). Names: IPAMBlock "10-65-0-0-26"; BlockAffinity "<node>-<block name>";
// IPAMHandle: the handle id; IPAMConfig: "default".

export interface IPAMBlockSpec {
  cidr: string;
  /** "host:<node>" when a host holds the affinity, absent when free. */
  affinity?: string;
  /** allocations[i] is the index into attributes for ordinal i, or null when free. */
  allocations: (number | null)[];
  /** Free ordinals, in the order they will be handed out. */
  unallocated: number[];
  attributes: { handleID?: string; secondary?: Record<string, string> }[];
  /** Per-ordinal sequence numbers: bumped on every allocation, so a late release is detected. */
  sequenceNumbers: number[];
  deleted?: boolean;
  strictAffinity?: boolean;
}
export type IPAMBlockResource = ResourceOf<'IPAMBlock', IPAMBlockSpec>;

export interface BlockAffinitySpec {
  node: string;
  cidr: string;
  state: 'pending' | 'confirmed' | 'pendingDeletion';
}
export type BlockAffinityResource = ResourceOf<'BlockAffinity', BlockAffinitySpec>;

export interface IPAMHandleSpec {
  handleID: string;
  /** Block cidr → number of addresses this handle holds in it. */
  block: Record<string, number>;
}
export type IPAMHandleResource = ResourceOf<'IPAMHandle', IPAMHandleSpec>;

export interface IPAMConfigSpec {
  strictAffinity?: boolean;
  autoAllocateBlocks?: boolean;
  maxBlocksPerHost?: number;
}
export type IPAMConfigResource = ResourceOf<'IPAMConfig', IPAMConfigSpec>;

export interface ResourceByKind {
  Node: NodeResource;
  WorkloadEndpoint: WorkloadEndpointResource;
  HostEndpoint: HostEndpointResource;
  IPPool: IPPoolResource;
  Profile: ProfileResource;
  NetworkPolicy: NetworkPolicyResource;
  GlobalNetworkPolicy: GlobalNetworkPolicyResource;
  NetworkSet: NetworkSetResource;
  GlobalNetworkSet: GlobalNetworkSetResource;
  BGPPeer: BGPPeerResource;
  BGPConfiguration: BGPConfigurationResource;
  FelixConfiguration: FelixConfigurationResource;
  IPAMBlock: IPAMBlockResource;
  BlockAffinity: BlockAffinityResource;
  IPAMHandle: IPAMHandleResource;
  IPAMConfig: IPAMConfigResource;
}

/** Any resource. Narrow on `kind`. */
export type Resource = ResourceByKind[Kind];

/** Identifies one object. `namespace` only for namespaced kinds. */
export interface ResourceKey {
  kind: Kind;
  name: string;
  namespace?: string;
}

export function isNamespaced(kind: Kind): boolean {
  return NAMESPACED_KINDS.has(kind);
}

export function keyOf(r: { kind: Kind; metadata: ObjectMeta }): ResourceKey {
  return isNamespaced(r.kind)
    ? { kind: r.kind, name: r.metadata.name, namespace: r.metadata.namespace ?? 'default' }
    : { kind: r.kind, name: r.metadata.name };
}

export function formatKey(k: ResourceKey): string {
  return k.namespace !== undefined ? `${k.kind} ${k.namespace}/${k.name}` : `${k.kind} ${k.name}`;
}
