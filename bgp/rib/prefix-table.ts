// A map keyed by prefix, compact and fast for the millions of /32s of a transit table: IPv4
// prefixes live in an open-addressing hash table over typed arrays; IPv6 prefixes in one Map per
// length keyed by the significant address octets as a latin1 string. Path identifiers (ADD-PATH)
// are not part of the key.
import { AFI_IPV4, type Ipv6Prefix, type Prefix } from '../packet/index.js';

/**
 * IPv4 prefixes: open addressing with linear probing over typed arrays (address, length) and a
 * parallel array of values — two to three times faster than a Map for a million /32s, and no
 * object per entry. Deleted slots become tombstones; the table is rebuilt when they pile up.
 */
class Ipv4Table<V> {
  private cap = 64;
  private keys = new Int32Array(64);
  private lens = new Uint8Array(64);
  private vals: (V | typeof TOMB | undefined)[] = new Array<V | undefined>(64).fill(undefined);
  size = 0;
  /** Live entries plus tombstones. */
  private used = 0;
  /** Bumped when the arrays are rebuilt (iterators restart). */
  version = 0;

  private slot(k: number, len: number): number {
    const mask = this.cap - 1;
    let h = Math.imul(k ^ Math.imul(len, 0x27d4eb2d), 0x9e3779b1);
    h = (h ^ (h >>> 15)) & mask;
    const vals = this.vals;
    const keys = this.keys;
    const lens = this.lens;
    let tomb = -1;
    for (;;) {
      const v = vals[h];
      if (v === undefined) return tomb >= 0 ? ~tomb : ~h;
      if (v === TOMB) {
        if (tomb < 0) tomb = h;
      } else if (keys[h] === k && lens[h] === len) {
        return h;
      }
      h = (h + 1) & mask;
    }
  }

  get(k: number, len: number): V | undefined {
    const i = this.slot(k, len);
    return i < 0 ? undefined : (this.vals[i] as V);
  }

  set(k: number, len: number, v: V): V | undefined {
    const i = this.slot(k, len);
    if (i >= 0) {
      const old = this.vals[i] as V;
      this.vals[i] = v;
      return old;
    }
    const j = ~i;
    if (this.vals[j] === undefined) this.used++;
    this.keys[j] = k;
    this.lens[j] = len;
    this.vals[j] = v;
    this.size++;
    if (this.used * 2 > this.cap) this.rebuild(this.size * 4 > this.cap ? this.cap * 2 : this.cap);
    return undefined;
  }

  /** Inserts v unless the key is present; returns the present value (then nothing changes). */
  setIfAbsent(k: number, len: number, v: V): V | undefined {
    const i = this.slot(k, len);
    if (i >= 0) return this.vals[i] as V;
    const j = ~i;
    if (this.vals[j] === undefined) this.used++;
    this.keys[j] = k;
    this.lens[j] = len;
    this.vals[j] = v;
    this.size++;
    if (this.used * 2 > this.cap) this.rebuild(this.size * 4 > this.cap ? this.cap * 2 : this.cap);
    return undefined;
  }

  delete(k: number, len: number): V | undefined {
    const i = this.slot(k, len);
    if (i < 0) return undefined;
    const old = this.vals[i] as V;
    this.vals[i] = TOMB;
    this.size--;
    if (this.cap > 64 && this.size * 8 < this.cap) this.rebuild(this.cap / 2);
    return old;
  }

  clear(): void {
    this.cap = 64;
    this.keys = new Int32Array(64);
    this.lens = new Uint8Array(64);
    this.vals = new Array<V | undefined>(64).fill(undefined);
    this.size = 0;
    this.used = 0;
    this.version++;
  }

  private rebuild(cap: number): void {
    const ok = this.keys;
    const ol = this.lens;
    const ov = this.vals;
    this.cap = cap;
    this.keys = new Int32Array(cap);
    this.lens = new Uint8Array(cap);
    this.vals = new Array<V | undefined>(cap).fill(undefined);
    this.size = 0;
    this.used = 0;
    this.version++;
    for (let i = 0; i < ov.length; i++) {
      const v = ov[i];
      if (v === undefined || v === TOMB) continue;
      const j = ~this.slot(ok[i]!, ol[i]!);
      this.keys[j] = ok[i]!;
      this.lens[j] = ol[i]!;
      this.vals[j] = v;
      this.size++;
      this.used++;
    }
  }

  /** Entries in slot order; restarts from the beginning if the table is rebuilt meanwhile. */
  *entries(): Generator<[Prefix, V]> {
    for (;;) {
      const version = this.version;
      let i = 0;
      let restarted = false;
      while (i < this.cap) {
        const v = this.vals[i];
        if (v !== undefined && v !== TOMB) {
          yield [{ afi: AFI_IPV4, addr: this.keys[i]! >>> 0, len: this.lens[i]!, pathId: 0 }, v as V];
          if (this.version !== version) {
            restarted = true;
            break;
          }
        }
        i++;
      }
      if (!restarted) return;
    }
  }
}

const TOMB: unique symbol = Symbol('deleted');

export class PrefixTable<V> {
  private readonly v4 = new Ipv4Table<V>();
  private readonly v6: (Map<string, V> | undefined)[] = new Array<Map<string, V> | undefined>(129).fill(undefined);
  private n6 = 0;

  get size(): number {
    return this.v4.size + this.n6;
  }

  sizeOf(family: 4 | 6): number {
    return family === 4 ? this.v4.size : this.n6;
  }

  get(p: Prefix): V | undefined {
    if (p.afi === AFI_IPV4) return this.v4.get(p.addr | 0, p.len);
    return this.v6[p.len]?.get(v6Key(p));
  }

  has(p: Prefix): boolean {
    return this.get(p) !== undefined;
  }

  /** Sets the value; returns the previous one. */
  set(p: Prefix, v: V): V | undefined {
    if (p.afi === AFI_IPV4) return this.v4.set(p.addr | 0, p.len, v);
    let m = this.v6[p.len];
    if (!m) m = this.v6[p.len] = new Map();
    const k = v6Key(p);
    const old = m.get(k);
    if (old === undefined) this.n6++;
    m.set(k, v);
    return old;
  }

  /** Inserts `v` unless `p` is present; returns the present value (then nothing changes). */
  setIfAbsent(p: Prefix, v: V): V | undefined {
    if (p.afi === AFI_IPV4) return this.v4.setIfAbsent(p.addr | 0, p.len, v);
    const old = this.get(p);
    if (old === undefined) this.set(p, v);
    return old;
  }

  /** Deletes; returns the value that was there. */
  delete(p: Prefix): V | undefined {
    if (p.afi === AFI_IPV4) return this.v4.delete(p.addr | 0, p.len);
    const m = this.v6[p.len];
    if (!m) return undefined;
    const k = v6Key(p);
    const old = m.get(k);
    if (old !== undefined) {
      m.delete(k);
      this.n6--;
    }
    return old;
  }

  clear(): void {
    this.v4.clear();
    this.v6.fill(undefined);
    this.n6 = 0;
  }

  /**
   * Every entry, IPv4 then IPv6 (in no particular order). Safe to keep across event-loop turns
   * while the table changes: an entry deleted before it is reached is not visited; an entry
   * added meanwhile may or may not be; when the IPv4 table is rebuilt (it grows or shrinks)
   * iteration starts over, so an entry may be visited more than once.
   */
  *entries(family?: 4 | 6): Generator<[Prefix, V]> {
    if (family !== 6) yield* this.v4.entries();
    if (family !== 4) {
      for (let len = 0; len <= 128; len++) {
        const m = this.v6[len];
        if (!m) continue;
        for (const [k, v] of m) yield [v6Prefix(k, len), v];
      }
    }
  }
}

function v6Key(p: Ipv6Prefix): string {
  return p.addr.toString('latin1', 0, (p.len + 7) >> 3);
}

function v6Prefix(k: string, len: number): Ipv6Prefix {
  const addr = Buffer.alloc(16);
  addr.write(k, 0, 'latin1');
  return { afi: 2, addr, len, pathId: 0 };
}

