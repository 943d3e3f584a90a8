// BgpSpeaker instances peering over loopback in one process (127.0.0.x addresses, free ports).
import { describe, expect, it } from 'vitest';
import { BgpSpeaker } from '../../../../bgp/server/speaker.js';
import type { BestChange } from '../../../../bgp/server/types.js';
import { ACCEPT, FAST, established, peer, route, state, until, trackedNodes } from './helpers.js';

const { make } = trackedNodes();

describe('BgpSpeaker over loopback', () => {
  it('exchanges IPv4 and IPv6 prefixes both ways through a transit AS, with AS paths, next hops and 4-octet ASes', async () => {
    const a = await make('127.0.1.1', 65001, { nextHop: { ipv6: '2001:db8:a::1' } });
    const b = await make('127.0.1.2', 65002, { nextHop: { ipv6: '2001:db8:b::1' } });
    const c = await make('127.0.1.3', 4200000003, { nextHop: { ipv6: '2001:db8:c::1' } });
    peer(a, 65001, b, 65002);
    peer(b, 65002, c, 4200000003);
    await established(a, b);
    await established(b, c);
    a.speaker.addPath({ prefix: '10.1.0.0/24' });
    a.speaker.addPath({ prefix: '2001:db8:1::/48' });
    c.speaker.addPath({ prefix: '10.3.0.0/24', communities: ['65000:42'] });
    c.speaker.addPath({ prefix: '2001:db8:3::/48' });

    const atC = await until(() => route(c, '10.1.0.0/24'), 'A\'s IPv4 route at C');
    expect(atC.asPath).toEqual([65002, 65001]);
    expect(atC.nextHop).toBe('127.0.1.2');
    expect(atC.peer).toBe('127.0.1.2');
    const v6atC = await until(() => route(c, '2001:db8:1::/48'), 'A\'s IPv6 route at C');
    expect(v6atC.asPath).toEqual([65002, 65001]);
    expect(v6atC.nextHop).toBe('2001:db8:b::1');

    const atA = await until(() => route(a, '10.3.0.0/24'), 'C\'s IPv4 route at A');
    expect(atA.asPath).toEqual([65002, 4200000003]);
    expect(atA.asPathText).toBe('65002 4200000003');
    expect(atA.nextHop).toBe('127.0.1.2');
    expect(atA.communities).toEqual(['65000:42']);
    const v6atA = await until(() => route(a, '2001:db8:3::/48'), 'C\'s IPv6 route at A');
    expect(v6atA.nextHop).toBe('2001:db8:b::1');

    // Both sessions negotiated what we advertise.
    const caps = b.speaker.listPeers().find((p) => p.address === '127.0.1.3')!.capabilities!;
    expect(caps.families).toEqual(['ipv4', 'ipv6']);
    expect(caps.fourOctetAs).toBe(true);
    expect(caps.routeRefresh).toBe(true);
    expect(caps.gracefulRestart).toBe(false);

    // Withdrawals propagate.
    a.speaker.deletePath('10.1.0.0/24');
    a.speaker.deletePath('2001:db8:1::/48');
    await until(() => !route(c, '10.1.0.0/24') && !route(c, '2001:db8:1::/48'), 'withdrawals at C');
    expect(route(b, '10.1.0.0/24')).toBeUndefined();
    const bToC = b.speaker.listPeers().find((p) => p.address === '127.0.1.3')!;
    expect(bToC.advertisedPrefixes).toBe(0);
    expect(bToC.acceptedPrefixes).toBe(2);
  });

  it('re-establishes after the peer restarts, and gets the routes back', async () => {
    const a = await make('127.0.2.1', 65001);
    let b = await make('127.0.2.2', 65002);
    peer(a, 65001, b, 65002);
    await established(a, b);
    b.speaker.addPath({ prefix: '10.20.0.0/16' });
    await until(() => route(a, '10.20.0.0/16'), 'route at A');
    const port = b.speaker.port!;
    await b.speaker.stop();
    await until(() => state(a, '127.0.2.2') !== 'Established', 'A to notice');
    const down = a.events.find((e) => e.type === 'notification' && e.direction === 'received');
    expect(down).toMatchObject({ code: 6, subcode: 2 });
    expect(down && 'message' in down && down.message).toContain('the BGP speaker is shutting down');
    await until(() => !route(a, '10.20.0.0/16'), 'route withdrawn at A');

    b = await make('127.0.2.2', 65002, {
      listen: { address: '127.0.2.2', port },
      neighbors: [{ address: '127.0.2.1', asn: 65001, port: a.speaker.port!, localAddress: '127.0.2.2', importPolicy: ACCEPT, exportPolicy: ACCEPT }],
      originate: [{ prefix: '10.20.0.0/16' }],
    });
    await established(a, b);
    await until(() => route(a, '10.20.0.0/16'), 'route back at A');
    const st = a.speaker.listPeers()[0]!;
    expect(st.establishedCount).toBe(2);
    expect(st.flaps).toBeGreaterThanOrEqual(1);
  });

  it('can be stopped and started again, keeping its own routes and forgetting the peers\' ones', async () => {
    const a = await make('127.0.8.1', 65001);
    const b = await make('127.0.8.2', 65002);
    peer(a, 65001, b, 65002);
    await established(a, b);
    a.speaker.addPath({ prefix: '10.30.0.0/16' });
    b.speaker.addPath({ prefix: '10.31.0.0/16' });
    await until(() => route(b, '10.30.0.0/16') && route(a, '10.31.0.0/16'), 'routes exchanged');
    await a.speaker.stop();
    await until(() => !route(b, '10.30.0.0/16'), 'A\'s route gone at B');
    b.speaker.deletePath('10.31.0.0/16');
    await a.speaker.start();
    await established(a, b);
    await until(() => route(b, '10.30.0.0/16'), 'A\'s route back at B');
    await b.speaker.idle();
    await a.speaker.idle();
    expect(route(a, '10.31.0.0/16')).toBeUndefined();
  });

  it('surfaces a NOTIFICATION from the peer with its meaning', async () => {
    const a = await make('127.0.3.1', 65001);
    const b = await make('127.0.3.2', 65002);
    peer(a, 65001, b, 65002);
    await established(a, b);
    await b.speaker.removeNeighbor('127.0.3.1');
    await until(() => state(a, '127.0.3.2') !== 'Established', 'A to notice');
    const n = a.events.find((e) => e.type === 'notification' && e.direction === 'received');
    expect(n).toMatchObject({ type: 'notification', peer: '127.0.3.2', code: 6, subcode: 3, message: expect.stringContaining('Peer De-configured') });
    expect(a.speaker.listPeers()[0]!.lastError).toContain('Cease / Peer De-configured');
    const sent = b.events.filter((e) => e.type === 'notification' && e.direction === 'sent' && e.subcode === 3);
    expect(sent).toHaveLength(1);
  });

  it('iBGP: routes carry LOCAL_PREF, keep their next hop, and are not passed on to other iBGP peers', async () => {
    const a = await make('127.0.4.1', 65000);
    const b = await make('127.0.4.2', 65000);
    const c = await make('127.0.4.3', 65000);
    peer(a, 65000, b, 65000, { importPolicy: undefined, exportPolicy: undefined }, { importPolicy: undefined, exportPolicy: undefined });
    peer(b, 65000, c, 65000, { importPolicy: undefined, exportPolicy: undefined }, { importPolicy: undefined, exportPolicy: undefined });
    await established(a, b);
    await established(b, c);
    a.speaker.addPath({ prefix: '10.4.0.0/16', localPref: 250 });
    c.speaker.addPath({ prefix: '10.5.0.0/16' });
    const r = await until(() => route(b, '10.4.0.0/16'), 'route at B');
    expect(r).toMatchObject({ asPath: [], localPref: 250, nextHop: '127.0.4.1' });
    expect((await until(() => route(b, '10.5.0.0/16'), 'C route at B')).localPref).toBe(100);
    await b.speaker.idle();
    await new Promise((res) => setTimeout(res, 200));
    expect(route(c, '10.4.0.0/16')).toBeUndefined();
    expect(route(a, '10.5.0.0/16')).toBeUndefined();
  });

  it('RFC 8212: an eBGP peer without policies exchanges nothing, and says why', async () => {
    const a = await make('127.0.5.1', 65001);
    const b = await make('127.0.5.2', 65002);
    peer(a, 65001, b, 65002, { importPolicy: undefined, exportPolicy: ACCEPT }, { importPolicy: ACCEPT, exportPolicy: ACCEPT });
    await established(a, b);
    b.speaker.addPath({ prefix: '10.6.0.0/16' });
    const inA = await until(() => a.speaker.listRoutes({ table: 'in', peer: '127.0.5.2' })[0], 'route in A\'s Adj-RIB-In');
    expect(inA.best).toBe(false);
    expect(inA.reason).toContain('RFC 8212');
    expect(route(a, '10.6.0.0/16')).toBeUndefined();
    // A new import policy applies without resetting the session.
    await a.speaker.updateConfig({
      routerId: '127.0.5.1',
      asn: 65001,
      listen: { address: '127.0.5.1', port: a.speaker.port! },
      holdTime: 9,
      ...FAST,
      neighbors: [{ address: '127.0.5.2', asn: 65002, port: b.speaker.port!, localAddress: '127.0.5.1', importPolicy: ACCEPT, exportPolicy: ACCEPT }],
    });
    await until(() => route(a, '10.6.0.0/16'), 'route accepted after the policy change');
    expect(a.speaker.listPeers()[0]!.establishedCount).toBe(1);
  });

  it('applies export policy and timer changes without resetting the session; a changed peer AS resets it', async () => {
    const a = await make('127.0.7.1', 65001);
    const b = await make('127.0.7.2', 65002);
    peer(a, 65001, b, 65002);
    await established(a, b);
    a.speaker.addPath({ prefix: '10.8.0.0/16' });
    a.speaker.addPath({ prefix: '10.9.0.0/16' });
    await until(() => route(b, '10.8.0.0/16') && route(b, '10.9.0.0/16'), 'both routes at B');
    const cfg = (exportRules: { prefix: string; action: 'accept' | 'reject' }[], holdTime = 9, asn = 65002) => ({
      routerId: '127.0.7.1',
      asn: 65001,
      listen: { address: '127.0.7.1', port: a.speaker.port! },
      holdTime,
      ...FAST,
      neighbors: [{ address: '127.0.7.2', asn, port: b.speaker.port!, localAddress: '127.0.7.1', importPolicy: ACCEPT, exportPolicy: { default: 'reject' as const, rules: exportRules } }],
    });
    await a.speaker.updateConfig(cfg([{ prefix: '10.8.0.0/16', action: 'accept' }]));
    await until(() => !route(b, '10.9.0.0/16'), '10.9.0.0/16 withdrawn at B');
    expect(route(b, '10.8.0.0/16')).toBeDefined();
    await a.speaker.updateConfig(cfg([{ prefix: '10.8.0.0/16', action: 'accept' }], 30));
    await a.speaker.idle();
    expect(a.speaker.listPeers()[0]).toMatchObject({ state: 'Established', establishedCount: 1, advertisedPrefixes: 1 });
    expect(b.speaker.listPeers()[0]!.establishedCount).toBe(1);
    // A different peer AS: the session is reset (and now fails the OPEN check).
    await a.speaker.updateConfig(cfg([], 9, 65099));
    await until(() => a.events.some((e) => e.type === 'notification' && e.direction === 'sent' && e.code === 6 && e.subcode === 6), 'CEASE / Other Configuration Change');
    await until(() => a.speaker.listPeers()[0]!.lastError?.includes('AS 65002') === true, 'Bad Peer AS after the change');
  });

  it('reports best-path changes for kernel sync, and explains the decision', async () => {
    const a = await make('127.0.6.1', 65001);
    const b = await make('127.0.6.2', 65002);
    const c = await make('127.0.6.3', 65003);
    peer(a, 65001, b, 65002);
    peer(a, 65001, c, 65003);
    await established(a, b);
    await established(a, c);
    const changes: BestChange[] = [];
    a.speaker.onBestChanged((cs) => changes.push(...cs));
    b.speaker.addPath({ prefix: '10.7.0.0/16', med: 5 });
    c.speaker.addPath({ prefix: '10.7.0.0/16' });
    await until(() => a.speaker.listRoutes({ table: 'loc', prefix: '10.7.0.0/16', all: true }).length === 2, 'both paths at A');
    const [best, other] = a.speaker.listRoutes({ table: 'loc', prefix: '10.7.0.0/16', all: true });
    // Same length, same origin, MED not comparable across ASes: the lower router id wins.
    expect(best).toMatchObject({ peer: '127.0.6.2', best: true });
    expect(best!.reason).toContain('lower router id (127.0.6.2 vs 127.0.6.3)');
    expect(other).toMatchObject({ peer: '127.0.6.3', best: false });
    expect(other!.reason).toContain('lost to the path from 127.0.6.2');
    expect(changes.some((ch) => ch.prefix === '10.7.0.0/16' && ch.reachable && ch.nextHop === '127.0.6.2')).toBe(true);
    b.speaker.deletePath('10.7.0.0/16');
    await until(() => changes.some((ch) => ch.prefix === '10.7.0.0/16' && ch.nextHop === '127.0.6.3'), 'fallback to C');
    c.speaker.deletePath('10.7.0.0/16');
    await until(() => changes.some((ch) => ch.prefix === '10.7.0.0/16' && !ch.reachable), 'unreachable');
  });

  it('rejects a configuration with a clear message', () => {
    expect(() => new BgpSpeaker({ routerId: 'x', asn: 1, neighbors: [] })).toThrow(/routerId "x"/);
    expect(() => new BgpSpeaker({ routerId: '1.1.1.1', asn: 1, holdTime: 2, neighbors: [] })).toThrow(/holdTime 2 is not allowed/);
    expect(
      () =>
        new BgpSpeaker({
          routerId: '1.1.1.1',
          asn: 1,
          neighbors: [{ address: '10.0.0.1', asn: 2, importPolicy: { default: 'accept', rules: [{ prefix: '10.0.0.0/8', ge: 4, action: 'accept' }] } }],
        }),
    ).toThrow(/import policy of neighbour 10.0.0.1 rule 1/);
  });
});
