// Test doubles for the daemon: an ApiBackend with scripted peers, routes and events.
import type { ApiBackend } from '../../../../bgp/daemon/api/server.js';
import type { DaemonStatus } from '../../../../bgp/daemon/api/convert.js';
import type { BestChange, LocalPath, PeerStatus, RouteQuery, RouteView, SpeakerEvent } from '../../../../bgp/server/types.js';
import { TwillError } from '../../../../src/errors.js';

export function peer(over: Partial<PeerStatus> = {}): PeerStatus {
  const zero = { open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 };
  return {
    address: '198.18.0.2',
    asn: 65002,
    type: 'ebgp',
    state: 'Established',
    since: new Date('2026-01-01T00:00:00Z'),
    receivedPrefixes: 3,
    acceptedPrefixes: 2,
    advertisedPrefixes: 5,
    establishedCount: 1,
    flaps: 0,
    messages: { sent: { ...zero, open: 1 }, received: { ...zero, open: 1, update: 4 } },
    ...over,
  };
}

export function route(i: number, over: Partial<RouteView> = {}): RouteView {
  return {
    prefix: `10.${(i >> 8) & 255}.${i & 255}.0/24`,
    family: 4,
    nextHop: '198.18.0.2',
    asPath: [65002, 4200000003],
    asPathText: '65002 4200000003',
    origin: 'igp',
    peer: '198.18.0.2',
    best: true,
    ...over,
  };
}

export class FakeBackend implements ApiBackend {
  peers: PeerStatus[] = [peer()];
  routes: RouteView[] = [route(1)];
  queries: RouteQuery[] = [];
  added: LocalPath[] = [];
  originated = new Set<string>(['10.9.0.0/24']);
  private listeners = new Set<(e: SpeakerEvent) => void>();
  private bestListeners = new Set<(c: BestChange[]) => void>();

  status(): DaemonStatus {
    return {
      version: '9.9.9',
      routerId: '192.0.2.1',
      asn: 4200000001,
      listen: '*:179',
      started: new Date('2026-01-01T00:00:00Z'),
      pid: 1234,
      peersConfigured: this.peers.length,
      peersEstablished: this.peers.filter((p) => p.state === 'Established').length,
      prefixesReceived: 3,
      prefixesAccepted: 2,
      prefixesAdvertised: 5,
      originated: this.originated.size,
      kernel: { install: true, routes: 2, error: 'route add 10.0.0.0/24: ENETUNREACH' },
      configFile: '/etc/twill/bgp.yaml',
    };
  }
  listPeers(): PeerStatus[] {
    return this.peers;
  }
  listRoutes(q: RouteQuery): RouteView[] {
    this.queries.push(q);
    if (q.peer === '203.0.113.9') throw new TwillError('BgpUnknownPeer', 'neighbour 203.0.113.9 is not configured');
    const limit = q.limit ?? 1000;
    return limit > 0 ? this.routes.slice(0, limit) : this.routes;
  }
  subscribe(fn: (e: SpeakerEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  onBestChanged(fn: (c: BestChange[]) => void): () => void {
    this.bestListeners.add(fn);
    return () => this.bestListeners.delete(fn);
  }
  get subscribers(): number {
    return this.listeners.size + this.bestListeners.size;
  }
  emitBest(changes: BestChange[]): void {
    for (const l of this.bestListeners) l(changes);
  }
  emit(e: SpeakerEvent): void {
    for (const l of this.listeners) l(e);
  }
  addPath(p: LocalPath): void {
    if (!p.prefix.includes('/')) throw new TwillError('BgpConfigInvalid', `path ${p.prefix} prefix "${p.prefix}" is not a prefix`);
    this.added.push(p);
    this.originated.add(p.prefix);
  }
  deletePath(prefix: string): boolean {
    return this.originated.delete(prefix);
  }
}

export function bestChange(prefix: string, nextHop: string | undefined, peerAddr: string | undefined): BestChange {
  const reachable = nextHop !== undefined;
  return {
    prefix,
    family: prefix.includes(':') ? 6 : 4,
    reachable,
    nextHop,
    nextHops: reachable && nextHop !== undefined ? [{ address: nextHop, peer: peerAddr ?? '' }] : [],
    peer: reachable ? peerAddr : undefined,
    route: () => (reachable ? route(0, { prefix, nextHop: nextHop!, ...(peerAddr ? { peer: peerAddr } : {}) }) : undefined),
  };
}
