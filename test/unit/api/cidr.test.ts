import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  addrAt, cidrContains, cidrsOverlap, formatCidr, formatIp, InvalidAddressError, ordinalOf, parseCidr, parseIp, subnets,
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
