// What twill-node serves on its local API: the policy agent's status from felix, the identity
// from identity.ts, and — once the lead plugs the BGP worker in with setBgp() — peers and routes.
// Also the conversions from the speaker's public types (bgp/server/types.ts) to the API's rows.
import type { PeerStatus, RouteQuery, RouteView } from '../../bgp/server/types.js';
import type { NodeApiBackend, NodeDeniedPacket, NodeDeniedQuery, NodePeerRow, NodePeerType, NodeRouteQuery, NodeRouteRow, NodeStatusReport, NodeVerifyReport, RouteDirection } from '../nodeapi/types.js';
import { TwillError } from '../errors.js';
import type { FelixAgentStatus } from '../../felix/agent.js';
import type { NodeAddresses } from './identity.js';
import { readinessReasons } from './readiness.js';

/** The BGP side of the API (the speaker worker, wrapped). */
export interface BgpApiSource {
  peers(): Promise<NodePeerRow[]>;
  routes(q: NodeRouteQuery): Promise<NodeRouteRow[]>;
  /** Our AS and router id. */
  identity(): { asn: number; routerId: string } | undefined;
}

export interface NodeApiBackendOptions {
  nodeName: string;
  version: string;
  addresses: NodeAddresses;
  policy: () => FelixAgentStatus;
  /** `twillctl verify` (src/node/verify.ts verifyNode); absent: Verify answers that it cannot. */
  verify?: () => Promise<NodeVerifyReport>;
  /** Denied packets (src/node/denied.ts DeniedPacketLog); absent: none. */
  denied?: Pick<NodeApiBackend, 'denied'>;
  now?: () => Date;
}

export class TwillNodeApiBackend implements NodeApiBackend {
  private bgp: BgpApiSource | undefined;
  private readonly startedAt: Date;

  constructor(private readonly o: NodeApiBackendOptions) {
    this.startedAt = (o.now ?? (() => new Date()))();
  }

  /** Plugs in (or, with undefined, removes) the BGP speaker. Until then peers and routes are empty. */
  setBgp(source: BgpApiSource | undefined): void {
    this.bgp = source;
  }

  async status(): Promise<NodeStatusReport> {
    const s = this.o.policy();
    const r = readinessReasons(s);
    const bgp = this.bgp?.identity();
    return {
      nodeName: this.o.nodeName,
      version: this.o.version,
      ...(this.o.addresses.ipv4 ? { ipv4Address: this.o.addresses.ipv4 } : {}),
      ...(this.o.addresses.ipv6 ? { ipv6Address: this.o.addresses.ipv6 } : {}),
      startedAt: this.startedAt,
      policy: {
        inSync: s.inSync,
        ready: r.length === 0,
        localEndpoints: s.localEndpoints,
        programmedEndpoints: s.programmedEndpoints,
        failing: s.dataplane.failing.map((f) => ({ key: f.key, attempts: f.attempts, error: f.error })),
        reasons: r,
      },
      ...(bgp ? { bgp } : {}),
    };
  }

  async peers(): Promise<NodePeerRow[]> {
    return this.bgp ? this.bgp.peers() : [];
  }

  async routes(q: NodeRouteQuery): Promise<NodeRouteRow[]> {
    return this.bgp ? this.bgp.routes(q) : [];
  }

  async verify(): Promise<NodeVerifyReport> {
    if (!this.o.verify) throw new TwillError('NodeVerifyUnavailable', 'this agent cannot compare its kernel with its desired state');
    return this.o.verify();
  }

  async denied(q: NodeDeniedQuery, onPacket: (p: NodeDeniedPacket) => void, signal: AbortSignal): Promise<void> {
    await this.o.denied?.denied(q, onPacket, signal);
  }
}

/** One row of `twillctl node status`; `peerType` comes from the configuration that made the peer. */
export function peerRow(p: PeerStatus, peerType: NodePeerType): NodePeerRow {
  const err = p.state !== 'Established' && p.lastError ? p.lastError : undefined;
  return {
    peerAddress: p.address,
    peerType,
    state: p.state,
    since: p.since,
    info: err ? `${p.state}: ${err}` : p.state,
    ...(p.lastError ? { lastError: p.lastError } : {}),
    asn: p.asn,
    prefixesReceived: p.receivedPrefixes,
    prefixesAccepted: p.acceptedPrefixes,
    prefixesAdvertised: p.advertisedPrefixes,
  };
}

/** A speaker route as an API row: table 'loc' (or 'in') → learned, table 'out' → advertised. */
export function routeRow(r: RouteView, direction: RouteDirection): NodeRouteRow {
  return {
    direction,
    prefix: r.prefix,
    family: r.family,
    nextHop: r.nextHop,
    ...(r.peer !== undefined ? { peer: r.peer } : {}),
    asPath: r.asPathText,
    origin: r.origin,
    ...(r.localPref !== undefined ? { localPref: r.localPref } : {}),
    ...(r.med !== undefined ? { med: r.med } : {}),
    communities: r.communities ?? [],
    best: direction === 'advertised' ? true : r.best,
    ...(r.reason !== undefined ? { reason: r.reason } : {}),
  };
}

/** What speakerApiSource needs from the speaker (bgp/agent's SpeakerWorker fits). */
export interface SpeakerView {
  peers(): Promise<PeerStatus[]>;
  routes(q: RouteQuery): Promise<RouteView[]>;
}

/**
 * The BGP side of the API over a speaker: peers typed by `typeOf` (from the configuration that
 * made each peer); learned routes = the Loc-RIB with every candidate path and its reason (no peer
 * = originated here); advertised = each Established peer's Adj-RIB-Out.
 */
export function speakerApiSource(
  speaker: SpeakerView,
  typeOf: (p: PeerStatus) => NodePeerType,
  identity: () => { asn: number; routerId: string } | undefined,
): BgpApiSource {
  return {
    identity,
    peers: async () => (await speaker.peers()).map((p) => peerRow(p, typeOf(p))),
    routes: async (q) => {
      const limit = q.limit ?? 1000;
      const base: Omit<RouteQuery, 'table'> = { limit, ...(q.family ? { family: q.family } : {}), ...(q.prefix ? { prefix: q.prefix } : {}) };
      const out: NodeRouteRow[] = [];
      const full = (): boolean => limit > 0 && out.length >= limit;
      if (q.direction !== 'advertised') {
        for (const r of await speaker.routes({ ...base, table: 'loc', all: true })) {
          if (!q.peer || r.peer === q.peer) out.push(routeRow(r, 'learned'));
        }
      }
      if (q.direction !== 'learned') {
        const peers = (await speaker.peers()).filter((p) => p.state === 'Established' && (!q.peer || p.address === q.peer));
        for (const p of peers) {
          if (full()) break;
          for (const r of await speaker.routes({ ...base, table: 'out', peer: p.address })) out.push(routeRow(r, 'advertised'));
        }
      }
      return limit > 0 ? out.slice(0, limit) : out;
    },
  };
}
