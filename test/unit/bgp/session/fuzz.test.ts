// Live-session fuzz: mutated UPDATEs go to an Established session, one at a time. For each, the
// codec's own verdict on the same bytes says what RFC 7606 requires, and the speaker must do
// exactly that: reset with that NOTIFICATION code/subcode, or treat-as-withdraw (the announced
// prefixes are really gone), or accept the UPDATE. The process must never crash or hang, and the
// speaker must never report an internal error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix, type Ipv4Prefix } from '../../../../bgp/packet/index.js';
import { BgpSpeaker } from '../../../../bgp/server/speaker.js';
import type { SpeakerEvent } from '../../../../bgp/server/types.js';
import { RawPeer } from './raw-peer.js';
import { base, mutate, RAW_ADDR, rng, upd, v6nh, verdict } from './fuzz-gen.js';

const SPK = '127.0.30.1';
const RAW = RAW_ADDR;
const CASES = Number(process.env.TWILL_FUZZ_CASES ?? 300);
const SEED = Number(process.env.TWILL_FUZZ_SEED ?? 20261122);

describe('live-session fuzz', () => {
  let speaker: BgpSpeaker;
  const events: SpeakerEvent[] = [];
  let p: RawPeer | undefined;

  beforeAll(async () => {
    speaker = new BgpSpeaker({
      routerId: '10.0.0.1',
      asn: 65000,
      listen: { address: SPK, port: 0 },
      holdTime: 0,
      backoff: { idleHold: 0.01, idleHoldMax: 0.02 },
      neighbors: [{ address: RAW, asn: 65001, passive: true, importPolicy: { default: 'accept', rules: [] }, exportPolicy: { default: 'reject', rules: [] } }],
    });
    speaker.subscribe((e) => events.push(e));
    await speaker.start();
  });
  afterAll(async () => {
    p?.close();
    await speaker.stop();
  });

  const inRib = (): Set<string> => new Set(speaker.listRoutes({ table: 'in', peer: RAW, limit: 0 }).map((r) => r.prefix));

  async function session(): Promise<RawPeer> {
    if (p && !p.closed) return p;
    p?.close();
    // After a reset the speaker refuses us (CEASE 6/5) until its Idle hold ends: try again.
    for (let attempt = 0; ; attempt++) {
      const q = await RawPeer.connect(SPK, speaker.port!, RAW, { asn: 65001, routerId: '10.0.0.2', holdTime: 0, keepaliveEvery: 0 });
      try {
        await q.handshake();
        p = q;
        return q;
      } catch (e) {
        q.close();
        if (attempt > 100 || !q.notifications().some((n) => n.code === 6 && n.subcode === 5)) throw e;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  let sentinelN = 0;
  /** Sends a valid UPDATE with a fresh sentinel /32 and waits until the speaker has it: everything sent before is processed. */
  async function sync(q: RawPeer): Promise<void> {
    sentinelN++;
    const s = parsePrefix(`198.18.${(sentinelN >> 8) & 255}.${sentinelN & 255}/32`) as Ipv4Prefix;
    q.send(upd({ attrs: base, nlri: [s] }));
    const want = formatPrefix(s);
    const end = Date.now() + 5000;
    while (!inRib().has(want)) {
      if (q.closed) throw new Error(`session closed while syncing; notifications ${JSON.stringify(q.notifications())}`);
      if (Date.now() > end) throw new Error('speaker did not process the sentinel UPDATE');
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  it(`answers ${CASES} mutated UPDATEs as RFC 7606 says`, async () => {
    const r = rng(SEED);
    const tally = { reset: 0, treatAsWithdraw: 0, accepted: 0 };
    for (let i = 0; i < CASES; i++) {
      const m = mutate(r);
      const v = verdict(m);
      const q = await session();
      const ctxt = `case ${i} (seed ${SEED}): ${m.toString('hex')} → ${JSON.stringify(v)}`;
      if ('reset' in v) {
        tally.reset++;
        const from = q.received.length;
        q.send(m);
        const n = await q.waitFor((x) => x.message.type === 'notification', `NOTIFICATION for ${ctxt}`, 5000, from);
        expect(n.message, ctxt).toMatchObject(v.reset);
        await q.waitUntil(() => q.closed, `close after ${ctxt}`);
        const end = Date.now() + 5000;
        while (speaker.listRoutes({ table: 'loc', limit: 1 }).length > 0 && Date.now() < end) await new Promise((res) => setTimeout(res, 5));
        expect(speaker.listRoutes({ table: 'loc', limit: 1 }), `routes flushed after ${ctxt}`).toEqual([]);
        continue;
      }
      // Make the prefixes it announces present first, so a treat-as-withdraw is visible.
      const prime = v.announced.map((t) => parsePrefix(t));
      const p4 = prime.filter((x) => x.afi === 1) as Ipv4Prefix[];
      const p6 = prime.filter((x) => x.afi === 2);
      if (p4.length) q.send(upd({ attrs: base, nlri: p4 }));
      if (p6.length) q.send(upd({ attrs: { origin: 0, asPath: [{ type: 2, asns: [65001] }] }, mpReach: { afi: 2, safi: 1, nextHop: v6nh, nlri: p6 } }));
      q.send(m);
      await sync(q);
      const have = inRib();
      if (v.treatAsWithdraw) {
        tally.treatAsWithdraw++;
        for (const a of v.announced) expect(have.has(a), `${a} withdrawn in ${ctxt}`).toBe(false);
      } else {
        tally.accepted++;
        for (const a of v.announced) expect(have.has(a), `${a} present in ${ctxt}`).toBe(true);
        for (const w of v.withdrawn) if (!v.announced.includes(w)) expect(have.has(w), `${w} withdrawn in ${ctxt}`).toBe(false);
      }
      expect(q.notifications(), ctxt).toEqual([]);
    }
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    // The mutations must exercise every outcome.
    expect(tally.reset).toBeGreaterThan(CASES / 20);
    expect(tally.treatAsWithdraw).toBeGreaterThan(CASES / 50);
    expect(tally.accepted).toBeGreaterThan(CASES / 20);
    console.log(`fuzz outcomes: ${JSON.stringify(tally)}`);
  });
});
