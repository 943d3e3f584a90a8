// A NodeApiBackend with fixed answers, for the API and twillctl node tests.
import type { NodeApiBackend, NodeDeniedPacket, NodeDeniedQuery, NodePeerRow, NodeRouteQuery, NodeRouteRow, NodeStatusReport, NodeVerifyReport } from '../../src/nodeapi/types.js';

export const FAKE_STATUS: NodeStatusReport = {
  nodeName: 'host1',
  version: '9.9.9',
  ipv4Address: '198.18.0.10/24',
  startedAt: new Date('2026-01-01T10:00:00Z'),
  policy: { inSync: true, ready: false, localEndpoints: 3, programmedEndpoints: 2, failing: [{ key: 'route 10.65.0.3/32', attempts: 3, error: 'ENODEV' }], reasons: ['dataplane writes keep failing'] },
  bgp: { asn: 64512, routerId: '198.18.0.10' },
};

export const FAKE_PEERS: NodePeerRow[] = [
  {
    peerAddress: '198.18.0.11',
    peerType: 'node-to-node mesh',
    state: 'Established',
    since: new Date('2026-01-01T10:00:05Z'),
    info: 'Established',
    asn: 64512,
    prefixesReceived: 2,
    prefixesAccepted: 2,
    prefixesAdvertised: 1,
  },
  {
    peerAddress: '198.18.0.254',
    peerType: 'global',
    state: 'Active',
    since: new Date('2026-01-01T10:00:07Z'),
    info: 'Active: TCP MD5 signature mismatch',
    lastError: 'TCP MD5 signature mismatch',
    asn: 65001,
    prefixesReceived: 0,
    prefixesAccepted: 0,
    prefixesAdvertised: 0,
  },
  {
    peerAddress: '2001:db8::11',
    peerType: 'route reflector',
    state: 'Established',
    since: new Date('2026-01-01T10:00:09Z'),
    info: 'Established',
    asn: 64512,
    prefixesReceived: 0,
    prefixesAccepted: 0,
    prefixesAdvertised: 0,
  },
];

export const FAKE_ROUTES: NodeRouteRow[] = [
  { direction: 'learned', prefix: '10.65.1.0/26', family: 4, nextHop: '198.18.0.11', peer: '198.18.0.11', asPath: '', origin: 'igp', localPref: 100, communities: [], best: true, reason: 'only path' },
  { direction: 'learned', prefix: '10.65.2.0/26', family: 4, nextHop: '198.18.0.12', peer: '198.18.0.12', asPath: '', origin: 'igp', localPref: 100, communities: [], best: true, reason: 'lower router id (198.18.0.12 vs 198.18.0.13)' },
  { direction: 'advertised', prefix: '10.65.0.0/26', family: 4, nextHop: '198.18.0.10', peer: '198.18.0.11', asPath: '', origin: 'igp', med: 5, communities: ['64512:100'], best: true },
  { direction: 'learned', prefix: '2001:db8:65::/122', family: 6, nextHop: '2001:db8::11', peer: '2001:db8::11', asPath: '65001 65002', origin: 'incomplete', communities: [], best: false, reason: 'longer AS path (2 vs 1)' },
];

export const FAKE_VERIFY: NodeVerifyReport = {
  nodeName: 'host1',
  inSync: true,
  differences: [
    { kind: 'route', object: '10.65.0.2/32', expected: 'dev twb scope link', actual: 'absent' },
    { kind: 'ipset-member', object: 'tw4-0123456789abcdef0123 10.65.0.1', expected: 'member', actual: 'absent' },
    { kind: 'sysctl', object: 'net/ipv4/conf/twc/proxy_arp', expected: '1', actual: '0' },
    { kind: 'route', object: '10.65.0.3/32', expected: 'dev twc scope link', actual: 'deleted outside the agent (netlink event); put back', seenAt: new Date('2026-01-01T10:00:00Z') },
  ],
  checked: { routes: 4, chains: 16, ipsets: 3, ipsetMembers: 2, interfaces: 3, sysctls: 25, bgpSessions: 2, bgpRoutes: 1 },
  notes: [],
};

export const FAKE_DENIED: NodeDeniedPacket[] = [
  {
    time: new Date('2026-01-01T10:01:00Z'),
    id: 'twd:0123456789ab',
    src: '10.65.0.1',
    dst: '10.65.0.2',
    protocol: 'tcp',
    srcPort: 40001,
    dstPort: 9090,
    direction: 'ingress',
    policy: 'np/default/server-in',
    rule: 1,
    endpoint: 'default/b',
    interfaceName: 'tw0123456789a',
  },
  { time: new Date('2026-01-01T10:01:01Z'), id: 'twd:ba9876543210', src: '10.65.0.1', dst: '198.18.0.1', protocol: 'icmp', direction: 'egress', policy: 'end-of-tier/default', endpoint: 'default/a' },
];

/** Answers from the constants above; routes() honours the query and records it. */
export class FakeNodeBackend implements NodeApiBackend {
  queries: NodeRouteQuery[] = [];
  failStatus: Error | undefined;
  /** What verify() answers (default FAKE_VERIFY). */
  verifyReport: NodeVerifyReport = FAKE_VERIFY;

  async verify(): Promise<NodeVerifyReport> {
    return this.verifyReport;
  }

  async status(): Promise<NodeStatusReport> {
    if (this.failStatus) throw this.failStatus;
    return FAKE_STATUS;
  }

  async peers(): Promise<NodePeerRow[]> {
    return FAKE_PEERS;
  }

  /** The recent ones from FAKE_DENIED; with follow, then whatever push() sends until aborted. */
  async denied(q: NodeDeniedQuery, onPacket: (p: NodeDeniedPacket) => void, signal: AbortSignal): Promise<void> {
    const limit = q.limit ?? 100;
    for (const p of limit > 0 ? FAKE_DENIED.slice(-limit) : FAKE_DENIED) onPacket(p);
    if (!q.follow) return;
    await new Promise<void>((resolve) => {
      this.followers.add(onPacket);
      signal.addEventListener('abort', () => (this.followers.delete(onPacket), resolve()), { once: true });
    });
  }

  readonly followers = new Set<(p: NodeDeniedPacket) => void>();

  /** Sends a packet to every follower. */
  push(p: NodeDeniedPacket): void {
    for (const f of this.followers) f(p);
  }

  async routes(q: NodeRouteQuery): Promise<NodeRouteRow[]> {
    this.queries.push(q);
    return FAKE_ROUTES.filter(
      (r) => (!q.direction || r.direction === q.direction) && (!q.family || r.family === q.family) && (!q.prefix || r.prefix === q.prefix) && (!q.peer || r.peer === q.peer),
    );
  }
}
