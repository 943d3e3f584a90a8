// Property tests: for random valid messages, decode(encode(m)) gives m back, on every kind of
// session (2- or 4-octet AS, ADD-PATH on or off per family).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, makeContext, type BgpMessage, type CodecContext } from '../../../../bgp/packet/index.js';
import { arbContext, arbNotification, arbOpen, arbRouteRefresh, arbUpdate } from './arbitraries.js';

function roundTrip(m: BgpMessage, ctx: CodecContext): void {
  const wire = encodeMessage(m, ctx);
  const r = decodeMessage(wire, ctx);
  expect(r.issues).toEqual([]);
  expect(r.treatAsWithdraw).toBe(false);
  const got = { ...r.message } as Record<string, unknown>;
  delete got.rawAttrs;
  expect(got).toEqual(m);
  // And the encoding is stable: the decoded message encodes to the same octets.
  expect(encodeMessage(r.message, ctx).equals(wire)).toBe(true);
}

const plain = makeContext();

describe('round trip', () => {
  it('UPDATE', () => {
    fc.assert(
      fc.property(arbContext.chain((ctx) => fc.tuple(fc.constant(ctx), arbUpdate(ctx))), ([ctx, m]) => roundTrip(m, ctx)),
      { numRuns: 200 },
    );
  });
  it('OPEN (including RFC 9072 extended optional parameters when capabilities exceed 255 octets)', () => {
    fc.assert(fc.property(arbOpen, (m) => roundTrip(m, plain)), { numRuns: 300 });
  });
  it('NOTIFICATION', () => {
    fc.assert(fc.property(arbNotification, (m) => roundTrip(m, plain)), { numRuns: 200 });
  });
  it('ROUTE-REFRESH', () => {
    fc.assert(fc.property(arbRouteRefresh, (m) => roundTrip(m, plain)), { numRuns: 200 });
  });
  it('KEEPALIVE', () => {
    roundTrip({ type: 'keepalive' }, plain);
  });
});
