// packUpdates / packWithdrawals: every prefix arrives exactly once, in order, in as few
// messages as the maximum size allows; each message decodes cleanly.
import { describe, expect, it } from 'vitest';
import {
  BgpEncodeError,
  decodeMessage,
  encodeAttributeSet,
  formatPrefix,
  ipv4Prefix,
  ipv6Prefix,
  makeContext,
  packUpdates,
  packWithdrawals,
  parseIpv6,
  parseNextHop,
  type CodecContext,
  type PathAttributes,
  type Prefix,
  type UpdateMessage,
} from '../../../../bgp/packet/index.js';

const ctx = makeContext({ fourOctetAs: true });
const attrs: PathAttributes = {
  origin: 0,
  asPath: [{ type: 2, asns: [65001, 65002] }],
  nextHop: parseNextHop('192.0.2.1'),
  communities: [65001 * 65536 + 1],
};

function host32s(n: number, base = 0x0a000000): Prefix[] {
  return Array.from({ length: n }, (_, i) => ipv4Prefix(base + i, 32));
}

function decodeAll(msgs: Buffer[], c: CodecContext): { announced: Prefix[]; withdrawn: Prefix[]; updates: UpdateMessage[] } {
  const announced: Prefix[] = [];
  const withdrawn: Prefix[] = [];
  const updates: UpdateMessage[] = [];
  for (const m of msgs) {
    const r = decodeMessage(m, c);
    expect(r.issues).toEqual([]);
    expect(r.treatAsWithdraw).toBe(false);
    const u = r.message as UpdateMessage;
    updates.push(u);
    announced.push(...u.nlri, ...(u.mpReach?.nlri ?? []));
    withdrawn.push(...u.withdrawn, ...(u.mpUnreach?.withdrawn ?? []));
  }
  return { announced, withdrawn, updates };
}

describe('packUpdates', () => {
  it('packs 10,000 IPv4 /32s into the fewest 4096-octet UPDATEs, in order', () => {
    const prefixes = host32s(10_000);
    const msgs = packUpdates(attrs, prefixes, ctx);
    for (const m of msgs) expect(m.length).toBeLessThanOrEqual(4096);
    const { announced, updates } = decodeAll(msgs, ctx);
    expect(announced).toEqual(prefixes);
    for (const u of updates) expect(u.attrs).toEqual(attrs);
    // Attributes: ORIGIN 4 + AS_PATH 3+10 + NEXT_HOP 7 + COMMUNITIES 7 = 31; header etc. 23.
    const perMessage = Math.floor((4096 - 23 - 31) / 5);
    expect(msgs.length).toBe(Math.ceil(10_000 / perMessage));
  });

  it('uses up to 65535 octets when the peer accepts Extended Messages', () => {
    const big = makeContext({ fourOctetAs: true, extendedMessage: { send: true, receive: true } });
    const msgs = packUpdates(attrs, host32s(20_000), big);
    expect(msgs.length).toBe(Math.ceil(20_000 / Math.floor((65535 - 23 - 31) / 5)));
    expect(decodeAll(msgs, big).announced).toHaveLength(20_000);
  });

  it('puts IPv6 prefixes in MP_REACH_NLRI with the IPv6 next hop (and link-local)', () => {
    const v6attrs = { ...attrs, nextHop: parseNextHop('2001:db8::1%fe80::1') };
    const prefixes = Array.from({ length: 3000 }, (_, i) => {
      const a = parseIpv6('2001:db8::');
      a.writeUInt32BE(i, 8);
      return ipv6Prefix(a, 64);
    });
    const msgs = packUpdates(v6attrs, prefixes, ctx);
    for (const m of msgs) expect(m.length).toBeLessThanOrEqual(4096);
    const { announced, updates } = decodeAll(msgs, ctx);
    expect(announced.map(formatPrefix)).toEqual(prefixes.map(formatPrefix));
    expect(updates[0]!.mpReach!.nextHop).toEqual(v6attrs.nextHop);
    expect(updates[0]!.attrs.nextHop).toBeUndefined();
  });

  it('mixes families: IPv4 in the NLRI field needs an IPv4 next hop, IPv6 needs IPv6', () => {
    expect(() => packUpdates(attrs, [ipv6Prefix(parseIpv6('2001:db8::'), 32)], ctx)).toThrow(BgpEncodeError);
  });

  it('sends IPv4 prefixes with an IPv6 next hop in MP_REACH_NLRI only with extended next hop (RFC 8950)', () => {
    const v6nh = { ...attrs, nextHop: parseNextHop('2001:db8::1') };
    expect(() => packUpdates(v6nh, host32s(3), ctx)).toThrow(/Extended Next Hop/);
    const enh = makeContext({ fourOctetAs: true, extendedNextHop: true });
    const { updates, announced } = decodeAll(packUpdates(v6nh, host32s(3), enh), enh);
    expect(announced).toEqual(host32s(3));
    expect(updates[0]!.mpReach).toMatchObject({ afi: 1, safi: 1, nextHop: v6nh.nextHop });
  });

  it('writes ADD-PATH identifiers when sending is negotiated', () => {
    const ap = makeContext({ fourOctetAs: true, addPath: { ipv4: { send: true, receive: true }, ipv6: { send: false, receive: false } } });
    const prefixes = [ipv4Prefix(0x0a000001, 32, 1), ipv4Prefix(0x0a000001, 32, 2)];
    expect(decodeAll(packUpdates(attrs, prefixes, ap), ap).announced).toEqual(prefixes);
  });

  it('reuses a pre-encoded attribute set byte for byte', () => {
    const set = encodeAttributeSet(attrs, true);
    const a = packUpdates(set, host32s(2000), ctx);
    const b = packUpdates(attrs, host32s(2000), ctx);
    expect(a.length).toBe(b.length);
    expect(Buffer.concat(a).equals(Buffer.concat(b))).toBe(true);
    expect(() => packUpdates(set, host32s(1), makeContext({ fourOctetAs: false }))).toThrow(/AS width/);
  });

  it('encodes for 2-octet peers with AS_TRANS + AS4_PATH, decoded back to the 4-octet path', () => {
    const old = makeContext({ fourOctetAs: false });
    const a = { ...attrs, asPath: [{ type: 2 as const, asns: [4200000001, 65001] }] };
    const { updates } = decodeAll(packUpdates(a, host32s(10), old), old);
    expect(updates[0]!.attrs.asPath).toEqual(a.asPath);
  });

  it('refuses an announcement without ORIGIN, AS_PATH or next hop, and attributes that leave no room', () => {
    expect(() => packUpdates({ asPath: [], nextHop: parseNextHop('192.0.2.1') }, host32s(1), ctx)).toThrow(/ORIGIN/);
    expect(() => packUpdates({ origin: 0, asPath: [] }, host32s(1), ctx)).toThrow(/next hop/);
    const huge = { ...attrs, communities: Array.from({ length: 1100 }, (_, i) => i) };
    expect(() => packUpdates(huge, host32s(1), ctx)).toThrow(/not even one prefix/);
  });
});

describe('packWithdrawals', () => {
  it('withdraws IPv4 in the Withdrawn Routes field and IPv6 in MP_UNREACH_NLRI', () => {
    const v4 = host32s(5000);
    const v6 = Array.from({ length: 2000 }, (_, i) => {
      const a = parseIpv6('2001:db8::');
      a.writeUInt32BE(i, 12);
      return ipv6Prefix(a, 128);
    });
    const msgs = packWithdrawals([...v4, ...v6], ctx);
    for (const m of msgs) expect(m.length).toBeLessThanOrEqual(4096);
    const { withdrawn, updates } = decodeAll(msgs, ctx);
    expect(withdrawn.map(formatPrefix)).toEqual([...v4, ...v6].map(formatPrefix));
    for (const u of updates) expect(u.attrs).toEqual({});
    expect(msgs.length).toBe(Math.ceil(5000 / Math.floor((4096 - 23) / 5)) + Math.ceil(2000 / Math.floor((4096 - 23 - 4 - 3) / 17)));
  });
});
