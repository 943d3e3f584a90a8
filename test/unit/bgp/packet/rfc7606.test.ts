// RFC 7606 error handling: each malformation gets the approach the RFC gives it (§3, §4, §5, §7)
// and the NOTIFICATION code/subcode RFC 4271 §6.3 names.
import { describe, expect, it } from 'vitest';
import { BgpError, decodeMessage, formatPrefix, makeContext, type CodecContext, type UpdateMessage } from '../../../../bgp/packet/index.js';
import { BASE_ATTRS, update } from './hex.js';

const ibgp = makeContext({ fourOctetAs: true });
const ebgp = makeContext({ fourOctetAs: true, ebgp: true });
const old = makeContext({ fourOctetAs: false });
const NLRI = '18 0a0001   # 10.0.1.0/24';

function fatal(buf: Buffer, ctx: CodecContext = ibgp): BgpError {
  try {
    decodeMessage(buf, ctx);
  } catch (e) {
    expect(e).toBeInstanceOf(BgpError);
    return e as BgpError;
  }
  throw new Error('expected the decoder to throw');
}

function outcome(buf: Buffer, ctx: CodecContext = ibgp): { m: UpdateMessage; taw: boolean; subcodes: number[]; handling: string[] } {
  const r = decodeMessage(buf, ctx);
  return {
    m: r.message as UpdateMessage,
    taw: r.treatAsWithdraw,
    subcodes: r.issues.map((i) => i.notification.subcode),
    handling: r.issues.map((i) => i.handling),
  };
}

describe('treat-as-withdraw still returns the NLRI so they can be withdrawn', () => {
  it('bad ORIGIN value → Invalid ORIGIN, treat-as-withdraw', () => {
    const o = outcome(update(`40 01 01 07  # ORIGIN 7
      40 02 06 02 01 0000fde9 40 03 04 c0000202`, NLRI));
    expect(o.taw).toBe(true);
    expect(o.subcodes).toEqual([6]);
    expect(o.m.nlri.map((p) => formatPrefix(p))).toEqual(['10.0.1.0/24']);
    expect(o.m.attrs.origin).toBeUndefined();
  });
  it('ORIGIN of length 2 → Attribute Length Error, treat-as-withdraw', () => {
    const o = outcome(update(`40 01 02 0000 40 02 06 02 01 0000fde9 40 03 04 c0000202`, NLRI));
    expect([o.taw, o.subcodes]).toEqual([true, [5]]);
  });
  it('NEXT_HOP of length 5 → Attribute Length Error, treat-as-withdraw', () => {
    const o = outcome(update(`40 01 01 00 40 02 06 02 01 0000fde9 40 03 05 c000020201`, NLRI));
    expect([o.taw, o.subcodes]).toEqual([true, [5]]);
    expect(o.m.nlri).toHaveLength(1);
  });
  it('missing ORIGIN → Missing Well-known Attribute with the type as data', () => {
    const r = decodeMessage(update(`40 02 06 02 01 0000fde9 40 03 04 c0000202`, NLRI), ibgp);
    expect(r.treatAsWithdraw).toBe(true);
    expect(r.issues.map((i) => [i.notification.subcode, i.notification.data.toString('hex')])).toEqual([[3, '01']]);
  });
  it('missing NEXT_HOP with IPv4 NLRI → treat-as-withdraw; not required when only MP_REACH announces', () => {
    expect(outcome(update(`40 01 01 00 40 02 06 02 01 0000fde9`, NLRI)).subcodes).toEqual([3]);
    const mp = outcome(update(`80 0e 16 0002 01 10 20010db8000000000000000000000001 00 00   # MP_REACH ::/0 via 2001:db8::1
      40 01 01 00 40 02 06 02 01 0000fde9`));
    expect(mp.taw).toBe(false);
    expect(mp.m.mpReach?.nlri).toHaveLength(1);
  });
  it('AS_PATH segment overrun → Malformed AS_PATH, treat-as-withdraw', () => {
    const o = outcome(update(`40 01 01 00 40 02 06 02 02 0000fde9   # says 2 ASes, holds 1
      40 03 04 c0000202`, NLRI));
    expect([o.taw, o.subcodes]).toEqual([true, [11]]);
  });
  it('AS_PATH with a zero-length segment or an undefined segment type → treat-as-withdraw', () => {
    expect(outcome(update(`40 01 01 00 40 02 02 02 00 40 03 04 c0000202`, NLRI)).subcodes).toEqual([11]);
    expect(outcome(update(`40 01 01 00 40 02 06 05 01 0000fde9 40 03 04 c0000202`, NLRI)).subcodes).toEqual([11]);
  });
  it('attribute flags that conflict with the type → Attribute Flags Error, treat-as-withdraw', () => {
    const o = outcome(update(`c0 01 01 00  # ORIGIN marked optional
      40 02 06 02 01 0000fde9 40 03 04 c0000202`, NLRI));
    expect([o.taw, o.subcodes]).toEqual([true, [4]]);
  });
  it.each([
    ['MULTI_EXIT_DISC length 3', '80 04 03 000001'],
    ['LOCAL_PREF length 3 (iBGP)', '40 05 03 000001'],
    ['COMMUNITIES length 5', 'c0 08 05 0000000001'],
    ['COMMUNITIES length 0', 'c0 08 00'],
    ['ORIGINATOR_ID length 3 (iBGP)', '80 09 03 c00002'],
    ['CLUSTER_LIST length 6 (iBGP)', '80 0a 06 c0000205 0000'],
    ['EXTENDED_COMMUNITIES length 7', 'c0 10 07 00020000000000'],
    ['LARGE_COMMUNITY length 11', 'c0 20 0b 0000000000000000000000'],
  ])('%s → treat-as-withdraw', (_n, attr) => {
    const o = outcome(update(`${BASE_ATTRS} ${attr}`, NLRI));
    expect(o.taw).toBe(true);
    expect(o.subcodes).toEqual([5]);
  });
  it('an attribute running past the attribute block → treat-as-withdraw, NLRI located by the total length', () => {
    const o = outcome(update(`${BASE_ATTRS} c0 08 08 00000001   # COMMUNITIES says 8, 4 follow`, NLRI));
    expect(o.taw).toBe(true);
    expect(o.m.nlri.map((p) => formatPrefix(p))).toEqual(['10.0.1.0/24']);
  });
  it('fewer than three octets left for an attribute header → treat-as-withdraw', () => {
    const o = outcome(update(`${BASE_ATTRS} c0 08`, NLRI));
    expect(o.taw).toBe(true);
  });
  it('treat-as-withdraw returns MP_REACH prefixes too', () => {
    const o = outcome(update(`80 0e 16 0002 01 10 20010db8000000000000000000000001 00 00
      40 01 01 09 40 02 06 02 01 0000fde9   # ORIGIN 9`));
    expect(o.taw).toBe(true);
    expect(o.m.mpReach!.nlri.map((p) => formatPrefix(p))).toEqual(['::/0']);
  });
});

describe('attribute discard', () => {
  it('a repeated attribute: the first is kept, repeats are discarded', () => {
    const o = outcome(update(`${BASE_ATTRS} 80 04 04 00000001  80 04 04 00000002   # MED twice`, NLRI));
    expect(o.taw).toBe(false);
    expect(o.handling).toEqual(['attribute-discard']);
    expect(o.m.attrs.med).toBe(1);
  });
  it('LOCAL_PREF, ORIGINATOR_ID and CLUSTER_LIST from an external peer are discarded', () => {
    const o = outcome(update(`${BASE_ATTRS} 40 05 04 00000064 80 09 04 c0000204 80 0a 04 c0000205`, NLRI), ebgp);
    expect(o.taw).toBe(false);
    expect(o.handling).toEqual(['attribute-discard', 'attribute-discard', 'attribute-discard']);
    expect(o.m.attrs.localPref).toBeUndefined();
    expect(o.m.attrs.originatorId).toBeUndefined();
  });
  it('ATOMIC_AGGREGATE of length 1 and AGGREGATOR of length 7 are discarded', () => {
    const o = outcome(update(`${BASE_ATTRS} 40 06 01 00 c0 07 07 0000fde9c00002`, NLRI));
    expect(o.taw).toBe(false);
    expect(o.subcodes).toEqual([5, 5]);
    expect(o.m.attrs.atomicAggregate).toBeUndefined();
    expect(o.m.attrs.aggregator).toBeUndefined();
  });
  it('a malformed AS4_PATH on a 2-octet session is discarded and AS_PATH used as is (RFC 6793 §6)', () => {
    const o = outcome(
      update(`40 01 01 00 40 02 04 02 01 5ba0 40 03 04 c0000202
        c0 11 05 02 01 000100   # AS4_PATH truncated`, NLRI),
      old,
    );
    expect(o.taw).toBe(false);
    expect(o.handling).toEqual(['attribute-discard']);
    expect(o.m.attrs.asPath).toEqual([{ type: 2, asns: [23456] }]);
  });
  it('AS4_PATH on a 4-octet session is discarded', () => {
    const o = outcome(update(`${BASE_ATTRS} c0 11 06 02 01 00010000`, NLRI));
    expect(o.handling).toEqual(['attribute-discard']);
    expect(o.m.attrs.asPath).toEqual([{ type: 2, asns: [65001] }]);
  });
  it('AS4_AGGREGATOR of length 7 is discarded', () => {
    const o = outcome(update(`40 01 01 00 40 02 04 02 01 fde9 40 03 04 c0000202 c0 12 07 00010000c00002`, NLRI), old);
    expect(o.handling).toEqual(['attribute-discard']);
  });
  it('MP_REACH for a family Twill does not decode is ignored', () => {
    const o = outcome(update(`80 0e 0a 0001 80 04 c0000202 00 00   # AFI 1 SAFI 128 (VPN)
      40 01 01 00 40 02 06 02 01 0000fde9`));
    expect(o.handling).toEqual(['attribute-discard']);
    expect(o.m.mpReach).toBeUndefined();
  });
  it('the extended length bit on a short attribute is not an error', () => {
    const o = outcome(update(`50 01 0001 00 40 02 06 02 01 0000fde9 40 03 04 c0000202`, NLRI));
    expect([o.taw, o.subcodes, o.m.attrs.origin]).toEqual([false, [], 0]);
  });
  it('the strongest approach wins: discard plus treat-as-withdraw is treat-as-withdraw', () => {
    const o = outcome(update(`${BASE_ATTRS} 40 06 01 00  c0 08 03 000000`, NLRI));
    expect(o.taw).toBe(true);
    expect(o.handling).toEqual(['attribute-discard', 'treat-as-withdraw']);
  });
});

describe('session reset', () => {
  it('total path attribute length past the end of the message → Malformed Attribute List', () => {
    const buf = update(BASE_ATTRS, NLRI);
    buf.writeUInt16BE(200, 21);
    const e = fatal(buf);
    expect([e.notification.code, e.notification.subcode, e.handling]).toEqual([3, 1, 'session-reset']);
  });
  it('withdrawn routes length past the end of the message → Malformed Attribute List', () => {
    const buf = update(BASE_ATTRS, NLRI);
    buf.writeUInt16BE(500, 19);
    expect(fatal(buf).notification.subcode).toBe(1);
  });
  it('NLRI prefix length 33 → Invalid Network Field', () => {
    const e = fatal(update(BASE_ATTRS, '21 0a000001 00'));
    expect([e.notification.subcode, e.handling]).toEqual([10, 'session-reset']);
  });
  it('NLRI prefix running past the message → Invalid Network Field', () => {
    expect(fatal(update(BASE_ATTRS, '20 0a00')).notification.subcode).toBe(10);
  });
  it('withdrawn prefix length 40 → session reset', () => {
    expect(fatal(update('', '', '28 0a000000 00')).handling).toBe('session-reset');
  });
  it('MP_REACH_NLRI twice → Malformed Attribute List', () => {
    const mp = '80 0e 16 0002 01 10 20010db8000000000000000000000001 00 00';
    const e = fatal(update(`${mp} ${mp} 40 01 01 00 40 02 00`));
    expect([e.notification.subcode, e.handling]).toEqual([1, 'session-reset']);
  });
  it('an unrecognised well-known attribute → Unrecognized Well-known Attribute', () => {
    const e = fatal(update(`${BASE_ATTRS} 40 63 01 00`, NLRI));
    expect([e.notification.subcode, e.notification.data.toString('hex')]).toEqual([2, '40630100']);
  });
  it('malformed attribute and no NLRI at all → session reset (RFC 7606 §5.2)', () => {
    const e = fatal(update(`40 01 01 07 40 02 00`));
    expect([e.notification.subcode, e.handling]).toEqual([6, 'session-reset']);
  });
  it('MP_REACH_NLRI shorter than AFI+SAFI → session reset (family unknown)', () => {
    const e = fatal(update(`80 0e 02 0002 40 01 01 00 40 02 00`));
    expect(e.handling).toBe('session-reset');
  });
});

describe('AFI/SAFI disable (RFC 4760 §7), which a speaker may treat as session reset', () => {
  it('MP_REACH next hop length 5 for IPv6', () => {
    const e = fatal(update(`80 0e 0a 0002 01 05 2001db8000 00   # next hop length 5
      40 01 01 00 40 02 00`));
    expect([e.notification.code, e.notification.subcode, e.handling, e.afi, e.safi]).toEqual([3, 9, 'afisafi-disable', 2, 1]);
  });
  it('MP_REACH prefix length 129', () => {
    const e = fatal(update(`80 0e 16 0002 01 10 20010db8000000000000000000000001 00 81
      40 01 01 00 40 02 00`));
    expect([e.handling, e.afi]).toEqual(['afisafi-disable', 2]);
  });
  it('MP_UNREACH prefix running past the attribute', () => {
    const e = fatal(update(`80 0f 05 0002 01 40 20   # /64 with 1 octet`));
    expect([e.handling, e.afi, e.safi]).toEqual(['afisafi-disable', 2, 1]);
  });
  it('MP_REACH with the transitive flag set', () => {
    const e = fatal(update(`c0 0e 16 0002 01 10 20010db8000000000000000000000001 00 00 40 01 01 00 40 02 00`));
    expect(e.handling).toBe('afisafi-disable');
  });
  it('a later NLRI field error still wins (session reset is stronger)', () => {
    const e = fatal(update(`80 0e 0a 0002 01 05 2001db8000 00 ${BASE_ATTRS}`, '21 0a000001 00'));
    expect(e.handling).toBe('session-reset');
  });
});

describe('errors explain themselves', () => {
  it('names the attribute, the problem and the approach', () => {
    const r = decodeMessage(update(`40 01 01 07 40 02 06 02 01 0000fde9 40 03 04 c0000202`, NLRI), ibgp);
    const i = r.issues[0]!;
    expect(i.code).toBe('BgpUpdateInvalidOriginAttribute');
    expect(i.message).toMatch(/ORIGIN.*value 7/);
    expect(i.message).toMatch(/treat-as-withdraw/);
    expect(i.notification.data.toString('hex')).toBe('40010107');
    expect(i.hint).toMatch(/withdrawn/);
  });
});
