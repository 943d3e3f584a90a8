// The framer separates "need more bytes" (undefined) from "malformed header" (BgpError,
// Message Header Error, session reset), whatever the chunking of the stream.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BgpError, encodeMessage, Framer, makeContext, type BgpMessage } from '../../../../bgp/packet/index.js';
import { arbNotification, arbOpen, arbRouteRefresh, arbUpdate } from './arbitraries.js';
import { hex, MARKER } from './hex.js';

const KEEPALIVE = hex(`${MARKER} 0013 04`);

function headerError(f: Framer): BgpError {
  try {
    f.next();
  } catch (e) {
    expect(e).toBeInstanceOf(BgpError);
    return e as BgpError;
  }
  throw new Error('expected the framer to throw');
}

describe('Framer', () => {
  it('waits for a whole header, then for the whole message', () => {
    const f = new Framer();
    f.push(KEEPALIVE.subarray(0, 10));
    expect(f.next()).toBeUndefined();
    f.push(KEEPALIVE.subarray(10, 18));
    expect(f.next()).toBeUndefined();
    f.push(KEEPALIVE.subarray(18));
    expect(f.next()).toEqual(KEEPALIVE);
    expect(f.next()).toBeUndefined();
    expect(f.pending).toBe(0);
  });

  it('returns a message inside one chunk as a view of that chunk (no copy)', () => {
    const chunk = Buffer.concat([KEEPALIVE, KEEPALIVE]);
    const f = new Framer();
    f.push(chunk);
    const a = f.next()!;
    const b = f.next()!;
    expect(a.buffer).toBe(chunk.buffer);
    expect(b.byteOffset - a.byteOffset).toBe(19);
  });

  it('reassembles any split of a stream of messages', () => {
    const ctx = makeContext({ fourOctetAs: true });
    const arbMsg: fc.Arbitrary<BgpMessage> = fc.oneof(arbOpen, arbUpdate(makeContext({ fourOctetAs: true })), arbNotification, arbRouteRefresh, fc.constant({ type: 'keepalive' as const }));
    fc.assert(
      fc.property(fc.array(arbMsg, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 300 }), { minLength: 1, maxLength: 50 }), (msgs, cuts) => {
        const wires = msgs.map((m) => encodeMessage(m, { ...ctx, extendedMessage: { send: false, receive: false } })).filter((w) => w.length <= 4096);
        const stream = Buffer.concat(wires);
        const f = new Framer();
        const got: Buffer[] = [];
        let pos = 0;
        let k = 0;
        while (pos < stream.length) {
          const n = cuts[k++ % cuts.length]!;
          f.push(stream.subarray(pos, pos + n));
          pos += n;
          for (let m = f.next(); m; m = f.next()) got.push(Buffer.from(m));
        }
        expect(got).toEqual(wires);
        expect(f.pending).toBe(0);
      }),
      { numRuns: 100 },
    );
  });

  it('a bad marker is Connection Not Synchronized, and stays an error until reset()', () => {
    const f = new Framer();
    const bad = Buffer.from(KEEPALIVE);
    bad[3] = 0xfe;
    f.push(bad);
    const e = headerError(f);
    expect([e.notification.code, e.notification.subcode, e.handling]).toEqual([1, 1, 'session-reset']);
    expect(() => f.next()).toThrow(BgpError);
    f.reset();
    f.push(KEEPALIVE);
    expect(f.next()).toEqual(KEEPALIVE);
  });

  it.each([
    ['length 18', `${MARKER} 0012 04`, 2, '0012'],
    ['length 4097 without Extended Message', `${MARKER} 1001 02`, 2, '1001'],
    ['KEEPALIVE of length 20', `${MARKER} 0014 04`, 2, '0014'],
    ['UPDATE shorter than 23', `${MARKER} 0016 02`, 2, '0016'],
    ['OPEN shorter than 29', `${MARKER} 001c 01`, 2, '001c'],
    ['unknown type 9', `${MARKER} 0013 09`, 3, '09'],
  ])('%s is a Message Header Error with the offending field as data', (_n, h, subcode, data) => {
    const f = new Framer();
    f.push(hex(h));
    const e = headerError(f);
    expect([e.notification.code, e.notification.subcode, e.notification.data.toString('hex')]).toEqual([1, subcode, data]);
  });

  it('the header is checked as soon as it is complete, before the body arrives', () => {
    const f = new Framer();
    f.push(hex(`${MARKER} ffff 02`));
    expect(headerError(f).notification.subcode).toBe(2);
  });

  it('accepts up to 65535 octets once Extended Message is received, but never for OPEN', () => {
    const f = new Framer({ extendedMessage: true });
    const big = Buffer.alloc(5000);
    big.fill(0xff, 0, 16);
    big.writeUInt16BE(5000, 16);
    big[18] = 2;
    f.push(big);
    expect(f.next()?.length).toBe(5000);
    const open = Buffer.from(big);
    open[18] = 1;
    f.push(open);
    expect(headerError(f).notification.subcode).toBe(2);
    const g = new Framer();
    g.setExtendedMessage(true);
    g.push(big);
    expect(g.next()?.length).toBe(5000);
  });
});
