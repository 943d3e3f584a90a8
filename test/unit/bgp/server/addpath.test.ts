// ADD-PATH receive (RFC 7911): paths of one prefix from one peer are kept side by side, keyed by
// (prefix, path id), and withdrawn one by one.
import { afterEach, describe, expect, it } from 'vitest';
import { formatNextHop, formatPrefix, makeContext, parsePrefix, type Ipv4Prefix } from '../../../../bgp/packet/index.js';
import { BgpSpeaker } from '../../../../bgp/server/speaker.js';
import { RawPeer } from '../session/raw-peer.js';
import { ACCEPT, FAST, established, node, peer, route, state, until, type Node } from './helpers.js';

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
    // Best-path changes (what kernel sync installs) name the prefix, never a path id.
    const best: string[] = [];
    s.onBestChanged((cs) => best.push(...cs.map((c) => c.prefix)));
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
    expect(new Set(best)).toEqual(new Set(['10.70.0.0/24']));
    // Withdrawing path 1 leaves path 2.
    p.send({ type: 'update', withdrawn: [pfx('10.70.0.0/24', 1)], attrs: {}, nlri: [] });
    await until(() => s.listRoutes({ table: 'in', peer: RAW }).length === 1, 'one path left');
    expect(s.listRoutes({ table: 'loc', prefix: '10.70.0.0/24' })[0]!.nextHop).toBe('192.0.2.2');
  });
});

// ADD-PATH send: a route reflector passes every path of a prefix (or the best N) to clients that
// negotiated ADD-PATH receive, each path under its own stable path id; others get the best only.
const RR = '127.0.41.1';
const CA = '127.0.41.2';
const CB = '127.0.41.3';
const RX = '127.0.41.4';

type Seen = Map<string, { nextHop: string; originatorId: number | undefined; clusterList: readonly number[] | undefined }>;

/** What a raw peer was told, as "prefix path-id N" → attributes, after applying every UPDATE in order. */
function seen(p: RawPeer): Seen {
  const m: Seen = new Map();
  for (const r of p.received) {
    const u = r.message;
    if (u.type !== 'update') continue;
    for (const w of [...u.withdrawn, ...(u.mpUnreach?.withdrawn ?? [])]) m.delete(formatPrefix(w));
    const a = u.attrs;
    if (u.nlri.length > 0 && a.nextHop) for (const n of u.nlri) m.set(formatPrefix(n), { nextHop: formatNextHop(a.nextHop), originatorId: a.originatorId, clusterList: a.clusterList });
    if (u.mpReach) for (const n of u.mpReach.nlri) m.set(formatPrefix(n), { nextHop: formatNextHop(u.mpReach.nextHop), originatorId: a.originatorId, clusterList: a.clusterList });
  }
  return m;
}

function pathsOf(m: Seen, prefix: string): [number, string][] {
  const out: [number, string][] = [];
  for (const [k, v] of m) {
    const [pfx, , id] = k.split(' ');
    if (pfx === prefix) out.push([id === undefined ? 0 : Number(id), v.nextHop]);
  }
  return out.sort((x, y) => x[0] - y[0]);
}

interface Rig {
  rr: Node;
  a: Node;
  b: Node;
}

/** A reflector with two in-process clients (A, B) that both originate the test prefixes. */
async function rig(sendToRaw: boolean | number | undefined): Promise<Rig & { raw: RawPeer }> {
  const rr = await node(RR, 65000, { clusterId: '10.255.0.1' });
  const a = await node(CA, 65000);
  const b = await node(CB, 65000);
  cleanup.push(async () => {
    await Promise.all([rr.speaker.stop(), a.speaker.stop(), b.speaker.stop()]);
  });
  peer(rr, 65000, a, 65000, { routeReflectorClient: true });
  peer(rr, 65000, b, 65000, { routeReflectorClient: true });
  rr.speaker.addNeighbor({
    address: RX,
    asn: 65000,
    passive: true,
    routeReflectorClient: true,
    importPolicy: ACCEPT,
    exportPolicy: ACCEPT,
    ...(sendToRaw !== undefined ? { addPath: { send: sendToRaw } } : {}),
  });
  await established(rr, a);
  await established(rr, b);
  const raw = await RawPeer.connect(RR, rr.speaker.port!, RX, {
    asn: 65000,
    routerId: '10.0.41.4',
    holdTime: 9,
    capabilities: [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'four-octet-as', as: 65000 },
      // The raw peer always offers to receive several paths; the reflector sends them only when configured.
      {
        kind: 'add-path',
        families: [
          { afi: 1, safi: 1, send: false, receive: true },
          { afi: 2, safi: 1, send: false, receive: true },
        ],
      },
    ],
  });
  cleanup.push(async () => {
    raw.close();
  });
  await raw.handshake();
  await until(() => state(rr, RX) === 'Established', 'raw client Established');
  for (const [n, nh6] of [
    [a, '2001:db8:41::2'],
    [b, '2001:db8:41::3'],
  ] as const) {
    n.speaker.addPath({ prefix: '10.80.0.0/24' });
    n.speaker.addPath({ prefix: '2001:db8:80::/48', nextHop: nh6 });
  }
  return { rr, a, b, raw };
}

describe('ADD-PATH send', () => {
  it('a reflector sends both clients\' paths with distinct path ids (IPv4 and IPv6); a withdrawal withdraws exactly that path id', async () => {
    const { rr, a, raw } = await rig(true);
    expect(rr.speaker.listPeers().find((p) => p.address === RX)!.capabilities!.addPath.ipv4.send).toBe(true);
    await raw.waitUntil(() => pathsOf(seen(raw), '10.80.0.0/24').length === 2 && pathsOf(seen(raw), '2001:db8:80::/48').length === 2, 'two paths per prefix');
    const s = seen(raw);
    const v4 = pathsOf(s, '10.80.0.0/24');
    const v6 = pathsOf(s, '2001:db8:80::/48');
    expect(v4.map((x) => x[1]).sort()).toEqual([CA, CB]);
    expect(v6.map((x) => x[1]).sort()).toEqual(['2001:db8:41::2', '2001:db8:41::3']);
    expect(new Set(v4.map((x) => x[0])).size).toBe(2);
    expect(v4.every((x) => x[0] !== 0)).toBe(true);
    // Reflection attributes per path: ORIGINATOR_ID of the client that originated it, our cluster id.
    for (const [k, v] of s) {
      if (!k.startsWith('10.80.0.0/24')) continue;
      expect(v.originatorId! >>> 0).toBe((parsePrefix(`${v.nextHop}/32`).addr as number) >>> 0);
      expect(v.clusterList!.map((c) => c >>> 0)).toEqual([(parsePrefix('10.255.0.1/32').addr as number) >>> 0]);
    }
    // The reflector's Adj-RIB-Out towards the raw client lists both, with the same path ids.
    const out = rr.speaker.listRoutes({ table: 'out', peer: RX, prefix: '10.80.0.0/24' });
    expect(out.map((r) => [r.pathId, r.nextHop]).sort()).toEqual(v4.map((x) => [x[0], x[1]]).sort());
    // A's paths go away: exactly A's path ids are withdrawn, B's stay as they were.
    const idA4 = v4.find((x) => x[1] === CA)![0];
    const idA6 = v6.find((x) => x[1] === '2001:db8:41::2')![0];
    const from = raw.received.length;
    a.speaker.deletePath('10.80.0.0/24');
    a.speaker.deletePath('2001:db8:80::/48');
    await raw.waitUntil(() => pathsOf(seen(raw), '10.80.0.0/24').length === 1 && pathsOf(seen(raw), '2001:db8:80::/48').length === 1, 'one path per prefix left');
    const after = raw.received.slice(from).flatMap((r) => (r.message.type === 'update' ? [r.message] : []));
    const withdrawn = after.flatMap((u) => [...u.withdrawn, ...(u.mpUnreach?.withdrawn ?? [])].map(formatPrefix)).sort();
    expect(withdrawn).toEqual([`10.80.0.0/24 path-id ${idA4}`, `2001:db8:80::/48 path-id ${idA6}`].sort());
    expect(after.flatMap((u) => [...u.nlri, ...(u.mpReach?.nlri ?? [])])).toEqual([]);
    expect(pathsOf(seen(raw), '10.80.0.0/24')).toEqual(v4.filter((x) => x[1] === CB));
    // A announces again: a path id B's path does not use.
    a.speaker.addPath({ prefix: '10.80.0.0/24' });
    await raw.waitUntil(() => pathsOf(seen(raw), '10.80.0.0/24').length === 2, 'A back');
    const again = pathsOf(seen(raw), '10.80.0.0/24');
    expect(new Set(again.map((x) => x[0])).size).toBe(2);
    expect(again.find((x) => x[1] === CB)![0]).toBe(v4.find((x) => x[1] === CB)![0]);
  });

  it('a client without ADD-PATH send configured gets only the best path', async () => {
    const { rr, raw } = await rig(undefined);
    await until(() => rr.speaker.listRoutes({ table: 'loc', prefix: '10.80.0.0/24', all: true }).length === 2, 'both paths at the reflector');
    await until(() => rr.speaker.listRoutes({ table: 'loc', prefix: '2001:db8:80::/48', all: true }).length === 2, 'both IPv6 paths at the reflector');
    await rr.speaker.idle();
    await raw.waitUntil(() => pathsOf(seen(raw), '10.80.0.0/24').length === 1 && pathsOf(seen(raw), '2001:db8:80::/48').length === 1, 'best paths');
    await rr.speaker.idle();
    expect(rr.speaker.listPeers().find((p) => p.address === RX)!.capabilities!.addPath.ipv4.send).toBe(false);
    const best = route(rr, '10.80.0.0/24')!;
    expect(pathsOf(seen(raw), '10.80.0.0/24')).toEqual([[0, best.nextHop]]);
    expect(pathsOf(seen(raw), '2001:db8:80::/48')).toHaveLength(1);
  });

  it('send: 1 sends only the best path (path id 1), like no ADD-PATH', async () => {
    const { rr, raw } = await rig(1);
    await until(() => rr.speaker.listRoutes({ table: 'loc', prefix: '10.80.0.0/24', all: true }).length === 2, 'both paths at the reflector');
    await until(() => rr.speaker.listRoutes({ table: 'loc', prefix: '2001:db8:80::/48', all: true }).length === 2, 'both IPv6 paths at the reflector');
    await rr.speaker.idle();
    await raw.waitUntil(() => pathsOf(seen(raw), '10.80.0.0/24').length === 1 && pathsOf(seen(raw), '2001:db8:80::/48').length === 1, 'best paths');
    await rr.speaker.idle();
    expect(rr.speaker.listPeers().find((p) => p.address === RX)!.capabilities!.addPath.ipv4.send).toBe(true);
    expect(pathsOf(seen(raw), '10.80.0.0/24')).toEqual([[1, route(rr, '10.80.0.0/24')!.nextHop]]);
    expect(pathsOf(seen(raw), '2001:db8:80::/48').map((x) => x[0])).toEqual([1]);
  });

  it('send: 2 of three paths sends the best two, and the third when one of them goes', async () => {
    const { rr, a, raw } = await rig(2);
    // A third path, locally at the reflector: preferred by the decision (local over iBGP).
    rr.speaker.addPath({ prefix: '10.80.0.0/24', nextHop: '192.0.2.99' });
    await until(() => rr.speaker.listRoutes({ table: 'loc', prefix: '10.80.0.0/24', all: true }).length === 3, 'three paths at the reflector');
    await rr.speaker.idle();
    await raw.waitUntil(() => pathsOf(seen(raw), '10.80.0.0/24').length === 2, 'two paths');
    await rr.speaker.idle();
    const two = pathsOf(seen(raw), '10.80.0.0/24').map((x) => x[1]);
    // The local path plus the better of A and B (lower router id: A).
    expect(two.sort()).toEqual(['192.0.2.99', CA].sort());
    a.speaker.deletePath('10.80.0.0/24');
    await raw.waitUntil(() => pathsOf(seen(raw), '10.80.0.0/24').some((x) => x[1] === CB), 'B sent once A is gone');
    await rr.speaker.idle();
    expect(pathsOf(seen(raw), '10.80.0.0/24').map((x) => x[1]).sort()).toEqual(['192.0.2.99', CB].sort());
  });
});
