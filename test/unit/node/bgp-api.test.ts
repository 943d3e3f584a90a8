// What twill-node makes of the speaker's peer list: API rows (Calico's STATE and INFO) and
// Prometheus metrics (sessions by state, prefixes and UPDATEs per peer).
import { describe, expect, it } from 'vitest';
import type { PeerStatus, RouteView } from '../../../bgp/server/types.js';
import type { RouteQuery } from '../../../bgp/server/types.js';
import { TwillNodeApiBackend, peerRow, routeRow, speakerApiSource } from '../../../src/node/api-backend.js';
import { AgentMetrics } from '../../../src/node/metrics.js';

function peer(address: string, state: PeerStatus['state'], extra: Partial<PeerStatus> = {}): PeerStatus {
  const counters = { open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 };
  return {
    address,
    asn: 64512,
    type: 'ibgp',
    state,
    since: new Date('2026-01-01T00:00:00Z'),
    receivedPrefixes: 0,
    acceptedPrefixes: 0,
    advertisedPrefixes: 0,
    establishedCount: 0,
    flaps: 0,
    messages: { sent: { ...counters }, received: { ...counters } },
    ...extra,
  };
}

describe('peer rows', () => {
  it('carry the FSM state; INFO is the state, with the last error while not Established', () => {
    expect(peerRow(peer('10.0.0.2', 'Established', { receivedPrefixes: 3, acceptedPrefixes: 2, advertisedPrefixes: 1, lastError: 'old error' }), 'node-to-node mesh')).toMatchObject({
      peerAddress: '10.0.0.2',
      peerType: 'node-to-node mesh',
      state: 'Established',
      info: 'Established',
      prefixesReceived: 3,
      prefixesAccepted: 2,
      prefixesAdvertised: 1,
    });
    expect(peerRow(peer('10.0.0.3', 'Active', { lastError: 'connection refused' }), 'global')).toMatchObject({ state: 'Active', info: 'Active: connection refused', lastError: 'connection refused' });
    expect(peerRow(peer('10.0.0.4', 'Idle'), 'node specific')).toMatchObject({ state: 'Idle', info: 'Idle' });
  });

  it('routes keep the best-path reason; advertised ones are always best', () => {
    const v: RouteView = { prefix: '10.65.0.0/26', family: 4, nextHop: '10.0.0.2', asPath: [65001], asPathText: '65001', origin: 'igp', peer: '10.0.0.2', best: false, reason: 'higher MED (10 vs 5)' };
    expect(routeRow(v, 'learned')).toMatchObject({ direction: 'learned', asPath: '65001', best: false, reason: 'higher MED (10 vs 5)', communities: [] });
    expect(routeRow(v, 'advertised').best).toBe(true);
  });

  it('the backend has no peers or routes until BGP is plugged in', async () => {
    const policy = () => ({ inSync: true, localEndpoints: 1, programmedEndpoints: 1, dataplane: { inSync: true, ready: true, failing: [] }, lastApply: undefined, syncer: { status: 'in-sync' as const, detail: undefined }, badObjects: [] });
    const b = new TwillNodeApiBackend({ nodeName: 'n1', version: '1', addresses: { ipv4: '10.0.0.1/24', source: { ipv4: 'x', ipv6: 'none' } }, policy });
    expect(await b.peers()).toEqual([]);
    expect((await b.status()).bgp).toBeUndefined();
    const row = peerRow(peer('10.0.0.2', 'Established'), 'global');
    b.setBgp({ peers: async () => [row], routes: async () => [], identity: () => ({ asn: 64512, routerId: '10.0.0.1' }) });
    expect(await b.peers()).toEqual([row]);
    expect(await b.status()).toMatchObject({ nodeName: 'n1', ipv4Address: '10.0.0.1/24', policy: { ready: true }, bgp: { asn: 64512 } });
  });

  it('status says NOT ready, with /readiness reasons, while the datastore syncer is in error', async () => {
    const policy = () => ({ inSync: true, localEndpoints: 1, programmedEndpoints: 1, dataplane: { inSync: true, ready: true, failing: [] }, lastApply: undefined, syncer: { status: 'error' as const, detail: 'cannot reach the datastore' }, badObjects: [] });
    const b = new TwillNodeApiBackend({ nodeName: 'n1', version: '1', addresses: { ipv4: '10.0.0.1/24', source: { ipv4: 'x', ipv6: 'none' } }, policy });
    expect((await b.status()).policy).toMatchObject({ ready: false, reasons: ['datastore syncer: cannot reach the datastore'] });
  });
});

describe('the API over a speaker', () => {
  const route = (prefix: string, peer: string | undefined, best: boolean, reason?: string): RouteView => ({
    prefix,
    family: 4,
    nextHop: peer ?? '10.0.0.1',
    asPath: [],
    asPathText: '',
    origin: 'igp',
    ...(peer ? { peer } : {}),
    best,
    ...(reason ? { reason } : {}),
  });
  const queries: RouteQuery[] = [];
  const speaker = {
    peers: async () => [peer('10.0.0.2', 'Established'), peer('10.0.0.3', 'Established'), peer('10.0.0.9', 'Connect')],
    routes: async (q: RouteQuery) => {
      queries.push(q);
      if (q.table === 'loc') return [route('10.65.1.0/26', '10.0.0.2', true, 'lower router id (10.0.0.2 vs 10.0.0.3)'), route('10.65.1.0/26', '10.0.0.3', false, 'higher router id'), route('10.65.0.0/26', undefined, true)];
      return [route('10.65.0.0/26', q.peer, true)];
    },
  };
  const src = speakerApiSource(speaker, (p) => (p.address === '10.0.0.3' ? 'route reflector' : 'node-to-node mesh'), () => ({ asn: 64512, routerId: '10.0.0.1' }));

  it('types each peer by the configuration', async () => {
    expect((await src.peers()).map((p) => `${p.peerAddress} ${p.peerType} ${p.state}`)).toEqual(['10.0.0.2 node-to-node mesh Established', '10.0.0.3 route reflector Established', '10.0.0.9 node-to-node mesh Connect']);
  });

  it('learned = every Loc-RIB path with its reason; advertised = what each Established peer was sent', async () => {
    queries.length = 0;
    const all = await src.routes({});
    expect(all.map((r) => `${r.direction} ${r.prefix} ${r.peer ?? 'local'} ${r.best} ${r.reason ?? ''}`.trim())).toEqual([
      'learned 10.65.1.0/26 10.0.0.2 true lower router id (10.0.0.2 vs 10.0.0.3)',
      'learned 10.65.1.0/26 10.0.0.3 false higher router id',
      'learned 10.65.0.0/26 local true',
      'advertised 10.65.0.0/26 10.0.0.2 true',
      'advertised 10.65.0.0/26 10.0.0.3 true',
    ]);
    expect(queries).toEqual([
      { table: 'loc', all: true, limit: 1000 },
      { table: 'out', peer: '10.0.0.2', limit: 1000 },
      { table: 'out', peer: '10.0.0.3', limit: 1000 },
    ]);
    expect((await src.routes({ direction: 'learned', peer: '10.0.0.3' })).map((r) => r.peer)).toEqual(['10.0.0.3']);
    expect((await src.routes({ direction: 'advertised', peer: '10.0.0.3', family: 4 })).map((r) => r.peer)).toEqual(['10.0.0.3']);
    expect(await src.routes({ limit: 2 })).toHaveLength(2);
  });
});

describe('BGP metrics', () => {
  const value = async (m: AgentMetrics, name: string, labels: Record<string, string>): Promise<number | undefined> => {
    const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
    return metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
  };

  it('counts sessions by state, prefixes per peer, and UPDATEs as counters across polls', async () => {
    const m = new AgentMetrics();
    const a = peer('10.0.0.2', 'Established', { receivedPrefixes: 5, acceptedPrefixes: 4, advertisedPrefixes: 2 });
    a.messages.received.update = 7;
    a.messages.sent.update = 3;
    m.bgp.observePeers([a, peer('10.0.0.3', 'Active'), peer('10.0.0.4', 'Active')]);
    expect(await value(m, 'twill_bgp_sessions', { state: 'Established' })).toBe(1);
    expect(await value(m, 'twill_bgp_sessions', { state: 'Active' })).toBe(2);
    expect(await value(m, 'twill_bgp_sessions', { state: 'Idle' })).toBe(0);
    expect(await value(m, 'twill_bgp_prefixes_received', { peer: '10.0.0.2' })).toBe(5);
    expect(await value(m, 'twill_bgp_prefixes_accepted', { peer: '10.0.0.2' })).toBe(4);
    expect(await value(m, 'twill_bgp_prefixes_advertised', { peer: '10.0.0.2' })).toBe(2);
    expect(await value(m, 'twill_bgp_updates_received_total', { peer: '10.0.0.2' })).toBe(7);
    // Next poll: 3 more UPDATEs in; the session of 10.0.0.3 is gone, so are its series.
    a.messages.received.update = 10;
    m.bgp.observePeers([a, peer('10.0.0.4', 'Established')]);
    expect(await value(m, 'twill_bgp_updates_received_total', { peer: '10.0.0.2' })).toBe(10);
    expect(await value(m, 'twill_bgp_sessions', { state: 'Established' })).toBe(2);
    expect(await value(m, 'twill_bgp_sessions', { state: 'Active' })).toBe(0);
    expect(await value(m, 'twill_bgp_prefixes_received', { peer: '10.0.0.3' })).toBeUndefined();
    // The speaker's count starting again (a new session object) is counted, not subtracted.
    a.messages.received.update = 2;
    m.bgp.observePeers([a]);
    expect(await value(m, 'twill_bgp_updates_received_total', { peer: '10.0.0.2' })).toBe(12);
    expect(await m.registry.metrics()).toContain('twill_bgp_updates_sent_total{peer="10.0.0.2"} 3');
  });

  it('counts maxPrefixes crossings and refused prefixes per peer', async () => {
    const m = new AgentMetrics();
    const a = peer('10.0.0.2', 'Established', { receivedPrefixes: 100 });
    a.maxPrefixes = { action: 'stop', received: { ipv4: 100, ipv6: 0 }, exceeded: 1, refused: 20, over: ['ipv4'] };
    m.bgp.observePeers([a]);
    a.maxPrefixes = { ...a.maxPrefixes, exceeded: 2, refused: 25 };
    m.bgp.observePeers([a]);
    expect(await value(m, 'twill_bgp_max_prefixes_exceeded_total', { peer: '10.0.0.2' })).toBe(2);
    expect(await value(m, 'twill_bgp_prefixes_refused_total', { peer: '10.0.0.2' })).toBe(25);
  });
});
