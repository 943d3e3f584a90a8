import { describe, expect, it } from 'vitest';
import { formatDuration, formatEvent, formatPeers, formatRoutes, formatStatus } from '../../../../bgp/daemon/cli/format.js';
import { createLogger, prettyLine } from '../../../../src/lib/logger.js';
import { FakeBackend, peer, route } from './fakes.js';

const NOW = new Date('2026-01-01T01:02:03Z');

describe('client output', () => {
  it('durations read like gobgp neighbor', () => {
    expect(formatDuration(0)).toBe('00:00:00');
    expect(formatDuration(3_723_000)).toBe('01:02:03');
    expect(formatDuration(3 * 86_400_000 + 4 * 3_600_000 + 59_000)).toBe('3d04h');
    expect(formatDuration(-5)).toBe('00:00:00');
  });

  it('neighbours: one row per peer with state, uptime, counts and what went wrong', () => {
    const up = peer({ description: 'tor-1', holdTime: 90, capabilities: { families: ['ipv4', 'ipv6'], fourOctetAs: true, routeRefresh: true, enhancedRouteRefresh: false, gracefulRestart: false, addPath: { ipv4: { send: false, receive: false }, ipv6: { send: false, receive: false } }, extendedMessage: false } });
    const down = peer({ address: '2001:db8::2', asn: 4200000002, type: 'ibgp', state: 'Active', since: new Date('2026-01-01T01:02:00Z'), receivedPrefixes: 0, acceptedPrefixes: 0, advertisedPrefixes: 0, lastError: 'cannot connect: ECONNREFUSED' });
    expect(formatPeers([up, down], NOW)).toBe(
      [
        'PEER          AS           TYPE   STATE         SINCE      RCVD/ACPT/ADV   INFO',
        '198.18.0.2    65002        eBGP   Established   01:02:03   3/2/5           tor-1, hold 90s, ipv4+ipv6',
        '2001:db8::2   4200000002   iBGP   Active        00:00:03   0/0/0           cannot connect: ECONNREFUSED',
        '',
      ].join('\n'),
    );
    expect(formatPeers([], NOW)).toBe('No neighbours configured.\n');
  });

  it('routes: best marker, path attributes, where it came from; reasons on request', () => {
    const rs = [
      route(1, { communities: ['65000:1'], localPref: 100, med: 7 }),
      route(2, { best: false, peer: undefined, nextHop: 'self', asPath: [], asPathText: '', reason: 'lost on AS path length' }),
    ];
    const out = formatRoutes(rs, 'loc', { reasons: true }).split('\n');
    expect(out[0]).toBe('     PREFIX        NEXT HOP     AS PATH            ORIGIN   LOCPRF   MED   COMMUNITIES   FROM         REASON');
    expect(out[1]).toBe('*>   10.0.1.0/24   198.18.0.2   65002 4200000003   igp      100      7     65000:1       198.18.0.2');
    expect(out[2]).toBe('*    10.0.2.0/24   self         -                  igp                                   local        lost on AS path length');
    expect(formatRoutes(rs, 'loc')).not.toContain('REASON');
    expect(formatRoutes([], 'in')).toBe('No routes.\n');
  });

  it('status: identity, uptime, totals, kernel', () => {
    const s = formatStatus(new FakeBackend().status(), NOW);
    expect(s).toContain('Router ID:  192.0.2.1\n');
    expect(s).toContain('AS:         4200000001\n');
    expect(s).toContain('Uptime:     01:02:03 (since 2026-01-01T00:00:00.000Z, pid 1234)\n');
    expect(s).toContain('Neighbours: 1 of 1 Established\n');
    expect(s).toContain('Prefixes:   3 received, 2 accepted, 5 advertised, 1 originated\n');
    expect(s).toContain('Kernel:     installing: 2 routes (last error: route add 10.0.0.0/24: ENETUNREACH)\n');
  });

  it('events: one line each, NOTIFICATIONs with their meaning', () => {
    const time = new Date('2026-01-01T00:00:00Z');
    expect(formatEvent({ type: 'notification', peer: '198.18.0.2', direction: 'received', code: 6, subcode: 2, message: 'Cease / Administrative Shutdown', time })).toBe(
      '2026-01-01T00:00:00.000Z peer 198.18.0.2: NOTIFICATION received 6/2: Cease / Administrative Shutdown\n',
    );
    expect(formatEvent({ type: 'best-changed', changes: [{ prefix: '10.0.0.0/24', family: 4, reachable: false }], time })).toBe(
      '2026-01-01T00:00:00.000Z best 10.0.0.0/24: unreachable\n',
    );
  });
});

describe('logs', () => {
  it('are JSON lines, or short human lines when pretty', () => {
    const json: string[] = [];
    const pretty: string[] = [];
    createLogger({ pretty: false, destination: { write: (s: string) => void json.push(s) } }).warn({ peer: '198.18.0.2', code: 6 }, 'NOTIFICATION from 198.18.0.2: Cease / Administrative Shutdown');
    createLogger({ pretty: true, destination: { write: (s: string) => void pretty.push(s) } }).info({ peer: '198.18.0.2', reason: 'a b' }, 'session up');
    expect(JSON.parse(json[0]!)).toMatchObject({ level: 40, peer: '198.18.0.2', code: 6, msg: 'NOTIFICATION from 198.18.0.2: Cease / Administrative Shutdown' });
    expect(pretty[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  session up peer=198\.18\.0\.2 reason="a b"\n$/);
    expect(prettyLine('not json')).toBe('not json\n');
  });
});
