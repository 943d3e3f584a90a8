// Fuzz: 100,000+ mutated and random messages through the framer and the decoder. The only
// acceptable failure is a BgpError carrying a NOTIFICATION code/subcode; nothing may hang.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BgpEncodeError,
  BgpError,
  decodeMessage,
  encodeMessage,
  Framer,
  makeContext,
  type BgpMessage,
  type CodecContext,
} from '../../../../bgp/packet/index.js';
import { arbNotification, arbOpen, arbRouteRefresh, arbUpdate } from './arbitraries.js';

const CONTEXTS: CodecContext[] = [
  makeContext({ fourOctetAs: true }),
  makeContext({ fourOctetAs: false }),
  makeContext({ fourOctetAs: true, ebgp: true, addPath: { ipv4: { send: true, receive: true }, ipv6: { send: true, receive: true } } }),
  makeContext({ fourOctetAs: false, extendedMessage: { send: true, receive: true }, addPath: { ipv4: { send: false, receive: false }, ipv6: { send: true, receive: true } } }),
];
const HANDLINGS = new Set(['session-reset', 'afisafi-disable', 'treat-as-withdraw', 'attribute-discard']);

/** xorshift32: fast and reproducible. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

let cached: Buffer[] | undefined;
function corpus(): Buffer[] {
  if (cached) return cached;
  const out: Buffer[] = [];
  const arb: fc.Arbitrary<[CodecContext, BgpMessage]> = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...CONTEXTS).chain((c) => fc.tuple(fc.constant(c), arbUpdate(c) as fc.Arbitrary<BgpMessage>)) },
    { weight: 2, arbitrary: fc.tuple(fc.constant(CONTEXTS[0]!), arbOpen as fc.Arbitrary<BgpMessage>) },
    { weight: 1, arbitrary: fc.tuple(fc.constant(CONTEXTS[0]!), arbNotification as fc.Arbitrary<BgpMessage>) },
    { weight: 1, arbitrary: fc.tuple(fc.constant(CONTEXTS[0]!), arbRouteRefresh as fc.Arbitrary<BgpMessage>) },
  );
  for (const [c, m] of fc.sample(arb, { numRuns: 400, seed: 7 })) {
    const w = encodeMessage(m, c);
    if (w.length <= 4096) out.push(w);
  }
  out.push(encodeMessage({ type: 'keepalive' }, CONTEXTS[0]!));
  cached = out;
  return out;
}

function setLength(b: Buffer): Buffer {
  if (b.length >= 19 && b.length <= 0xffff) b.writeUInt16BE(b.length, 16);
  return b;
}

function mutate(src: Buffer, r: () => number): Buffer {
  let b: Buffer = Buffer.from(src);
  const rounds = 1 + (r() % 3);
  for (let k = 0; k < rounds; k++) {
    const body = Math.max(1, b.length - 19);
    switch (r() % 9) {
      case 0: {
        const i = 19 + (r() % body);
        if (i < b.length) b[i]! ^= 1 << (r() % 8);
        break;
      }
      case 1: {
        const i = r() % b.length;
        b[i] = r() & 255;
        break;
      }
      case 2:
        b = setLength(b.subarray(0, 19 + (r() % body)));
        break;
      case 3: {
        const at = 19 + (r() % body);
        const ins = Buffer.alloc(1 + (r() % 8));
        for (let i = 0; i < ins.length; i++) ins[i] = r() & 255;
        b = setLength(Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]));
        break;
      }
      case 4: {
        const i = 19 + (r() % body);
        if (i + 1 < b.length) b.writeUInt16BE(r() & 0xffff, i);
        break;
      }
      case 5:
        b[18] = 1 + (r() % 5);
        break;
      case 6: {
        const i = 19 + (r() % body);
        if (i < b.length) b[i] = [0, 1, 2, 3, 4, 0x7f, 0x80, 0xff, 32, 33, 128, 129][r() % 12]!;
        break;
      }
      case 7:
        if (r() % 4 === 0) b.writeUInt16BE(r() & 0xffff, 16);
        break;
      default: {
        const i = 19 + (r() % body);
        if (i < b.length) b[i] = r() & 255;
      }
    }
  }
  return b;
}

function randomMessage(r: () => number): Buffer {
  const len = 19 + (r() % 120);
  const b = Buffer.alloc(len);
  for (let i = 19; i < len; i++) b[i] = r() & 255;
  b.fill(0xff, 0, 16);
  b.writeUInt16BE(len, 16);
  b[18] = 1 + (r() % 5);
  return b;
}

function checkError(e: unknown, where: string): void {
  if (!(e instanceof BgpError)) throw new Error(`${where} threw something other than BgpError: ${String((e as Error)?.stack ?? e)}`);
  const n = e.notification;
  if (!Number.isInteger(n.code) || n.code < 1 || n.code > 8 || !Number.isInteger(n.subcode) || n.subcode < 0 || n.subcode > 255 || !Buffer.isBuffer(n.data)) {
    throw new Error(`${where}: bad NOTIFICATION ${n.code}/${n.subcode}`);
  }
  if (!HANDLINGS.has(e.handling)) throw new Error(`${where}: bad handling ${e.handling}`);
}

function decodeOne(msg: Buffer, ctx: CodecContext, stats: { decoded: number; rejected: number; reencoded: number }): void {
  try {
    const res = decodeMessage(msg, ctx);
    stats.decoded++;
    for (const i of res.issues) {
      checkError(i, 'issue');
      if (i.handling === 'session-reset' || i.handling === 'afisafi-disable') throw new Error('fatal handling returned as an issue');
    }
    // Re-encode a quarter of what decoded (encoding costs more than decoding).
    if (stats.decoded % 4 !== 0) return;
    let again: Buffer | undefined;
    try {
      again = encodeMessage(res.message, ctx);
    } catch (e) {
      if (!(e instanceof BgpEncodeError)) throw e;
    }
    if (again) {
      stats.reencoded++;
      decodeMessage(again, ctx);
    }
  } catch (e) {
    checkError(e, 'decodeMessage');
    stats.rejected++;
  }
}

describe('fuzz', () => {
  it('100,000 mutated and random messages through Framer + decodeMessage: only BgpErrors with a NOTIFICATION', () => {
    const seeds = corpus();
    const r = rng(0x5eed);
    const stats = { decoded: 0, rejected: 0, reencoded: 0, incomplete: 0 };
    const framer = new Framer();
    const TOTAL = 100_000;
    for (let n = 0; n < TOTAL; n++) {
      const ctx = CONTEXTS[n % CONTEXTS.length]!;
      const wire = r() % 10 === 0 ? randomMessage(r) : mutate(seeds[r() % seeds.length]!, r);
      framer.reset();
      framer.setExtendedMessage(ctx.extendedMessage.receive);
      // Deliver in two pieces so the header and body checks run on split input too.
      const cut = r() % (wire.length + 1);
      let msg: Buffer | undefined;
      try {
        framer.push(wire.subarray(0, cut));
        msg = framer.next();
        if (!msg) {
          framer.push(wire.subarray(cut));
          msg = framer.next();
        }
      } catch (e) {
        checkError(e, 'Framer.next');
        stats.rejected++;
        continue;
      }
      if (!msg) {
        // The (mutated) length field asks for more bytes than were sent: the framer waits.
        stats.incomplete++;
        continue;
      }
      decodeOne(msg, ctx, stats);
    }
    expect(stats.decoded + stats.rejected + stats.incomplete).toBe(TOTAL);
    // Every outcome must be well represented, or the mutations are not reaching the decoder.
    expect(stats.decoded).toBeGreaterThan(TOTAL * 0.2);
    expect(stats.rejected).toBeGreaterThan(TOTAL * 0.2);
    expect(stats.reencoded).toBeGreaterThan(TOTAL * 0.05);
  });

  it('a stream of valid and mutated messages: the framer keeps framing until a header error', () => {
    const seeds = corpus();
    const r = rng(0xfeed);
    const ctx = CONTEXTS[0]!;
    const stats = { decoded: 0, rejected: 0, reencoded: 0 };
    for (let round = 0; round < 500; round++) {
      const framer = new Framer();
      const batch: Buffer[] = [];
      for (let k = 0; k < 10; k++) batch.push(r() % 4 === 0 ? mutate(seeds[r() % seeds.length]!, r) : seeds[r() % seeds.length]!);
      const stream = Buffer.concat(batch);
      let pos = 0;
      let dead = false;
      while (pos < stream.length && !dead) {
        const step = 1 + (r() % 700);
        framer.push(stream.subarray(pos, pos + step));
        pos += step;
        for (;;) {
          let msg: Buffer | undefined;
          try {
            msg = framer.next();
          } catch (e) {
            checkError(e, 'Framer.next');
            dead = true;
            break;
          }
          if (!msg) break;
          decodeOne(msg, ctx, stats);
        }
      }
    }
    expect(stats.decoded).toBeGreaterThan(1000);
  });
});
