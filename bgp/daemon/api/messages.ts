// TypeScript shapes of the twill_bgp.proto messages as @grpc/proto-loader hands them over with
// LOADER_OPTIONS (camelCase fields, int64 as number, defaults filled in, oneof name in `event`).
// Keep in step with twill_bgp.proto.

export interface StatusMsg {
  version: string;
  routerId: string;
  asn: number;
  listen: string;
  startedUnixMs: number;
  pid: number;
  peersConfigured: number;
  peersEstablished: number;
  prefixesReceived: number;
  prefixesAccepted: number;
  prefixesAdvertised: number;
  originated: number;
  kernelInstall: boolean;
  kernelRoutes: number;
  kernelError: string;
  configFile: string;
}

export interface MessageCountersMsg {
  open: number;
  update: number;
  notification: number;
  keepalive: number;
  routeRefresh: number;
}

export interface AddPathFlagsMsg {
  send: boolean;
  receive: boolean;
}

export interface CapabilitiesMsg {
  families: string[];
  fourOctetAs: boolean;
  routeRefresh: boolean;
  enhancedRouteRefresh: boolean;
  gracefulRestart: boolean;
  addPathIpv4: AddPathFlagsMsg | null;
  addPathIpv6: AddPathFlagsMsg | null;
  extendedMessage: boolean;
  peerRestarting?: boolean;
}

export interface PeerMsg {
  address: string;
  asn: number;
  description: string;
  type: string;
  state: string;
  sinceUnixMs: number;
  routerId: string;
  holdTime?: number;
  keepalive?: number;
  localAddress: string;
  localPort: number;
  remotePort: number;
  receivedPrefixes: number;
  acceptedPrefixes: number;
  advertisedPrefixes: number;
  establishedCount: number;
  flaps: number;
  lastError: string;
  capabilities: CapabilitiesMsg | null;
  sent: MessageCountersMsg | null;
  received: MessageCountersMsg | null;
  md5?: boolean;
  routeReflectorClient?: boolean;
  staleRoutes?: boolean;
  endOfRibReceived?: boolean;
  maxPrefixes?: MaxPrefixesStatusMsg | null;
}

export interface MaxPrefixesStatusMsg {
  action: string;
  receivedIpv4: number;
  receivedIpv6: number;
  exceeded: number;
  refused: number;
  over: string[];
}

export interface ListPeersRequestMsg {
  address: string;
}

export interface ListPeersResponseMsg {
  peers: PeerMsg[];
}

export interface ListRoutesRequestMsg {
  table: string;
  peer: string;
  family: number;
  prefix: string;
  all: boolean;
  limit: number;
}

export interface RouteMsg {
  prefix: string;
  family: number;
  nextHop: string;
  asPath: number[];
  asPathText: string;
  origin: string;
  med?: number;
  localPref?: number;
  communities: string[];
  largeCommunities: string[];
  originatorId: string;
  clusterList: string[];
  peer: string;
  best: boolean;
  reason: string;
  stale?: boolean;
  pathId?: number;
  multipath?: boolean;
}

export interface RouteBatchMsg {
  routes: RouteMsg[];
}

export interface WatchEventsRequestMsg {
  bestChanges: boolean;
}

export interface BestChangeMsg {
  prefix: string;
  family: number;
  reachable: boolean;
  nextHop: string;
  peer: string;
}

export interface EventMsg {
  timeUnixMs: number;
  event?: 'peerState' | 'notification' | 'updateError' | 'bestChanged' | 'error';
  peerState?: { peer: string; from: string; to: string; reason: string };
  notification?: { peer: string; direction: string; code: number; subcode: number; message: string };
  updateError?: { peer: string; handling: string; message: string; withdrawn: number };
  bestChanged?: { changes: BestChangeMsg[] };
  error?: { message: string };
}

export interface AddPathRequestMsg {
  prefix: string;
  nextHop: string;
  communities: string[];
  localPref?: number;
  med?: number;
}

export interface DeletePathRequestMsg {
  prefix: string;
}

export interface DeletePathResponseMsg {
  existed: boolean;
}
