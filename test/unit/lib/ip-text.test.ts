// One canonical address text at every boundary. A reference of RFC 5952 written independently
// (string search rather than a scan of groups) holds each boundary's formatter and parser to it:
// netlink (kernel dumps), iptables (the fake's iptables-save/ipset text), the API/datastore values
// (src/api/cidr.ts, validation), and BGP (packet codec, daemon config).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatCidr, formatIp, parseCidr, parseIp } from '../../../src/api/cidr.js';
import { formatIPv4, formatIPv4Number, formatIPv6, formatIPv6BigInt } from '../../../src/lib/ip-text.js';
import { canonicalIP, canonicalPrefix, formatIP as netlinkFormatIP } from '../../../src/netlink/ip.js';
import { parsePrefix as iptablesParsePrefix } from '../../../src/iptables/fake/net-canon.js';
import { formatIpv4 as bgpFormatIpv4, formatIpv6 as bgpFormatIpv6, formatPrefix as bgpFormatPrefix, parseIpv4 as bgpParseIpv4, parseIpv6 as bgpParseIpv6, parsePrefix as bgpParsePrefix } from '../../../bgp/packet/index.js';

/** RFC 5952 sections 4 and 5, the slow obvious way. */
function reference(b: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16));
  if (groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff') return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const s = `:${groups.join(':')}:`;
  for (let run = 8; run >= 2; run--) {
    const zeros = `:${new Array<string>(run).fill('0').join(':')}:`;
    const at = s.indexOf(zeros);
    if (at >= 0) return `${s.slice(1, at)}::${s.slice(at + zeros.length, -1)}`;
  }
  return groups.join(':');
}

/** Every group written out in full, upper case: what a user or another tool may hand us. */
function longForm(b: Uint8Array): string {
  return Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16).toUpperCase().padStart(4, '0')).join(':');
}

function toBigInt(b: Uint8Array): bigint {
  return b.reduce((v, x) => (v << 8n) | BigInt(x), 0n);
}

/** 16 octets, weighted towards what breaks formatters: zero runs and IPv4-mapped addresses. */
const v6 = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  fc.array(fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 }).map((g) => {
    const b = new Uint8Array(16);
    g.forEach((x, i) => ((b[2 * i] = x >> 8), (b[2 * i + 1] = x & 0xff)));
    return b;
  }),
  fc.uint8Array({ minLength: 4, maxLength: 4 }).map((v4) => Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4])),
);

describe('canonical IPv6 text (RFC 5952, IPv4-mapped as ::ffff:a.b.c.d)', () => {
  it('every boundary prints the reference form', () => {
    fc.assert(
      fc.property(v6, (b) => {
        const want = reference(b);
        expect(formatIPv6(b)).toBe(want);
        expect(formatIPv6BigInt(toBigInt(b))).toBe(want);
        expect(netlinkFormatIP(6, b)).toBe(want);
        expect(formatIp({ family: 6, addr: toBigInt(b) })).toBe(want);
        expect(bgpFormatIpv6(Buffer.from(b))).toBe(want);
      }),
      { numRuns: 2000 },
    );
  });

  it('every boundary reads any spelling back to the reference form', () => {
    fc.assert(
      fc.property(v6, (b) => {
        const want = reference(b);
        for (const text of [longForm(b), want]) {
          expect(canonicalIP(text)).toBe(want);
          expect(canonicalPrefix(`${text}/128`)).toBe(`${want}/128`);
          expect(formatIp(parseIp(text))).toBe(want);
          expect(formatCidr(parseCidr(`${text}/128`))).toBe(`${want}/128`);
          expect(iptablesParsePrefix(text, 6)?.addr).toBe(want);
          expect(bgpFormatIpv6(bgpParseIpv6(text))).toBe(want);
          expect(bgpFormatPrefix(bgpParsePrefix(`${text}/128`))).toBe(`${want}/128`);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it.each([
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['::ffff:a00:1', '::ffff:10.0.0.1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['::a00:1', '::a00:1'],
  ])('%s is written %s everywhere', (input, want) => {
    expect(canonicalIP(input)).toBe(want);
    expect(formatIp(parseIp(input))).toBe(want);
    expect(bgpFormatIpv6(bgpParseIpv6(input))).toBe(want);
    expect(iptablesParsePrefix(input, 6)?.addr).toBe(want);
  });
});

describe('canonical IPv4 text', () => {
  it('every boundary prints the dotted quad', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => {
        const want = `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
        const n = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
        expect(formatIPv4(b)).toBe(want);
        expect(formatIPv4Number(n)).toBe(want);
        expect(netlinkFormatIP(4, b)).toBe(want);
        expect(formatIp({ family: 4, addr: BigInt(n) })).toBe(want);
        expect(bgpFormatIpv4(n)).toBe(want);
        expect(bgpFormatIpv4(bgpParseIpv4(want))).toBe(want);
        expect(canonicalIP(want)).toBe(want);
        expect(iptablesParsePrefix(want, 4)?.addr).toBe(want);
      }),
      { numRuns: 500 },
    );
  });
});
