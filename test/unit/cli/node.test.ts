// `twillctl node status|routes` against a local API served with a fake backend, and with no
// agent at all.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSince } from '../../../src/cli/commands/node.js';
import { startNodeApiServer, type NodeApiServer } from '../../../src/nodeapi/index.js';
import { FAKE_DENIED, FAKE_PEERS, FAKE_ROUTES, FakeNodeBackend } from '../../support/node-api-fake.js';
import { makeCli, type Cli } from './harness.js';

describe('twillctl node', () => {
  let cli: Cli;
  let server: NodeApiServer;
  let sock: string;
  beforeAll(async () => {
    cli = makeCli();
    sock = join(cli.dir, 'host1.sock');
    server = await startNodeApiServer(sock, new FakeNodeBackend());
  });
  afterAll(async () => {
    await server.close();
    cli.cleanup();
  });

  it('status prints the readiness lines and Calico\'s peer table, IPv4 and IPv6', async () => {
    const r = await cli(['node', 'status', '--api-socket', sock]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const since = (i: number): string => formatSince(FAKE_PEERS[i]!.since, new Date());
    const lines = r.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'twill-node is running on node host1 (version 9.9.9, IPv4 198.18.0.10/24).',
      'Policy: NOT ready: dataplane writes keep failing (in sync with the datastore; 2 of 3 local endpoints programmed; 1 kernel write(s) failing: route 10.65.0.3/32 (3 attempts: ENODEV)).',
      'BGP: AS 64512, router id 198.18.0.10.',
    ]);
    // SINCE is a time of day for today, else the date: both have one width per run.
    const W = Math.max(5, since(0).length);
    expect(r.stdout).toContain(
      [
        'IPv4 BGP status',
        `PEER ADDRESS   PEER TYPE           STATE   ${'SINCE'.padEnd(W)}   INFO`,
        `198.18.0.11    node-to-node mesh   up      ${since(0).padEnd(W)}   Established`,
        `198.18.0.254   global              start   ${since(1).padEnd(W)}   Active: TCP MD5 signature mismatch`,
        '',
        'IPv6 BGP status',
      ].join('\n'),
    );
    expect(r.stdout).toMatch(/IPv6 BGP status\nPEER ADDRESS +PEER TYPE +STATE +SINCE +INFO\n2001:db8::11 +route reflector +up +\S+ +Established\n$/);
  });

  it('denied prints the recent denied packets with the policy and rule; -o json has every field', async () => {
    const r = await cli(['node', 'denied', '--api-socket', sock]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      'TIME                       DIRECTION   ENDPOINT    SOURCE            DESTINATION      PROTOCOL   POLICY                 RULE',
      '2026-01-01T10:01:00.000Z   ingress     default/b   10.65.0.1:40001   10.65.0.2:9090   tcp        np/default/server-in   1',
      '2026-01-01T10:01:01.000Z   egress      default/a   10.65.0.1         198.18.0.1       icmp       end-of-tier/default    -',
      '',
    ]);
    const j = await cli(['node', 'denied', '--api-socket', sock, '-o', 'json', '--limit', '1']);
    expect(j.code).toBe(0);
    expect(JSON.parse(j.stdout)).toEqual([{ ...FAKE_DENIED[1], time: '2026-01-01T10:01:01.000Z' }]);
  });

  it('status -o json gives the status and every peer', async () => {
    const r = await cli(['node', 'status', '--api-socket', sock, '-o', 'json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { status: { nodeName: string; policy: { ready: boolean } }; peers: { peerAddress: string; info: string; since: string }[] };
    expect(j.status).toMatchObject({ nodeName: 'host1', policy: { ready: false } });
    expect(j.peers.map((p) => p.peerAddress)).toEqual(FAKE_PEERS.map((p) => p.peerAddress));
    expect(j.peers[1]).toMatchObject({ state: 'Active', info: 'Active: TCP MD5 signature mismatch', since: '2026-01-01T10:00:07.000Z' });
  });

  it('routes lists learned and advertised routes with the reason the best path won', async () => {
    const r = await cli(['node', 'routes', '--api-socket', sock]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^DIRECTION\s+PREFIX\s+NEXT HOP\s+PEER\s+AS PATH\s+BEST\s+REASON$/);
    expect(lines).toHaveLength(1 + FAKE_ROUTES.length);
    expect(lines[2]).toMatch(/^learned\s+10\.65\.2\.0\/26\s+198\.18\.0\.12\s+198\.18\.0\.12\s+\(empty\)\s+yes\s+lower router id \(198\.18\.0\.12 vs 198\.18\.0\.13\)$/);
    expect(lines[3]).toMatch(/^advertised\s+10\.65\.0\.0\/26\s+198\.18\.0\.10\s+198\.18\.0\.11/);
    const adv = await cli(['node', 'routes', '--api-socket', sock, '--advertised', '-o', 'json']);
    expect(JSON.parse(adv.stdout)).toEqual(JSON.parse(JSON.stringify(FAKE_ROUTES.filter((x) => x.direction === 'advertised'))));
    const v6 = await cli(['node', 'routes', '--api-socket', sock, '--family', '6']);
    expect(v6.stdout).toMatch(/2001:db8:65::\/122\s+2001:db8::11\s+2001:db8::11\s+65001 65002\s+no\s+longer AS path/);
  });

  it('with no agent it says which socket it tried and how to start one, and exits 3 (unreachable)', async () => {
    const missing = join(cli.dir, 'nobody.sock');
    const r = await cli(['node', 'status', '--api-socket', missing]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`error: no twill-node agent answers on ${missing}`);
    expect(r.stderr).toMatch(/hint: start the agent on this host \(twill-node --node-name NAME --datastore URL\), or pick the node with --node NAME/);
    // --node picks /run/twill/<node>.sock.
    const byNode = await cli(['node', 'routes', '--node', 'no-such-node-here']);
    expect(byNode.code).toBe(3);
    expect(byNode.stderr).toContain('no twill-node agent answers on /run/twill/no-such-node-here.sock');
  });

  it('SINCE is the time of day for today, the date before that', () => {
    const now = new Date(2026, 5, 2, 14, 0, 0);
    expect(formatSince(new Date(2026, 5, 2, 9, 5, 7), now)).toBe('09:05:07');
    expect(formatSince(new Date(2026, 5, 1, 23, 59, 59), now)).toBe('2026-06-01');
  });
});
