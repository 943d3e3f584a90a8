// ADD-PATH receive (RFC 7911): paths of one prefix from one peer are kept side by side, keyed by
// (prefix, path id), and withdrawn one by one.
import { afterEach, describe, expect, it } from 'vitest';
import { makeContext, parsePrefix, type Ipv4Prefix } from '../../../../bgp/packet/index.js';
import { BgpSpeaker } from '../../../../bgp/server/speaker.js';
import { RawPeer } from '../session/raw-peer.js';
import { ACCEPT, FAST, until } from './helpers.js';

const SPK = '127.0.39.1';
const RAW = '127.0.39.2';
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

function pfx(s: string, pathId: number): Ipv4Prefix {
  return { ...(parsePrefix(s) as Ipv4Prefix), pathId };
}

describe('ADD-PATH receive', () => {
  it('keeps several paths of one prefix from one peer, by path id, in the Adj-RIB-In and the Loc-RIB', async () => {
    const s = new BgpSpeaker({
      routerId: SPK,
      asn: 65000,
      listen: { address: SPK, port: 0 },
      holdTime: 9,
      ...FAST,
      neighbors: [{ address: RAW, asn: 65000, passive: true, importPolicy: ACCEPT, exportPolicy: ACCEPT, addPath: { receive: true, send: true } }],
    });
    await s.start();
    cleanup.push(() => s.stop());
    const p = await RawPeer.connect(SPK, s.port!, RAW, {
      asn: 65000,
      routerId: '10.0.0.2',
      holdTime: 9,
      capabilities: [
        { kind: 'multiprotocol', afi: 1, safi: 1 },
        { kind: 'four-octet-as', as: 65000 },
        { kind: 'add-path', families: [{ afi: 1, safi: 1, send: true, receive: true }] },
      ],
    });
    cleanup.push(async () => {
      p.socket.destroy();
    });
    await p.handshake();
    p.ctx = makeContext({ fourOctetAs: true, addPath: { ipv4: { send: true, receive: true }, ipv6: { send: false, receive: false } } });
    await until(() => s.listPeers()[0]!.state === 'Established', 'Established');
    expect(s.listPeers()[0]!.capabilities!.addPath.ipv4).toEqual({ send: true, receive: true });
    const attrs = (nh: string) => ({ origin: 0 as const, asPath: [], localPref: 100, nextHop: { afi: 1 as const, addr: parsePrefix(`${nh}/32`).addr as number } });
    p.send({ type: 'update', withdrawn: [], attrs: attrs('192.0.2.1'), nlri: [pfx('10.70.0.0/24', 1)] });
    p.send({ type: 'update', withdrawn: [], attrs: attrs('192.0.2.2'), nlri: [pfx('10.70.0.0/24', 2)] });
    await until(() => s.listRoutes({ table: 'in', peer: RAW }).length === 2, 'two paths in the Adj-RIB-In');
    const inRib = s.listRoutes({ table: 'in', peer: RAW });
    expect(inRib.map((r) => [r.pathId, r.nextHop]).sort()).toEqual([
      [1, '192.0.2.1'],
      [2, '192.0.2.2'],
    ]);
    expect(s.listPeers()[0]!.receivedPrefixes).toBe(2);
    expect(s.listRoutes({ table: 'loc', prefix: '10.70.0.0/24', all: true })).toHaveLength(2);
    // Withdrawing path 1 leaves path 2.
    p.send({ type: 'update', withdrawn: [pfx('10.70.0.0/24', 1)], attrs: {}, nlri: [] });
    await until(() => s.listRoutes({ table: 'in', peer: RAW }).length === 1, 'one path left');
    expect(s.listRoutes({ table: 'loc', prefix: '10.70.0.0/24' })[0]!.nextHop).toBe('192.0.2.2');
  });
});
