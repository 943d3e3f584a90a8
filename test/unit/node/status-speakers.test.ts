// `twillctl node status|routes` end to end over real BGP: three speakers peering on loopback
// (127.0.77.0/24), one more neighbour nobody answers for, the API served from speaker A through
// speakerApiSource and TwillNodeApiBackend, and twillctl reading it over the unix socket.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PeerStatus } from '../../../bgp/server/types.js';
import { TwillNodeApiBackend, speakerApiSource } from '../../../src/node/api-backend.js';
import { startNodeApiServer, type NodeApiServer, type NodePeerType } from '../../../src/nodeapi/index.js';
import { makeCli, type Cli } from '../cli/harness.js';
import { ACCEPT, established, node, peer, until, type Node } from '../bgp/server/helpers.js';

const AS = 64512;

describe('twillctl node status over real BGP sessions', () => {
  let a: Node;
  let b: Node;
  let c: Node;
  let server: NodeApiServer;
  let cli: Cli;
  let sock: string;

  beforeAll(async () => {
    a = await node('127.0.77.1', AS);
    b = await node('127.0.77.2', AS);
    c = await node('127.0.77.3', AS);
    peer(a, AS, b, AS);
    peer(a, AS, c, AS);
    // A neighbour that never answers (nothing listens on 127.0.77.9).
    a.speaker.addNeighbor({ address: '127.0.77.9', asn: 65009, port: 1, localAddress: a.address, importPolicy: ACCEPT, exportPolicy: ACCEPT });
    await established(a, b);
    await established(a, c);
    // B and C both originate one block: A's best path is chosen by router id.
    b.speaker.addPath({ prefix: '10.65.9.0/26' });
    c.speaker.addPath({ prefix: '10.65.9.0/26' });
    a.speaker.addPath({ prefix: '10.65.0.0/26' });
    await until(() => a.speaker.listRoutes({ table: 'loc', prefix: '10.65.9.0/26', all: true }).length === 2, 'A has both paths');
    await until(() => b.speaker.listRoutes({ table: 'loc', prefix: '10.65.0.0/26' }).length === 1 && c.speaker.listRoutes({ table: 'loc', prefix: '10.65.0.0/26' }).length === 1, 'B and C have A\'s block');
    await until(() => a.speaker.listPeers().find((p) => p.address === '127.0.77.9')?.lastError, 'the unreachable neighbour has an error');
    const typeOf = (p: PeerStatus): NodePeerType => (p.address === '127.0.77.9' ? 'global' : 'node-to-node mesh');
    const backend = new TwillNodeApiBackend({
      nodeName: 'nodeA',
      version: '0.0.0-test',
      addresses: { ipv4: '127.0.77.1/24', source: { ipv4: '--node-ip', ipv6: 'none' } },
      policy: () => ({ inSync: true, localEndpoints: 0, programmedEndpoints: 0, dataplane: { inSync: true, ready: true, failing: [] }, lastApply: undefined, syncer: { status: 'in-sync' as const, detail: undefined }, badObjects: [] }),
    });
    backend.setBgp(speakerApiSource({ peers: async () => a.speaker.listPeers(), routes: async (q) => a.speaker.listRoutes(q) }, typeOf, () => ({ asn: AS, routerId: a.address })));
    cli = makeCli();
    sock = join(cli.dir, 'nodeA.sock');
    server = await startNodeApiServer(sock, backend);
  });

  afterAll(async () => {
    await server?.close();
    for (const n of [a, b, c]) await n?.speaker.stop();
    cli?.cleanup();
  });

  it('shows each session: the mesh peers up and Established, the silent one trying with its error', async () => {
    const r = await cli(['node', 'status', '--api-socket', sock]);
    if (process.env.TW_DEBUG) process.stderr.write(r.stdout + (await cli(['node', 'routes', '--api-socket', sock])).stdout);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('twill-node is running on node nodeA (version 0.0.0-test, IPv4 127.0.77.1/24).\nPolicy: ready');
    expect(r.stdout).toContain('BGP: AS 64512, router id 127.0.77.1.');
    expect(r.stdout).toMatch(/PEER ADDRESS +PEER TYPE +STATE +SINCE +INFO\n/);
    expect(r.stdout).toMatch(/\n127\.0\.77\.2 +node-to-node mesh +up +\d\d:\d\d:\d\d +Established\n/);
    expect(r.stdout).toMatch(/\n127\.0\.77\.3 +node-to-node mesh +up +/);
    expect(r.stdout).toMatch(/\n127\.0\.77\.9 +global +(start|down) +[\d:-]+ +(Idle|Connect|Active): \S.*\n/);
    const j = JSON.parse((await cli(['node', 'status', '--api-socket', sock, '-o', 'json'])).stdout) as { peers: { peerAddress: string; state: string; prefixesReceived: number; prefixesAdvertised: number }[] };
    expect(j.peers.find((p) => p.peerAddress === '127.0.77.2')).toMatchObject({ state: 'Established', prefixesReceived: 1, prefixesAdvertised: 1 });
  });

  it('routes: both learned paths with the reason the best one won, and what was advertised to each peer', async () => {
    const r = await cli(['node', 'routes', '--api-socket', sock, '--prefix', '10.65.9.0/26']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n').slice(1);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^learned +10\.65\.9\.0\/26 +127\.0\.77\.2 +127\.0\.77\.2 +\(empty\) +yes +preferred to the path from 127\.0\.77\.3: lower router id \(127\.0\.77\.2 vs 127\.0\.77\.3\)$/);
    expect(lines[1]).toMatch(/^learned +10\.65\.9\.0\/26 +127\.0\.77\.3 +127\.0\.77\.3 +\(empty\) +no +lost to the path from 127\.0\.77\.2: lower router id/);
    const own = await cli(['node', 'routes', '--api-socket', sock, '--learned', '--prefix', '10.65.0.0/26']);
    expect(own.stdout).toMatch(/\noriginated +10\.65\.0\.0\/26 +self +\(local\) /);
    const adv = await cli(['node', 'routes', '--api-socket', sock, '--advertised', '--prefix', '10.65.0.0/26']);
    expect(adv.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/ {3,}/)[3])).toEqual(['127.0.77.2', '127.0.77.3']);
  });
});
