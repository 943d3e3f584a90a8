// BGP peering features over loopback: route reflection, ECMP next hops, graceful restart (helper and
// restarting roles), maximum prefixes, ADD-PATH receive, enhanced route refresh.
import { describe, expect, it } from 'vitest';
import type { BestChange } from '../../../../bgp/server/types.js';
import { FAST, established, peer, route, state, until, trackedNodes } from './helpers.js';

const { running, make } = trackedNodes();

describe('route reflection (RFC 4456)', () => {
  it('reflects client routes to clients and non-clients with ORIGINATOR_ID and CLUSTER_LIST; non-client routes only to clients', async () => {
    const AS = 65100;
    const rr = await make('127.0.30.1', AS, { clusterId: '10.9.9.9' });
    const c1 = await make('127.0.30.2', AS);
    const c2 = await make('127.0.30.3', AS);
    const nc1 = await make('127.0.30.4', AS);
    const nc2 = await make('127.0.30.5', AS);
    peer(rr, AS, c1, AS, { routeReflectorClient: true });
    peer(rr, AS, c2, AS, { routeReflectorClient: true });
    peer(rr, AS, nc1, AS);
    peer(rr, AS, nc2, AS);
    await Promise.all([established(rr, c1), established(rr, c2), established(rr, nc1), established(rr, nc2)]);
    c1.speaker.addPath({ prefix: '10.31.0.0/24' });
    nc1.speaker.addPath({ prefix: '10.32.0.0/24' });

    // Client route → other client and non-clients, with ORIGINATOR_ID = c1 and CLUSTER_LIST = [cluster id].
    for (const n of [c2, nc1, nc2]) {
      const r = await until(() => route(n, '10.31.0.0/24'), `c1's route at ${n.address}`);
      expect(r.originatorId).toBe('127.0.30.2');
      expect(r.clusterList).toEqual(['10.9.9.9']);
      expect(r.nextHop).toBe('127.0.30.2');
      expect(r.peer).toBe('127.0.30.1');
    }
    // Non-client route → clients only.
    const atC1 = await until(() => route(c1, '10.32.0.0/24'), "nc1's route at c1");
    expect(atC1.originatorId).toBe('127.0.30.4');
    await until(() => route(c2, '10.32.0.0/24'), "nc1's route at c2");
    await rr.speaker.idle();
    expect(route(nc2, '10.32.0.0/24')).toBeUndefined();
    const why = rr.speaker.listRoutes({ table: 'loc', prefix: '10.32.0.0/24' });
    expect(why).toHaveLength(1);
    // The originator does not get its own route back.
    expect(route(c1, '10.31.0.0/24')?.peer).toBeUndefined();
  });

  it('drops routes whose CLUSTER_LIST holds our cluster id or whose ORIGINATOR_ID is us (redundant reflectors do not loop)', async () => {
    const AS = 65101;
    // Two reflectors with one cluster id, both peering with one client and with each other.
    const rr1 = await make('127.0.31.1', AS, { clusterId: '10.8.8.8' });
    const rr2 = await make('127.0.31.2', AS, { clusterId: '10.8.8.8' });
    const c = await make('127.0.31.3', AS);
    const nc = await make('127.0.31.4', AS);
    peer(rr1, AS, c, AS, { routeReflectorClient: true });
    peer(rr2, AS, c, AS, { routeReflectorClient: true });
    peer(rr1, AS, rr2, AS);
    peer(rr1, AS, nc, AS);
    await Promise.all([established(rr1, c), established(rr2, c), established(rr1, rr2), established(rr1, nc)]);
    c.speaker.addPath({ prefix: '10.33.0.0/24' });
    await until(() => route(nc, '10.33.0.0/24'), 'reflected route at the non-client');
    await until(() => route(rr2, '10.33.0.0/24'), 'route at rr2');
    await Promise.all([rr1.speaker.idle(), rr2.speaker.idle()]);
    // rr2 got the route from c directly and from rr1 (reflected, CLUSTER_LIST has 10.8.8.8): the latter is rejected.
    const fromRr1 = rr2.speaker.listRoutes({ table: 'in', peer: '127.0.31.1', prefix: '10.33.0.0/24' });
    expect(fromRr1).toHaveLength(1);
    expect(fromRr1[0]!.best).toBe(false);
    expect(fromRr1[0]!.reason).toContain('CLUSTER_LIST contains our cluster id');
    const locAll = rr2.speaker.listRoutes({ table: 'loc', prefix: '10.33.0.0/24', all: true });
    expect(locAll).toHaveLength(1);
    expect(locAll[0]!.peer).toBe('127.0.31.3');
    // The client itself drops the copies reflected back with its own ORIGINATOR_ID.
    const back = c.speaker.listRoutes({ table: 'in', peer: '127.0.31.1', prefix: '10.33.0.0/24' });
    for (const r of back) expect(r.best).toBe(false);
  });
});

describe('ECMP (maxPaths)', () => {
  it('gives the equal paths (up to the router id) as next hops, at most maxPaths, and fewer when paths go', async () => {
    const x = await make('127.0.32.1', 65200, { maxPaths: 2 });
    const a = await make('127.0.32.2', 65201);
    const b = await make('127.0.32.3', 65202);
    const c = await make('127.0.32.4', 65203);
    peer(x, 65200, a, 65201);
    peer(x, 65200, b, 65202);
    peer(x, 65200, c, 65203);
    await Promise.all([established(x, a), established(x, b), established(x, c)]);
    const changes: BestChange[] = [];
    x.speaker.onBestChanged((cs) => changes.push(...cs.filter((q) => q.prefix === '10.40.0.0/24')));
    const hops = (): string[] => (changes[changes.length - 1]?.nextHops ?? []).map((h) => h.address).sort();
    a.speaker.addPath({ prefix: '10.40.0.0/24' });
    await until(() => hops().length === 1, 'one next hop');
    b.speaker.addPath({ prefix: '10.40.0.0/24' });
    await until(() => hops().length === 2, 'two next hops');
    expect(hops()).toEqual(['127.0.32.2', '127.0.32.3']);
    c.speaker.addPath({ prefix: '10.40.0.0/24' });
    await x.speaker.idle();
    // maxPaths 2: the best (lowest router id) and the next one.
    expect(hops()).toEqual(['127.0.32.2', '127.0.32.3']);
    const loc = x.speaker.listRoutes({ table: 'loc', prefix: '10.40.0.0/24', all: true });
    expect(loc.filter((r) => r.multipath).map((r) => r.peer).sort()).toEqual(['127.0.32.2', '127.0.32.3']);
    a.speaker.deletePath('10.40.0.0/24');
    await until(() => hops().join() === '127.0.32.3,127.0.32.4', 'b and c after a withdrew');
    b.speaker.deletePath('10.40.0.0/24');
    await until(() => hops().join() === '127.0.32.4', 'only c');
    expect(changes[changes.length - 1]!.nextHop).toBe('127.0.32.4');
  });

  it('maxPaths 1 gives one next hop', async () => {
    const x = await make('127.0.33.1', 65200);
    const a = await make('127.0.33.2', 65201);
    const b = await make('127.0.33.3', 65202);
    peer(x, 65200, a, 65201);
    peer(x, 65200, b, 65202);
    await Promise.all([established(x, a), established(x, b)]);
    const changes: BestChange[] = [];
    x.speaker.onBestChanged((cs) => changes.push(...cs));
    a.speaker.addPath({ prefix: '10.41.0.0/24' });
    b.speaker.addPath({ prefix: '10.41.0.0/24' });
    await until(() => x.speaker.listRoutes({ table: 'loc', prefix: '10.41.0.0/24', all: true }).length === 2, 'both paths');
    await x.speaker.idle();
    expect(changes[changes.length - 1]!.nextHops.map((h) => h.address)).toEqual(['127.0.33.2']);
  });
});

describe('graceful restart (RFC 4724)', () => {
  const GR = { gracefulRestart: { enabled: true, restartTime: 30 } } as const;

  it('keeps a restarting peer\'s routes stale until its End-of-RIB, then drops what it did not send again', async () => {
    const x = await make('127.0.34.1', 65300, GR);
    let y = await make('127.0.34.2', 65301, GR);
    peer(x, 65300, y, 65301);
    await established(x, y);
    y.speaker.addPath({ prefix: '10.50.0.0/24' });
    y.speaker.addPath({ prefix: '10.51.0.0/24' });
    await until(() => route(x, '10.50.0.0/24') && route(x, '10.51.0.0/24'), 'routes at x');
    expect(x.speaker.listPeers()[0]!.capabilities!.gracefulRestart).toBe(true);
    const withdrawn: string[] = [];
    x.speaker.onBestChanged((cs) => withdrawn.push(...cs.filter((c) => !c.reachable).map((c) => c.prefix)));
    const port = y.speaker.port!;
    // y restarts: sessions closed without CEASE.
    await y.speaker.stop({ graceful: true });
    running.splice(running.indexOf(y), 1);
    await until(() => state(x, '127.0.34.2') !== 'Established', 'x notices');
    expect(x.events.some((e) => e.type === 'notification' && e.direction === 'received')).toBe(false);
    await x.speaker.idle();
    const stale = route(x, '10.50.0.0/24');
    expect(stale?.stale).toBe(true);
    expect(x.speaker.listPeers()[0]!.staleRoutes).toBe(true);
    expect(withdrawn).toEqual([]);

    y = await make('127.0.34.2', 65301, { ...GR, listen: { address: '127.0.34.2', port } });
    y.speaker.addNeighbor({ address: '127.0.34.1', asn: 65300, port: x.speaker.port!, localAddress: '127.0.34.2', importPolicy: { default: 'accept', rules: [] }, exportPolicy: { default: 'accept', rules: [] } });
    y.speaker.addPath({ prefix: '10.50.0.0/24' });
    await established(x, y);
    await until(() => x.speaker.listPeers()[0]!.endOfRibReceived, 'End-of-RIB from y');
    await x.speaker.idle();
    expect(route(x, '10.50.0.0/24')?.stale).toBeUndefined();
    expect(route(x, '10.51.0.0/24')).toBeUndefined();
    expect(withdrawn).toEqual(['10.51.0.0/24']);
    expect(x.speaker.listPeers()[0]!.staleRoutes).toBeUndefined();
  });

  it('drops the stale routes when the peer does not come back within its restart time', async () => {
    const x = await make('127.0.35.1', 65300, GR);
    const y = await make('127.0.35.2', 65301, { gracefulRestart: { enabled: true, restartTime: 1 } });
    peer(x, 65300, y, 65301);
    await established(x, y);
    y.speaker.addPath({ prefix: '10.52.0.0/24' });
    await until(() => route(x, '10.52.0.0/24'), 'route at x');
    await y.speaker.stop({ graceful: true });
    running.splice(running.indexOf(y), 1);
    await until(() => route(x, '10.52.0.0/24')?.stale, 'stale route');
    await until(() => !route(x, '10.52.0.0/24'), 'stale route removed after the restart time', 5000);
  });

  it('flushes at once when the peer ends the session with a NOTIFICATION (no graceful restart then)', async () => {
    const x = await make('127.0.36.1', 65300, GR);
    const y = await make('127.0.36.2', 65301, GR);
    peer(x, 65300, y, 65301);
    await established(x, y);
    y.speaker.addPath({ prefix: '10.53.0.0/24' });
    await until(() => route(x, '10.53.0.0/24'), 'route at x');
    await y.speaker.stop();
    running.splice(running.indexOf(y), 1);
    await until(() => !route(x, '10.53.0.0/24'), 'route withdrawn');
  });

  it('restarting role: the OPEN carries the Restart State bit, and the neighbour opt-out disables the capability', async () => {
    const x = await make('127.0.37.1', 65300, GR);
    const { BgpSpeaker } = await import('../../../../bgp/server/speaker.js');
    const y = new BgpSpeaker({ routerId: '127.0.37.2', asn: 65301, listen: { address: '127.0.37.2', port: 0 }, holdTime: 9, ...FAST, ...GR, neighbors: [] }, { restarting: true });
    await y.start();
    running.push({ speaker: y, address: '127.0.37.2', events: [] });
    const z = await make('127.0.37.3', 65302, GR);
    peer(x, 65300, { speaker: y, address: '127.0.37.2', events: [] }, 65301);
    peer(x, 65300, z, 65302, {}, { gracefulRestart: false });
    await until(() => x.speaker.listPeers().every((p) => p.state === 'Established'), 'sessions up');
    const caps = Object.fromEntries(x.speaker.listPeers().map((p) => [p.address, p.capabilities!]));
    expect(caps['127.0.37.2']!.gracefulRestart).toBe(true);
    expect(caps['127.0.37.2']!.peerRestarting).toBe(true);
    expect(caps['127.0.37.3']!.gracefulRestart).toBe(false);
  });
});

describe('maxPrefixes (RFC 4486)', () => {
  it('stops the session with CEASE 6/1 when the peer sends more, says so in lastError, and restarts after restartAfter', async () => {
    const x = await make('127.0.38.1', 65400);
    const y = await make('127.0.38.2', 65401);
    peer(x, 65400, y, 65401, { maxPrefixes: { limit: 2, restartAfter: 0.3 } });
    await established(x, y);
    y.speaker.addPath({ prefix: '10.60.0.0/24' });
    y.speaker.addPath({ prefix: '10.60.1.0/24' });
    await until(() => route(x, '10.60.1.0/24'), 'two routes');
    y.speaker.addPath({ prefix: '10.60.2.0/24' });
    // (Collision resolution may have sent a CEASE 6/7 while the session came up.)
    const sent = await until(() => x.events.find((e) => e.type === 'notification' && e.direction === 'sent' && e.subcode !== 7), 'CEASE sent');
    expect(sent).toMatchObject({ code: 6, subcode: 1 });
    const got = await until(() => y.events.find((e) => e.type === 'notification' && e.direction === 'received' && e.subcode !== 7), 'CEASE received');
    expect(got).toMatchObject({ code: 6, subcode: 1 });
    expect(got.type === 'notification' && got.message).toMatch(/Maximum Number of Prefixes/i);
    await until(() => x.speaker.listPeers()[0]!.state !== 'Established', 'session down');
    expect(x.speaker.listPeers()[0]!.lastError).toContain('maximum prefixes 2 exceeded');
    await until(() => !route(x, '10.60.0.0/24'), 'routes flushed');
    // restartAfter: it comes back (and is stopped again, the peer still sends 3).
    await until(() => x.speaker.listPeers()[0]!.establishedCount >= 2, 'restarted');
  });

  it('per family, action stop: the session stays, new prefixes of that family are refused at the limit, accepted again once under it', async () => {
    const x = await make('127.0.38.3', 65402);
    const y = await make('127.0.38.4', 65403);
    peer(x, 65402, y, 65403, { maxPrefixes: { ipv4: 2, action: 'stop' } }, { families: ['ipv4', 'ipv6'] });
    await established(x, y);
    for (const p of ['10.61.0.0/24', '10.61.1.0/24', '10.61.2.0/24', '10.61.3.0/24']) y.speaker.addPath({ prefix: p });
    const ev = await until(() => x.events.find((e) => e.type === 'max-prefixes'), 'the limit reported');
    expect(ev).toMatchObject({ scope: 'ipv4', limit: 2, action: 'stop' });
    await until(() => x.speaker.listPeers()[0]!.maxPrefixes?.refused === 2, 'two prefixes refused');
    const st = x.speaker.listPeers()[0]!;
    expect(st.state).toBe('Established');
    expect(st.receivedPrefixes).toBe(2);
    expect(st.maxPrefixes).toMatchObject({ action: 'stop', received: { ipv4: 2, ipv6: 0 }, exceeded: 1, over: ['ipv4'] });
    expect(x.events.filter((e) => e.type === 'notification' && e.direction === 'sent' && e.subcode !== 7)).toEqual([]);
    // One withdrawn: under the limit again, so a new one is accepted.
    const kept = ['10.61.0.0/24', '10.61.1.0/24', '10.61.2.0/24', '10.61.3.0/24'].filter((p) => route(x, p));
    y.speaker.deletePath(kept[0]!);
    await until(() => x.speaker.listPeers()[0]!.maxPrefixes?.over.length === 0, 'under the limit');
    y.speaker.addPath({ prefix: '10.61.9.0/24' });
    await until(() => route(x, '10.61.9.0/24'), 'a new prefix accepted again');
    expect(x.speaker.listPeers()[0]!.receivedPrefixes).toBe(2);
  });

  it('action warn: everything is kept, the crossing is reported once', async () => {
    const x = await make('127.0.38.5', 65404);
    const y = await make('127.0.38.6', 65405);
    peer(x, 65404, y, 65405, { maxPrefixes: { limit: 1, action: 'warn' } });
    await established(x, y);
    for (const p of ['10.62.0.0/24', '10.62.1.0/24', '10.62.2.0/24']) y.speaker.addPath({ prefix: p });
    await until(() => route(x, '10.62.2.0/24') && route(x, '10.62.0.0/24') && route(x, '10.62.1.0/24'), 'all three routes');
    const st = x.speaker.listPeers()[0]!;
    expect(st.state).toBe('Established');
    expect(st.maxPrefixes).toMatchObject({ action: 'warn', exceeded: 1, refused: 0, over: ['total'] });
    expect(x.events.filter((e) => e.type === 'max-prefixes')).toHaveLength(1);
  });
});
