// Live-session fuzz at volume (the requirement: "at least 100,000 mutated and random messages … to a live
// session"). Messages stream to an Established session in chunks, pipelined: every message the
// codec says must not reset the session (accepted, attribute-discard, treat-as-withdraw) is sent
// back to back, then a sentinel proves the speaker processed them all, and its Adj-RIB-In must
// equal a model built from the codec's verdicts. Each chunk ends with one message (alternately
// mutated and fully random) that must reset the session with the NOTIFICATION code/subcode the
// codec names; the peer reconnects and the next chunk starts from an empty RIB.
// Not root-bound, but minutes of CPU on 2 cores: it lives in the slow (privileged) tier.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPrefix, parsePrefix, type Ipv4Prefix } from '../../../bgp/packet/index.js';
import { BgpSpeaker } from '../../../bgp/server/speaker.js';
import type { SpeakerEvent } from '../../../bgp/server/types.js';
import { RawPeer } from '../../unit/bgp/session/raw-peer.js';
import { base, mutate, RAW_ADDR, randomUpdate, RAW_ASN, rng, SPK_ASN, upd, verdict, type Verdict } from '../../unit/bgp/session/fuzz-gen.js';

const SPK = '127.0.30.11';
const TOTAL = Number(process.env.TWILL_STREAM_FUZZ_MESSAGES ?? 100_000);
const CHUNK = Number(process.env.TWILL_STREAM_FUZZ_CHUNK ?? 250);
const SEED = Number(process.env.TWILL_FUZZ_SEED ?? 20261122) + 7;

describe('live-session fuzz, streamed', () => {
  let speaker: BgpSpeaker;
  const events: SpeakerEvent[] = [];
  let peer: RawPeer | undefined;

  beforeAll(async () => {
    speaker = new BgpSpeaker({
      routerId: '10.0.0.1',
      asn: SPK_ASN,
      listen: { address: SPK, port: 0 },
      holdTime: 0,
      backoff: { idleHold: 0.01, idleHoldMax: 0.02 },
      neighbors: [
        { address: RAW_ADDR, asn: RAW_ASN, passive: true, importPolicy: { default: 'accept', rules: [] }, exportPolicy: { default: 'reject', rules: [] } },
      ],
    });
    speaker.subscribe((e) => events.push(e));
    await speaker.start();
  });
  afterAll(async () => {
    peer?.close();
    await speaker.stop();
  });

  const inRib = (): Set<string> => new Set(speaker.listRoutes({ table: 'in', peer: RAW_ADDR, limit: 0 }).map((r) => r.prefix));

  async function connect(): Promise<RawPeer> {
    // The speaker may still be tearing down the previous session: retry briefly.
    for (let attempt = 0; ; attempt++) {
      const q = await RawPeer.connect(SPK, speaker.port!, RAW_ADDR, { asn: RAW_ASN, routerId: '10.0.0.2', holdTime: 0, keepaliveEvery: 0 });
      try {
        await q.handshake();
        return q;
      } catch (e) {
        q.close();
        if (attempt > 50) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  let sentinelN = 0;
  async function sync(q: RawPeer): Promise<void> {
    sentinelN++;
    const s = parsePrefix(`198.19.${(sentinelN >> 8) & 255}.${sentinelN & 255}/32`) as Ipv4Prefix;
    q.send(upd({ attrs: base, nlri: [s] }));
    const want = formatPrefix(s);
    const end = Date.now() + 20_000;
    while (!inRib().has(want)) {
      if (q.closed) throw new Error(`session closed during a non-resetting chunk; notifications ${JSON.stringify(q.notifications())}`);
      if (Date.now() > end) throw new Error('speaker did not process the chunk within 20 s');
      await new Promise((r) => setTimeout(r, 2));
    }
    model.add(want);
  }

  const model = new Set<string>();
  function applyToModel(v: Exclude<Verdict, { reset: unknown }>): void {
    if (v.treatAsWithdraw) {
      // Everything the UPDATE names goes: its withdrawals, and its announcements as withdrawals.
      for (const x of [...v.withdrawn, ...v.announced]) model.delete(x);
      return;
    }
    for (const w of v.withdrawn) if (!v.announced.includes(w)) model.delete(w);
    for (const a of v.announced) model.add(a);
  }

  it(`streams ${TOTAL} mutated and random UPDATEs; the RIB always matches the RFC 7606 verdicts`, async () => {
    const r = rng(SEED);
    let sent = 0;
    let chunks = 0;
    const tally = { reset: 0, treatAsWithdraw: 0, accepted: 0, randomResets: 0 };
    while (sent < TOTAL) {
      const q = await connect();
      peer = q;
      model.clear();
      const batch: Buffer[] = [];
      let ender: { m: Buffer; v: Extract<Verdict, { reset: unknown }> } | undefined;
      const wantRandomEnder = chunks % 2 === 1;
      while (batch.length < CHUNK || ender === undefined) {
        const fromRandom = r() < 0.1;
        const m = fromRandom ? randomUpdate(r) : mutate(r);
        const v = verdict(m);
        if ('reset' in v) {
          if (ender === undefined && fromRandom === wantRandomEnder) ender = { m, v };
          continue;
        }
        if (batch.length >= CHUNK) continue;
        batch.push(m);
        applyToModel(v);
        if (v.treatAsWithdraw) tally.treatAsWithdraw++;
        else tally.accepted++;
      }
      q.send(batch);
      await sync(q);
      const have = inRib();
      expect([...have].sort(), `chunk ${chunks} (seed ${SEED}): Adj-RIB-In after ${batch.length} messages`).toEqual([...model].sort());
      expect(q.notifications(), `chunk ${chunks}`).toEqual([]);

      const from = q.received.length;
      q.send(ender.m);
      const ctxt = `chunk ${chunks} ender ${ender.m.toString('hex')} → ${JSON.stringify(ender.v)}`;
      const n = await q.waitFor((x) => x.message.type === 'notification', `NOTIFICATION for ${ctxt}`, 10_000, from);
      expect(n.message, ctxt).toMatchObject(ender.v.reset);
      await q.waitUntil(() => q.closed, `close after ${ctxt}`);
      tally.reset++;
      if (wantRandomEnder) tally.randomResets++;
      sent += batch.length + 2;
      chunks++;
    }
    expect(events.filter((e) => e.type === 'error')).toEqual([]);
    expect(tally.treatAsWithdraw).toBeGreaterThan(TOTAL / 100);
    expect(tally.accepted).toBeGreaterThan(TOTAL / 10);
    console.log(`streamed fuzz: ${sent} messages in ${chunks} sessions ${JSON.stringify(tally)}`);
  }, 900_000);
});
