// Management changes to the speaker are serialized: a burst of updateConfig calls fired without
// awaiting (neighbours added and removed, a password changed, the router id changed) against a
// live speaker with real peers on loopback ends in exactly the last config, with untouched
// sessions never reset. And the queue itself (bgp/server/serial.ts): order, no interleaving,
// coalescing.
import { describe, expect, it } from 'vitest';
import { ManagementQueue } from '../../../../bgp/server/serial.js';
import type { NeighborConfig, SpeakerConfig } from '../../../../bgp/server/types.js';
import { ACCEPT, FAST, established, until, trackedNodes, type Node } from './helpers.js';

const { make } = trackedNodes();

describe('ManagementQueue', () => {
  it('runs operations one at a time in call order, across awaits, even when one fails', async () => {
    const q = new ManagementQueue();
    const log: string[] = [];
    const op = (name: string, fail = false) => async (): Promise<string> => {
      log.push(`${name}:begin`);
      await new Promise((r) => setTimeout(r, 5));
      await Promise.resolve();
      log.push(`${name}:end`);
      if (fail) throw new Error(`${name} failed`);
      return name;
    };
    const a = q.run(op('a'));
    const b = q.run(op('b', true));
    const c = q.run(op('c'));
    await expect(a).resolves.toBe('a');
    await expect(b).rejects.toThrow('b failed');
    await expect(c).resolves.toBe('c');
    expect(log).toEqual(['a:begin', 'a:end', 'b:begin', 'b:end', 'c:begin', 'c:end']);
  });

  it('starts synchronously when idle', () => {
    const q = new ManagementQueue();
    let ran = false;
    void q.run(() => {
      ran = true;
    });
    expect(ran).toBe(true);
  });

  it('coalesces a burst of latest() queued behind a running operation into one apply of the newest value', async () => {
    const q = new ManagementQueue();
    const applied: number[] = [];
    const apply = async (v: number): Promise<void> => {
      applied.push(v);
      await new Promise((r) => setTimeout(r, 2));
    };
    const all = [];
    for (let i = 0; i < 50; i++) all.push(q.latest(i, apply));
    await Promise.all(all);
    // The first starts at once; 1..49 wait behind it and collapse into the newest.
    expect(applied).toEqual([0, 49]);
  });

  it('never coalesces across another operation: order of effects is kept', async () => {
    const q = new ManagementQueue();
    const applied: string[] = [];
    const apply = async (v: string): Promise<void> => {
      applied.push(v);
      await Promise.resolve();
    };
    const ps = [q.latest('A', apply), q.latest('B', apply), q.run(() => void applied.push('other')), q.latest('C', apply), q.latest('D', apply)];
    await Promise.all(ps);
    expect(applied).toEqual(['A', 'B', 'other', 'D']);
  });
});

describe('BgpSpeaker: a burst of updateConfig against live sessions', () => {
  it('50 updates fired without awaiting: the end state is the last config, untouched sessions stay Established', async () => {
    const AS = 65200;
    const a = await make('127.0.40.1', AS, { listen: { address: '127.0.40.1', port: 0 } });
    // B: never touched. C and E: added/removed in the burst. D: its password changes (TCP MD5).
    // The others only listen (passive), so A's config alone decides which sessions exist.
    const toA = (extra: Partial<NeighborConfig> = {}): { neighbors: NeighborConfig[] } => ({
      neighbors: [{ address: a.address, asn: AS, passive: true, importPolicy: ACCEPT, exportPolicy: ACCEPT, ...extra }],
    });
    const b = await make('127.0.40.2', 65202, toA());
    const c = await make('127.0.40.3', 65203, toA());
    const d = await make('127.0.40.4', 65204, toA({ password: 'final-secret' }));
    const e = await make('127.0.40.5', 65205, toA());
    const nb = (o: Node, asn: number, extra: Partial<NeighborConfig> = {}): NeighborConfig => ({
      address: o.address,
      asn,
      port: o.speaker.port!,
      localAddress: a.address,
      importPolicy: ACCEPT,
      exportPolicy: ACCEPT,
      ...extra,
    });
    const base = (neighbors: NeighborConfig[], routerId = '127.0.40.1'): SpeakerConfig => ({
      routerId,
      asn: AS,
      listen: { address: '127.0.40.1', port: a.speaker.port! },
      holdTime: 9,
      ...FAST,
      neighbors,
      originate: [{ prefix: '10.40.0.0/24' }],
    });
    await a.speaker.updateConfig(base([nb(b, 65202), nb(c, 65203), nb(d, 65204, { password: 'old-secret' })]));
    await established(a, b);
    await established(a, c);
    const bBefore = a.speaker.listPeers().find((p) => p.address === b.address)!;
    expect(bBefore.establishedCount).toBe(1);

    // The burst: C and E come and go, D's password flips, and B is in every config, unchanged.
    const burst: Promise<void>[] = [];
    let last: SpeakerConfig | undefined;
    for (let i = 0; i < 50; i++) {
      const ns = [nb(b, 65202)];
      if (i % 2 === 0) ns.push(nb(c, 65203));
      if (i % 3 === 0) ns.push(nb(e, 65205));
      ns.push(nb(d, 65204, { password: i === 49 ? 'final-secret' : `secret-${i % 4}` }));
      last = base(ns);
      burst.push(a.speaker.updateConfig(last));
      // Other management calls interleave with the burst too.
      if (i === 20) burst.push(a.speaker.resetPeer(b.address, { soft: true }));
    }
    await Promise.all(burst);
    // Last config (i = 49): B, D (final-secret), no C (49 is odd), no E (49 % 3 ≠ 0).
    expect(last!.neighbors.map((n) => n.address)).toEqual([b.address, d.address]);
    expect(a.speaker.listPeers().map((p) => p.address).sort()).toEqual([b.address, d.address]);
    await established(a, d);
    const bAfter = a.speaker.listPeers().find((p) => p.address === b.address)!;
    expect(bAfter.state).toBe('Established');
    expect(bAfter.establishedCount).toBe(1);
    expect(bAfter.flaps).toBe(0);
    expect(a.speaker.listPeers().find((p) => p.address === d.address)!.md5).toBe(true);
    // C and E were told (CEASE / de-configured, or never connected): no session left on their side.
    await until(() => c.speaker.listPeers()[0]!.state !== 'Established', 'C down');
    expect(e.speaker.listPeers()[0]!.state).not.toBe('Established');
    // B still has our route; nothing reported an internal error.
    await until(() => b.speaker.listRoutes({ table: 'loc', prefix: '10.40.0.0/24' })[0], "A's route at B");
    expect(a.events.filter((x) => x.type === 'error')).toEqual([]);

    // A second burst that ends with a new router id: the speaker restarts once, with the last config.
    const burst2: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const ns = [nb(b, 65202), nb(d, 65204, { password: 'final-secret' })];
      if (i % 2 === 1) ns.push(nb(c, 65203));
      burst2.push(a.speaker.updateConfig(base(ns, i % 5 === 0 ? `10.41.0.${i}` : '127.0.40.1')));
      if (i === 10) a.speaker.addNeighbor(nb(e, 65205));
    }
    burst2.push(a.speaker.updateConfig(base([nb(b, 65202), nb(c, 65203)], '10.41.0.99')));
    await Promise.all(burst2);
    expect(a.speaker.listPeers().map((p) => p.address).sort()).toEqual([b.address, c.address]);
    await established(a, b);
    await established(a, c);
    await until(() => b.speaker.listPeers()[0]!.routerId === '10.41.0.99', "B sees A's new router id");
    expect(c.speaker.listPeers()[0]!.routerId).toBe('10.41.0.99');
    await until(() => d.speaker.listPeers()[0]!.state !== 'Established', 'D down');
    expect(a.events.filter((x) => x.type === 'error')).toEqual([]);
  }, 30_000);
});
