// Between the speaker's public types (bgp/server/types.ts) and the wire messages (./messages.ts).
// Both directions live here so a field added to one side is easy to carry through.
import type {
  BestChange,
  FamilyName,
  MaxPrefixesScope,
  MessageCounters,
  NegotiatedCapabilities,
  OriginName,
  PeerState,
  PeerStatus,
  RouteView,
  SpeakerEvent,
} from '../../server/types.js';
import type {
  CapabilitiesMsg,
  EventMsg,
  MessageCountersMsg,
  PeerMsg,
  RouteMsg,
  StatusMsg,
} from './messages.js';

/** What `twill-bgp status` shows: the daemon as a whole. */
export interface DaemonStatus {
  version: string;
  routerId: string;
  asn: number;
  /** "0.0.0.0:179", "[::]:179", or "" when not listening. */
  listen: string;
  started: Date;
  pid: number;
  peersConfigured: number;
  peersEstablished: number;
  prefixesReceived: number;
  prefixesAccepted: number;
  prefixesAdvertised: number;
  originated: number;
  kernel: { install: boolean; routes: number; error?: string };
  configFile: string;
}

export function statusToMsg(s: DaemonStatus): StatusMsg {
  return {
    version: s.version,
    routerId: s.routerId,
    asn: s.asn,
    listen: s.listen,
    startedUnixMs: s.started.getTime(),
    pid: s.pid,
    peersConfigured: s.peersConfigured,
    peersEstablished: s.peersEstablished,
    prefixesReceived: s.prefixesReceived,
    prefixesAccepted: s.prefixesAccepted,
    prefixesAdvertised: s.prefixesAdvertised,
    originated: s.originated,
    kernelInstall: s.kernel.install,
    kernelRoutes: s.kernel.routes,
    kernelError: s.kernel.error ?? '',
    configFile: s.configFile,
  };
}

export function statusFromMsg(m: StatusMsg): DaemonStatus {
  return {
    version: m.version,
    routerId: m.routerId,
    asn: m.asn,
    listen: m.listen,
    started: new Date(m.startedUnixMs),
    pid: m.pid,
    peersConfigured: m.peersConfigured,
    peersEstablished: m.peersEstablished,
    prefixesReceived: m.prefixesReceived,
    prefixesAccepted: m.prefixesAccepted,
    prefixesAdvertised: m.prefixesAdvertised,
    originated: m.originated,
    kernel: { install: m.kernelInstall, routes: m.kernelRoutes, ...(m.kernelError ? { error: m.kernelError } : {}) },
    configFile: m.configFile,
  };
}

const ZERO_COUNTERS: MessageCounters = { open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 };

function countersFromMsg(m: MessageCountersMsg | null): MessageCounters {
  return m ? { open: m.open, update: m.update, notification: m.notification, keepalive: m.keepalive, routeRefresh: m.routeRefresh } : { ...ZERO_COUNTERS };
}

function capsToMsg(c: NegotiatedCapabilities): CapabilitiesMsg {
  return {
    families: [...c.families],
    fourOctetAs: c.fourOctetAs,
    routeRefresh: c.routeRefresh,
    enhancedRouteRefresh: c.enhancedRouteRefresh,
    gracefulRestart: c.gracefulRestart,
    addPathIpv4: { ...c.addPath.ipv4 },
    addPathIpv6: { ...c.addPath.ipv6 },
    extendedMessage: c.extendedMessage,
    peerRestarting: !!c.peerRestarting,
  };
}

function capsFromMsg(m: CapabilitiesMsg): NegotiatedCapabilities {
  const flags = (f: CapabilitiesMsg['addPathIpv4']): { send: boolean; receive: boolean } => ({ send: !!f?.send, receive: !!f?.receive });
  return {
    families: m.families.filter((f): f is FamilyName => f === 'ipv4' || f === 'ipv6'),
    fourOctetAs: m.fourOctetAs,
    routeRefresh: m.routeRefresh,
    enhancedRouteRefresh: m.enhancedRouteRefresh,
    gracefulRestart: m.gracefulRestart,
    addPath: { ipv4: flags(m.addPathIpv4), ipv6: flags(m.addPathIpv6) },
    extendedMessage: m.extendedMessage,
    ...(m.peerRestarting ? { peerRestarting: true } : {}),
  };
}

export function peerToMsg(p: PeerStatus): PeerMsg {
  const m: PeerMsg = {
    address: p.address,
    asn: p.asn,
    description: p.description ?? '',
    type: p.type,
    state: p.state,
    sinceUnixMs: p.since.getTime(),
    routerId: p.routerId ?? '',
    localAddress: p.localAddress ?? '',
    localPort: p.localPort ?? 0,
    remotePort: p.remotePort ?? 0,
    receivedPrefixes: p.receivedPrefixes,
    acceptedPrefixes: p.acceptedPrefixes,
    advertisedPrefixes: p.advertisedPrefixes,
    establishedCount: p.establishedCount,
    flaps: p.flaps,
    lastError: p.lastError ?? '',
    capabilities: p.capabilities ? capsToMsg(p.capabilities) : null,
    sent: { ...p.messages.sent },
    received: { ...p.messages.received },
    md5: !!p.md5,
    routeReflectorClient: !!p.routeReflectorClient,
    staleRoutes: !!p.staleRoutes,
    endOfRibReceived: !!p.endOfRibReceived,
  };
  if (p.holdTime !== undefined) m.holdTime = p.holdTime;
  if (p.keepalive !== undefined) m.keepalive = p.keepalive;
  const mp = p.maxPrefixes;
  if (mp) m.maxPrefixes = { action: mp.action, receivedIpv4: mp.received.ipv4, receivedIpv6: mp.received.ipv6, exceeded: mp.exceeded, refused: mp.refused, over: [...mp.over] };
  return m;
}

const STATES: readonly PeerState[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

function stateOf(s: string): PeerState {
  return (STATES as readonly string[]).includes(s) ? (s as PeerState) : 'Idle';
}

export function peerFromMsg(m: PeerMsg): PeerStatus {
  const p: PeerStatus = {
    address: m.address,
    asn: m.asn,
    type: m.type === 'ibgp' ? 'ibgp' : 'ebgp',
    state: stateOf(m.state),
    since: new Date(m.sinceUnixMs),
    receivedPrefixes: m.receivedPrefixes,
    acceptedPrefixes: m.acceptedPrefixes,
    advertisedPrefixes: m.advertisedPrefixes,
    establishedCount: m.establishedCount,
    flaps: m.flaps,
    messages: { sent: countersFromMsg(m.sent), received: countersFromMsg(m.received) },
  };
  if (m.description) p.description = m.description;
  if (m.routerId) p.routerId = m.routerId;
  if (m.holdTime !== undefined && m.holdTime !== null) p.holdTime = m.holdTime;
  if (m.keepalive !== undefined && m.keepalive !== null) p.keepalive = m.keepalive;
  if (m.localAddress) p.localAddress = m.localAddress;
  if (m.localPort) p.localPort = m.localPort;
  if (m.remotePort) p.remotePort = m.remotePort;
  if (m.lastError) p.lastError = m.lastError;
  if (m.capabilities) p.capabilities = capsFromMsg(m.capabilities);
  if (m.md5) p.md5 = true;
  if (m.routeReflectorClient) p.routeReflectorClient = true;
  if (m.staleRoutes) p.staleRoutes = true;
  if (m.endOfRibReceived) p.endOfRibReceived = true;
  const mp = m.maxPrefixes;
  if (mp) {
    const action = mp.action === 'warn' || mp.action === 'stop' ? mp.action : 'reset';
    const over = mp.over.filter((s): s is MaxPrefixesScope => s === 'ipv4' || s === 'ipv6' || s === 'total');
    p.maxPrefixes = { action, received: { ipv4: mp.receivedIpv4, ipv6: mp.receivedIpv6 }, exceeded: mp.exceeded, refused: mp.refused, over };
  }
  return p;
}

export function routeToMsg(r: RouteView): RouteMsg {
  const m: RouteMsg = {
    prefix: r.prefix,
    family: r.family,
    nextHop: r.nextHop,
    asPath: r.asPath,
    asPathText: r.asPathText,
    origin: r.origin,
    communities: r.communities ?? [],
    largeCommunities: r.largeCommunities ?? [],
    originatorId: r.originatorId ?? '',
    clusterList: r.clusterList ?? [],
    peer: r.peer ?? '',
    best: r.best,
    reason: r.reason ?? '',
    stale: !!r.stale,
    pathId: r.pathId ?? 0,
    multipath: !!r.multipath,
  };
  if (r.med !== undefined) m.med = r.med;
  if (r.localPref !== undefined) m.localPref = r.localPref;
  return m;
}

function originOf(s: string): OriginName {
  return s === 'egp' || s === 'incomplete' ? s : 'igp';
}

export function routeFromMsg(m: RouteMsg): RouteView {
  const r: RouteView = {
    prefix: m.prefix,
    family: m.family === 6 ? 6 : 4,
    nextHop: m.nextHop,
    asPath: m.asPath,
    asPathText: m.asPathText,
    origin: originOf(m.origin),
    best: m.best,
  };
  if (m.med !== undefined && m.med !== null) r.med = m.med;
  if (m.localPref !== undefined && m.localPref !== null) r.localPref = m.localPref;
  if (m.communities.length > 0) r.communities = m.communities;
  if (m.largeCommunities.length > 0) r.largeCommunities = m.largeCommunities;
  if (m.originatorId) r.originatorId = m.originatorId;
  if (m.clusterList.length > 0) r.clusterList = m.clusterList;
  if (m.peer) r.peer = m.peer;
  if (m.reason) r.reason = m.reason;
  if (m.stale) r.stale = true;
  if (m.pathId) r.pathId = m.pathId;
  if (m.multipath) r.multipath = true;
  return r;
}

/** One best-path change as data (what WatchEvents streams; BestChange without its route()). */
export interface BestChangeView {
  prefix: string;
  family: 4 | 6;
  /** False: the prefix has no best path any more. */
  reachable: boolean;
  nextHop?: string;
  /** The neighbour the best path came from; absent for local routes. */
  peer?: string;
}

/** What WatchEvents delivers: a speaker event (best-path changes in detail) and when it happened. */
export type WatchEvent = (Exclude<SpeakerEvent, { type: 'best-changed' }> | { type: 'best-changed'; changes: BestChangeView[] }) & { time: Date };

export function bestChangesToMsg(changes: readonly BestChange[], time: Date): EventMsg {
  return {
    timeUnixMs: time.getTime(),
    bestChanged: {
      changes: changes.map((c) => ({ prefix: c.prefix, family: c.family, reachable: c.reachable, nextHop: c.nextHop ?? '', peer: c.peer ?? '' })),
    },
  };
}

/** The message for a speaker event; undefined for 'best-changed' counts (see bestChangesToMsg). */
export function eventToMsg(e: SpeakerEvent, time: Date): EventMsg | undefined {
  const t = time.getTime();
  switch (e.type) {
    case 'peer-state':
      return { timeUnixMs: t, peerState: { peer: e.peer, from: e.from, to: e.to, reason: e.reason ?? '' } };
    case 'notification':
      return {
        timeUnixMs: t,
        notification: { peer: e.peer, direction: e.direction, code: e.code, subcode: e.subcode, message: e.message },
      };
    case 'update-error':
      return { timeUnixMs: t, updateError: { peer: e.peer, handling: e.handling, message: e.message, withdrawn: e.withdrawn } };
    case 'best-changed':
    case 'end-of-rib':
    case 'max-prefixes':
      return undefined;
    case 'error':
      return { timeUnixMs: t, error: { message: e.message } };
  }
}

/** The event in a message, or undefined for a message this client does not know. */
export function eventFromMsg(m: EventMsg): WatchEvent | undefined {
  const time = new Date(m.timeUnixMs);
  if (m.peerState) {
    const e: WatchEvent = { type: 'peer-state', peer: m.peerState.peer, from: stateOf(m.peerState.from), to: stateOf(m.peerState.to), time };
    if (m.peerState.reason) e.reason = m.peerState.reason;
    return e;
  }
  if (m.notification) {
    const n = m.notification;
    return { type: 'notification', peer: n.peer, direction: n.direction === 'sent' ? 'sent' : 'received', code: n.code, subcode: n.subcode, message: n.message, time };
  }
  if (m.updateError) return { type: 'update-error', ...m.updateError, time };
  if (m.bestChanged) {
    const changes = m.bestChanged.changes.map((c): BestChangeView => {
      const v: BestChangeView = { prefix: c.prefix, family: c.family === 6 ? 6 : 4, reachable: c.reachable };
      if (c.nextHop) v.nextHop = c.nextHop;
      if (c.peer) v.peer = c.peer;
      return v;
    });
    return { type: 'best-changed', changes, time };
  }
  if (m.error) return { type: 'error', message: m.error.message, time };
  return undefined;
}
