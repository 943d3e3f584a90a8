import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  addrAt, cidrContains, cidrsOverlap, cidrTextHolder, cidrTextHolds, formatCidr, formatIp, InvalidAddressError, ordinalOf, parseCidr, parseIp, subnets,
} from '../../../src/api/cidr.js';

describe('addresses', () => {
  test.each([
    ['10.65.0.1', '10.65.0.1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['fd00::1', 'fd00::1'],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::', '::'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['::ffff:a00:1', '::ffff:10.0.0.1'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['fe80::1:0:0:0', 'fe80::1:0:0:0'],
    ['fe80:0:0:1:0:0:0:0', 'fe80:0:0:1::'],
  ])('%s prints as %s', (input, out) => {
    expect(formatIp(parseIp(input))).toBe(out);
  });

  test.each(['10.0.0', '10.0.0.256', '01.2.3.4', 'fd00:::1', '1:2:3:4:5:6:7:8:9', 'hello', '', 'fe80::1%eth0', '1::2::3'])(
    'rejects %s',
    (input) => {
      expect(() => parseIp(input)).toThrow(InvalidAddressError);
    },
  );

  test('IPv4 and IPv6 print → parse round-trip', () => {
    fc.assert(
      fc.property(fc.ipV4(), (s) => formatIp(parseIp(s)) === s),
    );
    fc.assert(
      fc.property(fc.ipV6(), (s) => {
        const a = parseIp(s);
        return parseIp(formatIp(a)).addr === a.addr;
      }),
    );
  });
});

describe('prefixes', () => {
  test('host bits set is an error that names the network meant', () => {
    expect(() => parseCidr('10.65.0.1/24')).toThrow(/did you mean 10\.65\.0\.0\/24/);
    expect(parseCidr('10.65.0.1/24', { strict: false }).prefixLength).toBe(24);
  });
  test('bad lengths and missing length', () => {
    expect(() => parseCidr('10.0.0.0/33')).toThrow(/0\.\.32/);
    expect(() => parseCidr('fd00::/129')).toThrow(/0\.\.128/);
    expect(() => parseCidr('10.0.0.0')).toThrow(/address\/prefix-length/);
    expect(formatCidr(parseCidr('10.0.0.7', { allowBare: true }))).toBe('10.0.0.7/32');
  });
  test('containment, overlap, ordinals, subnets', () => {
    const pool = parseCidr('10.65.0.0/16');
    expect(cidrContains(pool, parseCidr('10.65.3.0/26'))).toBe(true);
    expect(cidrContains(pool, parseCidr('10.66.0.0/26'))).toBe(false);
    expect(cidrContains(pool, parseIp('10.65.255.255'))).toBe(true);
    expect(cidrContains(pool, parseIp('fd00::1'))).toBe(false);
    expect(cidrsOverlap(parseCidr('10.0.0.0/8'), parseCidr('10.1.0.0/16'))).toBe(true);
    expect(cidrsOverlap(parseCidr('10.0.0.0/16'), parseCidr('10.1.0.0/16'))).toBe(false);
    const block = parseCidr('10.65.0.64/26');
    expect(formatIp(addrAt(block, 5))).toBe('10.65.0.69');
    expect(ordinalOf(block, parseIp('10.65.0.127'))).toBe(63);
    expect(ordinalOf(block, parseIp('10.65.0.128'))).toBeUndefined();
    const subs = [...subnets(parseCidr('10.65.0.0/24'), 26)].map(formatCidr);
    expect(subs).toEqual(['10.65.0.0/26', '10.65.0.64/26', '10.65.0.128/26', '10.65.0.192/26']);
    expect([...subnets(parseCidr('fd00::/120'), 122)].map(formatCidr)).toEqual([
      'fd00::/122', 'fd00::40/122', 'fd00::80/122', 'fd00::c0/122',
    ]);
  });
});

describe('cidrTextHolds', () => {
  /** What it must equal: parseCidr (host bits allowed, bare = host prefix) + cidrContains. */
  const reference = (text: string, ip: string): boolean | 'throws' => {
    try {
      return cidrContains(parseCidr(text, { strict: false, allowBare: true }), parseIp(ip));
    } catch {
      return 'throws';
    }
  };
  const actual = (text: string, ip: string): boolean | 'throws' => {
    try {
      return cidrTextHolds(text, parseIp(ip));
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidAddressError);
      return 'throws';
    }
  };

  test.each([
    ['10.0.0.5/32', '10.0.0.5', true],
    ['10.0.0.5', '10.0.0.5', true],
    ['10.0.0.5/32', '10.0.0.6', false],
    ['10.0.0.5/24', '10.0.0.200', true],
    ['10.0.1.0/24', '10.0.0.200', false],
    ['0.0.0.0/0', '203.0.113.9', true],
    ['128.0.0.0/1', '127.255.255.255', false],
    ['255.255.255.255/32', '255.255.255.255', true],
    ['10.0.0.5/32', 'fd00::5', false],
    ['fd00::/126', 'fd00::3', true],
    ['fd00::/126', '10.0.0.3', false],
    ['010.0.0.5/32', '10.0.0.5', 'throws'],
    ['10.0.0.256/32', '10.0.0.5', 'throws'],
    ['10.0.0.5/33', '10.0.0.5', 'throws'],
    ['10.0.0/8', '10.0.0.5', 'throws'],
  ] as const)('%s holds %s: %s', (text, ip, want) => {
    expect(actual(text, ip)).toBe(want);
    expect(reference(text, ip)).toBe(want);
  });

  test('agrees with parseCidr + cidrContains on random texts', () => {
    const octet = fc.oneof(fc.integer({ min: 0, max: 300 }).map(String), fc.constantFrom('00', '01', '007', '255', '0'));
    const v4 = fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'));
    const text = fc.tuple(v4, fc.option(fc.integer({ min: 0, max: 40 }))).map(([a, l]) => (l === null ? a : `${a}/${l}`));
    const ip = fc.oneof(fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((o) => o.join('.')), fc.constant('fd00::1'));
    const viaHolder = (t: string, i: string): boolean | 'throws' => {
      try {
        return cidrTextHolder([parseIp(i)])(t);
      } catch {
        return 'throws';
      }
    };
    fc.assert(fc.property(text, ip, (t, i) => actual(t, i) === reference(t, i) && viaHolder(t, i) === reference(t, i)), { numRuns: 2000 });
  });

  test('cidrTextHolder(ips)(text) is cidrTextHolds for any of them', () => {
    const ips = ['10.0.0.5', '10.0.0.77', 'fd00::5'].map(parseIp);
    const holder = cidrTextHolder(ips);
    const texts = ['10.0.0.5/32', '10.0.0.5', '10.0.0.6/32', '10.0.0.77/32', '10.0.0.0/24', '10.0.1.0/24', 'fd00::5/128', 'fd00::/64', '0.0.0.0/0', '255.255.255.255/32', '10.0.0.05/32'];
    for (const t of texts) {
      const want = texts.indexOf(t) === texts.length - 1 ? 'throws' : ips.some((ip) => cidrTextHolds(t, ip));
      let got: boolean | 'throws';
      try {
        got = holder(t);
      } catch {
        got = 'throws';
      }
      expect({ t, got }).toEqual({ t, got: want });
    }
  });
});
