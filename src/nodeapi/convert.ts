// The wire form (proto-loader objects, camelCase) of the API types, both ways.
import type { DifferenceKind, NodeDeniedPacket, NodeDeniedQuery, NodePeerRow, NodePeerState, NodePeerType, NodeRouteQuery, NodeRouteRow, NodeStatusReport, NodeVerifyReport, RouteDirection, VerifyCounts } from './types.js';
import { NodeApiRequestError } from './errors.js';

export interface StatusMsg {
  nodeName: string;
  version: string;
  ipv4Address: string;
  ipv6Address: string;
  startedAtMs: number;
  policy: { inSync: boolean; ready: boolean; localEndpoints: number; programmedEndpoints: number; failing: { key: string; attempts: number; error: string }[]; reasons: string[] } | null;
  bgp: { asn: number; routerId: string } | null;
}

export interface PeerMsg {
  peerAddress: string;
  peerType: string;
  state: string;
  sinceMs: number;
  info: string;
  lastError: string;
  asn: number;
  prefixesReceived: number;
  prefixesAccepted: number;
  prefixesAdvertised: number;
}

export interface RouteQueryMsg {
  direction: string;
  family: number;
  prefix: string;
  peer: string;
  limit?: number | null;
}

export interface RouteMsg {
  direction: string;
  prefix: string;
  family: number;
  nextHop: string;
  peer: string;
  asPath: string;
  origin: string;
  localPref?: number | null;
  med?: number | null;
  communities: string[];
  best: boolean;
  reason: string;
}

export function statusToMsg(s: NodeStatusReport): StatusMsg {
  return {
    nodeName: s.nodeName,
    version: s.version,
    ipv4Address: s.ipv4Address ?? '',
    ipv6Address: s.ipv6Address ?? '',
    startedAtMs: s.startedAt.getTime(),
    policy: { ...s.policy, failing: s.policy.failing.map((f) => ({ ...f })), reasons: [...s.policy.reasons] },
    bgp: s.bgp ? { ...s.bgp } : null,
  };
}

export function statusFromMsg(m: StatusMsg): NodeStatusReport {
  const p = m.policy ?? { inSync: false, ready: false, localEndpoints: 0, programmedEndpoints: 0, failing: [], reasons: ['the agent sent no policy status'] };
  return {
    nodeName: m.nodeName,
    version: m.version,
    ...(m.ipv4Address ? { ipv4Address: m.ipv4Address } : {}),
    ...(m.ipv6Address ? { ipv6Address: m.ipv6Address } : {}),
    startedAt: new Date(m.startedAtMs),
    policy: { inSync: p.inSync, ready: p.ready, localEndpoints: p.localEndpoints, programmedEndpoints: p.programmedEndpoints, failing: p.failing.map((f) => ({ key: f.key, attempts: f.attempts, error: f.error })), reasons: [...p.reasons] },
    ...(m.bgp ? { bgp: { asn: m.bgp.asn, routerId: m.bgp.routerId } } : {}),
  };
}

export function peerToMsg(p: NodePeerRow): PeerMsg {
  return {
    peerAddress: p.peerAddress,
    peerType: p.peerType,
    state: p.state,
    sinceMs: p.since.getTime(),
    info: p.info,
    lastError: p.lastError ?? '',
    asn: p.asn,
    prefixesReceived: p.prefixesReceived,
    prefixesAccepted: p.prefixesAccepted,
    prefixesAdvertised: p.prefixesAdvertised,
  };
}

export function peerFromMsg(m: PeerMsg): NodePeerRow {
  return {
    peerAddress: m.peerAddress,
    // The server only sends the values of these unions; a newer server may add some.
    peerType: m.peerType as NodePeerType,
    state: m.state as NodePeerState,
    since: new Date(m.sinceMs),
    info: m.info,
    ...(m.lastError ? { lastError: m.lastError } : {}),
    asn: m.asn,
    prefixesReceived: m.prefixesReceived,
    prefixesAccepted: m.prefixesAccepted,
    prefixesAdvertised: m.prefixesAdvertised,
  };
}

export const DEFAULT_ROUTE_LIMIT = 1000;

export function queryToMsg(q: NodeRouteQuery): RouteQueryMsg {
  return { direction: q.direction ?? '', family: q.family ?? 0, prefix: q.prefix ?? '', peer: q.peer ?? '', ...(q.limit !== undefined ? { limit: q.limit } : {}) };
}

/** Checks a request; throws NodeApiRequestError for a bad one. */
export function queryFromMsg(m: RouteQueryMsg): NodeRouteQuery {
  if (m.direction !== '' && m.direction !== 'learned' && m.direction !== 'advertised') {
    throw new NodeApiRequestError(`direction "${m.direction}" is not learned or advertised`);
  }
  if (m.family !== 0 && m.family !== 4 && m.family !== 6) throw new NodeApiRequestError(`family ${m.family} is not 4 or 6`);
  return {
    ...(m.direction ? { direction: m.direction as RouteDirection } : {}),
    ...(m.family ? { family: m.family as 4 | 6 } : {}),
    ...(m.prefix ? { prefix: m.prefix } : {}),
    ...(m.peer ? { peer: m.peer } : {}),
    limit: m.limit ?? DEFAULT_ROUTE_LIMIT,
  };
}

export function routeToMsg(r: NodeRouteRow): RouteMsg {
  return {
    direction: r.direction,
    prefix: r.prefix,
    family: r.family,
    nextHop: r.nextHop,
    peer: r.peer ?? '',
    asPath: r.asPath,
    origin: r.origin,
    ...(r.localPref !== undefined ? { localPref: r.localPref } : {}),
    ...(r.med !== undefined ? { med: r.med } : {}),
    communities: r.communities,
    best: r.best,
    reason: r.reason ?? '',
  };
}

export function routeFromMsg(m: RouteMsg): NodeRouteRow {
  return {
    direction: m.direction as RouteDirection,
    prefix: m.prefix,
    family: m.family === 6 ? 6 : 4,
    nextHop: m.nextHop,
    ...(m.peer ? { peer: m.peer } : {}),
    asPath: m.asPath,
    origin: m.origin,
    ...(m.localPref !== undefined && m.localPref !== null ? { localPref: m.localPref } : {}),
    ...(m.med !== undefined && m.med !== null ? { med: m.med } : {}),
    communities: m.communities,
    best: m.best,
    ...(m.reason ? { reason: m.reason } : {}),
  };
}

export interface VerifyMsg {
  nodeName: string;
  inSync: boolean;
  differences: { kind: string; object: string; expected: string; actual: string; seenAtMs: number }[];
  checked: VerifyCounts | null;
  notes: string[];
}

const NO_COUNTS: VerifyCounts = { routes: 0, chains: 0, ipsets: 0, ipsetMembers: 0, interfaces: 0, sysctls: 0, bgpSessions: 0, bgpRoutes: 0 };

export function verifyToMsg(r: NodeVerifyReport): VerifyMsg {
  return {
    nodeName: r.nodeName,
    inSync: r.inSync,
    differences: r.differences.map((d) => ({ kind: d.kind, object: d.object, expected: d.expected, actual: d.actual, seenAtMs: d.seenAt ? d.seenAt.getTime() : 0 })),
    checked: { ...r.checked },
    notes: [...r.notes],
  };
}

export function verifyFromMsg(m: VerifyMsg): NodeVerifyReport {
  const c = m.checked ?? NO_COUNTS;
  return {
    nodeName: m.nodeName,
    inSync: m.inSync,
    differences: m.differences.map((d) => ({
      // The server only sends DifferenceKind values; a newer one may add some.
      kind: d.kind as DifferenceKind,
      object: d.object,
      expected: d.expected,
      actual: d.actual,
      ...(d.seenAtMs > 0 ? { seenAt: new Date(d.seenAtMs) } : {}),
    })),
    checked: { ...NO_COUNTS, ...c },
    notes: [...m.notes],
  };
}

export interface DeniedQueryMsg {
  follow: boolean;
  limit?: number | null;
}

export interface DeniedMsg {
  timeMs: number;
  id: string;
  src: string;
  dst: string;
  protocol: string;
  srcPort?: number | null;
  dstPort?: number | null;
  direction: string;
  policy: string;
  rule?: number | null;
  endpoint: string;
  interfaceName: string;
}

export const DEFAULT_DENIED_LIMIT = 100;

export function deniedQueryToMsg(q: NodeDeniedQuery): DeniedQueryMsg {
  return { follow: q.follow === true, ...(q.limit !== undefined ? { limit: q.limit } : {}) };
}

export function deniedQueryFromMsg(m: DeniedQueryMsg): NodeDeniedQuery {
  return { follow: m.follow, limit: m.limit ?? DEFAULT_DENIED_LIMIT };
}

const opt = <K extends string>(k: K, v: number | null | undefined): { [P in K]?: number } => (v !== undefined && v !== null ? ({ [k]: v } as { [P in K]?: number }) : {});

export function deniedToMsg(p: NodeDeniedPacket): DeniedMsg {
  return {
    timeMs: p.time.getTime(),
    id: p.id,
    src: p.src,
    dst: p.dst,
    protocol: p.protocol,
    ...opt('srcPort', p.srcPort),
    ...opt('dstPort', p.dstPort),
    direction: p.direction ?? '',
    policy: p.policy,
    ...opt('rule', p.rule),
    endpoint: p.endpoint ?? '',
    interfaceName: p.interfaceName ?? '',
  };
}

export function deniedFromMsg(m: DeniedMsg): NodeDeniedPacket {
  return {
    time: new Date(m.timeMs),
    id: m.id,
    src: m.src,
    dst: m.dst,
    protocol: m.protocol,
    ...opt('srcPort', m.srcPort),
    ...opt('dstPort', m.dstPort),
    ...(m.direction === 'ingress' || m.direction === 'egress' ? { direction: m.direction } : {}),
    policy: m.policy,
    ...opt('rule', m.rule),
    ...(m.endpoint ? { endpoint: m.endpoint } : {}),
    ...(m.interfaceName ? { interfaceName: m.interfaceName } : {}),
  };
}
