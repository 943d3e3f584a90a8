// One million /32s through a speaker: a raw-socket injector floods them, the speaker must keep
// its 3 s hold-time session up the whole time, import all of them, and pass them on to a sink.
// In the privileged tier for its weight (a million prefixes), not for root: it needs only loopback.
import { afterAll, describe, expect, it } from 'vitest';
import { packUpdates, ipv4Prefix, parseIpv4, type Prefix } from '../../../bgp/packet/index.js';
import { BgpSpeaker } from '../../../bgp/server/speaker.js';
import type { SpeakerEvent } from '../../../bgp/server/types.js';
import { RawPeer } from '../../unit/bgp/session/raw-peer.js';

const N = Number(process.env.TWILL_TRANSIT_N ?? 1_000_000);

describe('transit of many prefixes', () => {
  const cleanup: (() => unknown)[] = [];
  afterAll(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it(`keeps a 3 s hold-time session up while ${N} /32s are received and forwarded`, async () => {
    const sinkListen = await RawPeer.listen('127.0.0.13', { asn: 65003, routerId: '10.0.0.3', holdTime: 3, keepaliveEvery: 1 });
    cleanup.push(() => sinkListen.server.close());
    const events: SpeakerEvent[] = [];
    const speaker = new BgpSpeaker({
      routerId: '10.0.0.2',
      asn: 65002,
      listen: { address: '127.0.0.12', port: 0 },
      holdTime: 3,
      neighbors: [
        { address: '127.0.0.11', asn: 65001, passive: true, importPolicy: { default: 'accept', rules: [] }, exportPolicy: { default: 'reject', rules: [] } },
        { address: '127.0.0.13', asn: 65003, port: sinkListen.port, localAddress: '127.0.0.12', importPolicy: { default: 'reject', rules: [] }, exportPolicy: { default: 'accept', rules: [] } },
      ],
    });
    speaker.subscribe((e) => events.push(e));
    await speaker.start();
    cleanup.push(() => speaker.stop());
    const sink = await sinkListen.peer;
    cleanup.push(() => sink.close());
    sink.counting = true;
    await sink.handshake();

    const inj = await RawPeer.connect('127.0.0.12', speaker.port!, '127.0.0.11', { asn: 65001, routerId: '10.0.0.1', holdTime: 3, keepaliveEvery: 1 });
    cleanup.push(() => inj.close());
    await inj.handshake();

    const base = parseIpv4('10.0.0.0');
    const prefixes: Prefix[] = [];
    for (let i = 0; i < N; i++) prefixes.push(ipv4Prefix(base + i, 32));
    const updates = packUpdates({ origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: { afi: 1, addr: parseIpv4('127.0.0.11') } }, prefixes, inj.ctx);
    prefixes.length = 0;

    const rss0 = process.memoryUsage().rss;
    const t0 = performance.now();
    inj.send(updates);
    updates.length = 0;
    // A session that goes down never delivers the rest: fail at once, saying which and why.
    const down = (): boolean => {
      const d = events.filter((e) => e.type === 'peer-state' && e.from === 'Established');
      if (d.length > 0) throw new Error(`a session left Established during the transit: ${JSON.stringify(d)}; notifications ${JSON.stringify([inj.notifications(), sink.notifications()])}`);
      return false;
    };
    await sink.waitUntil(() => down() || sink.announced >= N, `${N} prefixes at the sink`, 110_000);
    const dt = (performance.now() - t0) / 1000;
    const rss = process.memoryUsage().rss;
    console.log(`transit of ${N} /32: ${dt.toFixed(2)} s, RSS ${(rss / 2 ** 20).toFixed(0)} MiB (+${((rss - rss0) / 2 ** 20).toFixed(0)} MiB during the run)`);

    const peers = speaker.listPeers();
    const injStatus = peers.find((p) => p.address === '127.0.0.11')!;
    expect(injStatus.state).toBe('Established');
    expect(injStatus.establishedCount).toBe(1);
    expect(injStatus.acceptedPrefixes).toBe(N);
    expect(peers.find((p) => p.address === '127.0.0.13')!.advertisedPrefixes).toBe(N);
    expect(events.filter((e) => e.type === 'peer-state' && e.from === 'Established')).toEqual([]);
    expect(sink.announced).toBe(N);
    expect(inj.notifications()).toEqual([]);
    expect(sink.notifications()).toEqual([]);
    const route = speaker.listRoutes({ table: 'out', peer: '127.0.0.13', prefix: '10.0.0.5/32' })[0];
    expect(route?.asPath).toEqual([65002, 65001]);
    expect(route?.nextHop).toBe('127.0.0.12');
  });
});
