// The prefix table against a plain Map model, under random operations; and its iteration while
// the table changes (how the speaker flushes and dumps tables in slices).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatPrefix, ipv4Prefix, ipv6Prefix, type Prefix } from '../../../../bgp/packet/index.js';
import { PrefixIdTable } from '../../../../bgp/rib/prefix-ids.js';
import { PrefixTable } from '../../../../bgp/rib/prefix-table.js';

const v4 = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })).map(([a, l]) => ipv4Prefix(a, l));
// Few distinct addresses so that operations hit the same keys often.
const v4dense = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.constantFrom(24, 32)).map(([a, l]) => ipv4Prefix(0x0a000000 + a * (l === 24 ? 256 : 1), l));
const v6 = fc
  .tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }))
  .map(([a, l]) => ipv6Prefix(Buffer.from(a), l));
const prefix = fc.oneof(v4, v4dense, v6);
const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), p: prefix, v: fc.integer() }),
  fc.record({ kind: fc.constant('delete' as const), p: prefix }),
);

describe('PrefixTable', () => {
  it('behaves like a map keyed by the prefix text', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const t = new PrefixTable<number>();
        const model = new Map<string, number>();
        for (const o of ops) {
          const k = formatPrefix(o.p);
          if (o.kind === 'set') {
            expect(t.set(o.p, o.v)).toBe(model.get(k));
            model.set(k, o.v);
          } else {
            expect(t.delete(o.p)).toBe(model.get(k));
            model.delete(k);
          }
          expect(t.get(o.p)).toBe(model.get(k));
          expect(t.size).toBe(model.size);
        }
        const listed = new Map([...t.entries()].map(([p, v]) => [formatPrefix(p), v]));
        expect(listed).toEqual(model);
        expect(t.sizeOf(4) + t.sizeOf(6)).toBe(model.size);
      }),
      { numRuns: 300 },
    );
  });

  it('keys ignore host bits and ADD-PATH path ids', () => {
    const t = new PrefixTable<string>();
    t.set(ipv4Prefix(0x0a000000, 8, 7), 'x');
    expect(t.get(ipv4Prefix(0x0a000000, 8, 0))).toBe('x');
    expect(t.get(ipv4Prefix(0x0a000000, 16))).toBeUndefined();
  });

  it('setIfAbsent keeps what is there', () => {
    const t = new PrefixTable<number>();
    const p = ipv4Prefix(0x0a000000, 24);
    const q = ipv6Prefix(Buffer.alloc(16, 0x20), 64);
    expect(t.setIfAbsent(p, 1)).toBeUndefined();
    expect(t.setIfAbsent(p, 2)).toBe(1);
    expect(t.setIfAbsent(q, 3)).toBeUndefined();
    expect(t.setIfAbsent(q, 4)).toBe(3);
    expect([t.get(p), t.get(q)]).toEqual([1, 3]);
  });

  it('can be emptied by deleting while iterating (the table shrinks meanwhile)', () => {
    const t = new PrefixTable<number>();
    const n = 20_000;
    for (let i = 0; i < n; i++) t.set(ipv4Prefix(0x0a000000 + i, 32), i);
    for (let i = 0; i < 100; i++) t.set(ipv6Prefix(Buffer.from([0x20, 1, 0xd, 0xb8, 0, i]), 48), i);
    let visited = 0;
    for (const [p] of t.entries()) {
      t.delete(p);
      visited++;
    }
    expect(t.size).toBe(0);
    expect(visited).toBe(n + 100);
  });

  it('visits every entry present from start to end of an iteration, even if the table grows meanwhile', () => {
    const t = new PrefixTable<number>();
    const n = 5000;
    const original = new Set<string>();
    for (let i = 0; i < n; i++) {
      const p = ipv4Prefix(0x0b000000 + i * 256, 24);
      t.set(p, i);
      original.add(formatPrefix(p));
    }
    const seen = new Set<string>();
    let added = 0;
    for (const [p] of t.entries()) {
      seen.add(formatPrefix(p));
      if (added < 50_000) {
        for (let k = 0; k < 10; k++) t.set(ipv4Prefix(0x0c000000 + added++, 32), -1);
      }
    }
    for (const k of original) expect(seen.has(k)).toBe(true);
    expect(t.size).toBe(n + added);
  });

  it('iterates one family when asked', () => {
    const t = new PrefixTable<number>();
    t.set(ipv4Prefix(1, 32), 1);
    t.set(ipv6Prefix(Buffer.alloc(16, 1), 128), 2);
    expect([...t.entries(4)].map(([, v]) => v)).toEqual([1]);
    expect([...t.entries(6)].map(([, v]) => v)).toEqual([2]);
  });

  function sample(): Prefix[] {
    return [ipv4Prefix(0, 0), ipv4Prefix(0xffffffff, 32), ipv6Prefix(Buffer.alloc(16), 0), ipv6Prefix(Buffer.alloc(16, 0xff), 128)];
  }

  it('handles the extreme prefixes (default routes, all-ones hosts)', () => {
    const t = new PrefixTable<number>();
    sample().forEach((p, i) => t.set(p, i));
    expect(sample().map((p) => t.get(p))).toEqual([0, 1, 2, 3]);
  });
});

describe('PrefixIdTable', () => {
  it('behaves like a map from prefix text to a positive id (0 = absent)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const t = new PrefixIdTable();
        const model = new Map<string, number>();
        for (const o of ops) {
          const k = formatPrefix(o.p);
          if (o.kind === 'set') {
            const id = (Math.abs(o.v) % 1000) + 1;
            expect(t.set(o.p, id)).toBe(model.get(k) ?? 0);
            model.set(k, id);
          } else {
            expect(t.delete(o.p)).toBe(model.get(k) ?? 0);
            model.delete(k);
          }
          expect(t.get(o.p)).toBe(model.get(k) ?? 0);
          expect(t.size).toBe(model.size);
        }
        expect(new Map([...t.entries()].map(([p, v]) => [formatPrefix(p), v]))).toEqual(model);
      }),
      { numRuns: 300 },
    );
  });

  it('can be emptied while iterating', () => {
    const t = new PrefixIdTable();
    for (let i = 0; i < 20_000; i++) t.set(ipv4Prefix(0x0a000000 + i, 32), 1 + (i % 7));
    let n = 0;
    for (const [p] of t.entries()) {
      t.delete(p);
      n++;
    }
    expect(n).toBe(20_000);
    expect(t.size).toBe(0);
  });
});
