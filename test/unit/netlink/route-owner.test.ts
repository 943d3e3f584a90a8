// The kernel route core shared by felix's route reconciler and the BGP kernel sync: canonical
// keys, the one retry policy, listing our routes and the typed result of each write.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FakeKernel } from '../../../src/netlink/fake/index.js';
import { canonicalPrefix } from '../../../src/netlink/ip.js';
import {
  KeyBackoff,
  RouteOwner,
  routeAddr,
  routeKey,
  routeKeyOr,
  RT_TABLE_MAIN,
  RTPROT_STATIC,
  RTPROT_TWILL,
  RTPROT_TWILL_BGP,
  type NetlinkHandle,
  type Route,
  type RouteWriteResult,
} from '../../../src/netlink/index.js';

const blackhole = (dst: string, protocol: number, table?: number): Route => ({ family: dst.includes(':') ? 6 : 4, dst, type: 'blackhole', protocol, ...(table ? { table } : {}) });

async function fake(): Promise<NetlinkHandle> {
  return new FakeKernel().open();
}

describe('routeKey', () => {
  it('gives one text per prefix: RFC 5952 for IPv6, whatever case or zero groups were written', () => {
    expect(routeKey('2001:DB8:0:0::/64')).toEqual({ key: '2001:db8::/64', family: 6 });
    expect(routeKey('2001:db8:0:0:1:0:0:0/128')).toEqual({ key: '2001:db8:0:0:1::/128', family: 6 });
    expect(routeKey('10.65.0.1/32')).toEqual({ key: '10.65.0.1/32', family: 4 });
    expect(routeKeyOr('2001:0db8::0/32')).toBe('2001:db8::/32');
  });

  it('refuses host bits, bare addresses and nonsense, saying why', () => {
    const hb = routeKey('10.1.2.3/24');
    expect('error' in hb && hb.error).toMatch(/host bits are set \(did you mean 10\.1\.2\.0\/24\?\)/);
    expect('error' in routeKey('10.1.2.3')).toBe(true);
    expect('error' in routeKey('nonsense/8')).toBe(true);
    expect('error' in routeKey('10.0.0.0/33')).toBe(true);
    expect(routeKeyOr('nonsense')).toBe('nonsense');
  });

  it('gives gateways the same canonical text, and none for what is not an address', () => {
    expect(routeAddr('2001:DB8:0:0::1')).toBe('2001:db8::1');
    expect(routeAddr('192.0.2.1')).toBe('192.0.2.1');
    expect(routeAddr('fe80::1%eth0')).toBeUndefined();
    expect(routeAddr('10.0.0')).toBeUndefined();
  });

  it('is the same text the kernel route codec reports for a dst (so desired and listed keys meet)', () => {
    const v6 = fc.tuple(fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }), fc.integer({ min: 0, max: 128 }));
    fc.assert(
      fc.property(v6, ([groups, len]) => {
        // Clear host bits, then write the address the long way (uppercase, no compression).
        let bits = 0n;
        for (const g of groups) bits = (bits << 16n) | BigInt(g);
        const mask = len === 0 ? 0n : ((1n << BigInt(len)) - 1n) << BigInt(128 - len);
        bits &= mask;
        const long = Array.from({ length: 8 }, (_, i) => ((bits >> BigInt((7 - i) * 16)) & 0xffffn).toString(16).toUpperCase()).join(':');
        const k = routeKey(`${long}/${len}`);
        return 'key' in k && k.key === canonicalPrefix(`${long}/${len}`);
      }),
    );
  });
});

describe('KeyBackoff (the one retry policy)', () => {
  it('doubles the wait per consecutive failure up to the cap; a success forgets the key', () => {
    let now = 1000;
    const b = new KeyBackoff({ initialMs: 100, maxMs: 500, now: () => now });
    expect(b.ready('k')).toBe(true);
    expect(b.failed('k', 'ENODEV')).toEqual({ attempts: 1, nextAt: 1100, lastError: 'ENODEV' });
    expect(b.ready('k')).toBe(false);
    expect(b.failed('k', 'ENODEV').nextAt).toBe(1200);
    expect(b.failed('k', 'ENODEV').nextAt).toBe(1400);
    expect(b.failed('k', 'ENODEV').nextAt).toBe(1500); // 800 capped at 500
    expect(b.retryAt('k')).toBe(1500);
    expect(b.nextRetryAt()).toBe(1500);
    now = 1500;
    expect(b.ready('k')).toBe(true);
    expect(b.failing(4).get('k')?.attempts).toBe(4);
    expect(b.failing(5).size).toBe(0);
    b.succeeded('k');
    expect(b.size).toBe(0);
    expect(b.retryAt('k')).toBeUndefined();
  });

  it('survives thousands of failures in a row without losing the cap', () => {
    const b = new KeyBackoff({ initialMs: 100, maxMs: 30_000, now: () => 0 });
    let last = 0;
    for (let i = 0; i < 5000; i++) last = b.failed('k', 'x').nextAt;
    expect(last).toBe(30_000);
  });
});

describe('RouteOwner', () => {
  it('lists only its own routes, in its table, keyed canonically', async () => {
    const nl = await fake();
    await nl.routeAdd(blackhole('10.1.0.0/16', RTPROT_TWILL));
    await nl.routeAdd(blackhole('10.2.0.0/16', RTPROT_TWILL_BGP));
    await nl.routeAdd(blackhole('2001:db8::/48', RTPROT_TWILL));
    await nl.routeAdd(blackhole('10.3.0.0/16', RTPROT_TWILL, 100));
    const o = new RouteOwner<string, string>({ protocol: RTPROT_TWILL });
    expect(o.table).toBe(RT_TABLE_MAIN);
    expect(o.listed).toBe(false);
    await o.readBack(nl, (r) => r.type ?? 'unicast');
    expect(o.listed).toBe(true);
    expect([...o.actual.keys()].sort()).toEqual(['10.1.0.0/16', '2001:db8::/48']);
    expect(o.owns(blackhole('10.1.0.0/16', RTPROT_TWILL))).toBe(true);
    expect(o.owns(blackhole('10.1.0.0/16', RTPROT_TWILL_BGP))).toBe(false);
    expect(o.owns(blackhole('10.1.0.0/16', RTPROT_TWILL, 100))).toBe(false);
    expect(o.inTable(blackhole('10.1.0.0/16', RTPROT_STATIC, RT_TABLE_MAIN))).toBe(true);
    o.forgetActual();
    expect(o.listed).toBe(false);
    expect(o.actual.size).toBe(0);
  });

  it('answers each write with a typed result and keeps the retry state per key', async () => {
    const nl = await fake();
    await nl.routeAdd(blackhole('10.9.0.0/24', RTPROT_STATIC)); // a foreign route holding a key
    let now = 0;
    const o = new RouteOwner<string, string>({ protocol: RTPROT_TWILL_BGP, initialMs: 100, now: () => now });
    const res = await o.write(nl, [
      { key: '10.1.0.0/24', op: 'routeAdd', route: blackhole('10.1.0.0/24', RTPROT_TWILL_BGP) },
      { key: '10.9.0.0/24', op: 'routeAdd', route: blackhole('10.9.0.0/24', RTPROT_TWILL_BGP) },
      { key: '10.8.0.0/24', op: 'routeDel', route: { family: 4, dst: '10.8.0.0/24', protocol: RTPROT_TWILL_BGP } },
      { key: '10.9.0.0/24', op: 'routeDel', route: { family: 4, dst: '10.9.0.0/24', protocol: RTPROT_TWILL_BGP } }, // not ours: ESRCH
      { key: '10.7.0.0/24', op: 'routeReplace', route: { family: 4, dst: '10.7.0.0/24', ifindex: 999, protocol: RTPROT_TWILL_BGP } },
    ]);
    expect(res.map((r) => `${r.key} ${r.op} ${r.outcome}`)).toEqual([
      '10.1.0.0/24 routeAdd written',
      '10.9.0.0/24 routeAdd exists',
      '10.8.0.0/24 routeDel absent',
      '10.9.0.0/24 routeDel absent',
      '10.7.0.0/24 routeReplace failed',
    ]);
    const failed = res[4] as Extract<RouteWriteResult, { outcome: 'failed' }>;
    expect(failed.error.errnoName).toBe('ENODEV');
    expect(failed.attempts).toBe(1);
    // The foreign route is still there, ours is in.
    expect((await nl.routeList({ protocol: RTPROT_STATIC })).map((r) => r.dst)).toEqual(['10.9.0.0/24']);
    expect((await nl.routeList({ protocol: RTPROT_TWILL_BGP })).map((r) => r.dst)).toEqual(['10.1.0.0/24']);
    // The delete of 10.9.0.0/24 came after the failed add and cleared that key; 10.7 waits.
    expect(o.backoff.ready('10.9.0.0/24')).toBe(true);
    expect(o.backoff.ready('10.7.0.0/24')).toBe(false);
    now = 100;
    expect(o.backoff.ready('10.7.0.0/24')).toBe(true);
    const again = await o.write(nl, [{ key: '10.7.0.0/24', op: 'routeReplace', route: { family: 4, dst: '10.7.0.0/24', ifindex: 999, protocol: RTPROT_TWILL_BGP } }]);
    expect(again[0]).toMatchObject({ outcome: 'failed', attempts: 2 });
    expect(o.backoff.retryAt('10.7.0.0/24')).toBe(300);
  });

  it('writes in batches, reports each batch before sending the next, and stops when told', async () => {
    const nl = await fake();
    const o = new RouteOwner<string, string>({ protocol: RTPROT_TWILL, batchSize: 2 });
    const writes = ['10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24', '10.0.4.0/24', '10.0.5.0/24'].map((k) => ({ key: k, op: 'routeAdd' as const, route: blackhole(k, RTPROT_TWILL) }));
    const seen: string[] = [];
    let batches = 0;
    const res = await o.write(nl, writes, {
      proceed: () => batches < 2,
      onBatch: (results, offset) => {
        batches++;
        seen.push(`${offset}:${results.map((r) => r.outcome).join(',')}`);
      },
    });
    expect(seen).toEqual(['0:written,written', '2:written,written', '4:skipped']);
    expect(res.map((r) => r.outcome)).toEqual(['written', 'written', 'written', 'written', 'skipped']);
    expect((await nl.routeList({ protocol: RTPROT_TWILL })).map((r) => r.dst).sort()).toEqual(['10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24', '10.0.4.0/24']);
  });
});
