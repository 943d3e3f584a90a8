// A map from prefix to a small positive integer, kept entirely in typed arrays for IPv4 (no
// pointer per entry for the garbage collector to trace): the Adj-RIB-Out records which interned
// outgoing attribute set was sent for each prefix this way. IPv6 prefixes use a Map per length,
// as in PrefixTable. 0 means "absent".
import { AFI_IPV4, type Ipv6Prefix, type Prefix } from '../packet/index.js';

const EMPTY = 255;
const TOMB = 254;

class Ipv4Ids {
  private cap = 64;
  private keys = new Int32Array(64);
  private lens = new Uint8Array(64).fill(EMPTY);
  private vals = new Int32Array(64);
  size = 0;
  private used = 0;
  version = 0;

  private slot(k: number, len: number): number {
    const mask = this.cap - 1;
    let h = Math.imul(k ^ Math.imul(len, 0x27d4eb2d), 0x9e3779b1);
    h = (h ^ (h >>> 15)) & mask;
    const keys = this.keys;
    const lens = this.lens;
    let tomb = -1;
    for (;;) {
      const l = lens[h]!;
      if (l === EMPTY) return tomb >= 0 ? ~tomb : ~h;
      if (l === TOMB) {
        if (tomb < 0) tomb = h;
      } else if (l === len && keys[h] === k) {
        return h;
      }
      h = (h + 1) & mask;
    }
  }

  get(k: number, len: number): number {
    const i = this.slot(k, len);
    return i < 0 ? 0 : this.vals[i]!;
  }

  set(k: number, len: number, v: number): number {
    const i = this.slot(k, len);
    if (i >= 0) {
      const old = this.vals[i]!;
      this.vals[i] = v;
      return old;
    }
    const j = ~i;
    if (this.lens[j] === EMPTY) this.used++;
    this.keys[j] = k;
    this.lens[j] = len;
    this.vals[j] = v;
    this.size++;
    if (this.used * 2 > this.cap) this.rebuild(this.size * 4 > this.cap ? this.cap * 2 : this.cap);
    return 0;
  }

  delete(k: number, len: number): number {
    const i = this.slot(k, len);
    if (i < 0) return 0;
    const old = this.vals[i]!;
    this.lens[i] = TOMB;
    this.size--;
    if (this.cap > 64 && this.size * 8 < this.cap) this.rebuild(this.cap / 2);
    return old;
  }

  private rebuild(cap: number): void {
    const ok = this.keys;
    const ol = this.lens;
    const ov = this.vals;
    this.cap = cap;
    this.keys = new Int32Array(cap);
    this.lens = new Uint8Array(cap).fill(EMPTY);
    this.vals = new Int32Array(cap);
    this.size = 0;
    this.used = 0;
    this.version++;
    for (let i = 0; i < ol.length; i++) {
      const l = ol[i]!;
      if (l === EMPTY || l === TOMB) continue;
      const j = ~this.slot(ok[i]!, l);
      this.keys[j] = ok[i]!;
      this.lens[j] = l;
      this.vals[j] = ov[i]!;
      this.size++;
      this.used++;
    }
  }

  *entries(): Generator<[Prefix, number]> {
    for (;;) {
      const version = this.version;
      let restarted = false;
      for (let i = 0; i < this.cap; i++) {
        const l = this.lens[i]!;
        if (l === EMPTY || l === TOMB) continue;
        yield [{ afi: AFI_IPV4, addr: this.keys[i]! >>> 0, len: l, pathId: 0 }, this.vals[i]!];
        if (this.version !== version) {
          restarted = true;
          break;
        }
      }
      if (!restarted) return;
    }
  }
}

export class PrefixIdTable {
  private readonly v4 = new Ipv4Ids();
  private readonly v6: (Map<string, number> | undefined)[] = new Array<Map<string, number> | undefined>(129).fill(undefined);
  private n6 = 0;

  get size(): number {
    return this.v4.size + this.n6;
  }

  /** The id for `p`, 0 when absent. */
  get(p: Prefix): number {
    if (p.afi === AFI_IPV4) return this.v4.get(p.addr | 0, p.len);
    return this.v6[p.len]?.get(v6Key(p)) ?? 0;
  }

  /** Sets `id` (> 0) for `p`; returns the previous id or 0. */
  set(p: Prefix, id: number): number {
    if (p.afi === AFI_IPV4) return this.v4.set(p.addr | 0, p.len, id);
    let m = this.v6[p.len];
    if (!m) m = this.v6[p.len] = new Map();
    const k = v6Key(p);
    const old = m.get(k) ?? 0;
    if (old === 0) this.n6++;
    m.set(k, id);
    return old;
  }

  /** Removes `p`; returns its id or 0. */
  delete(p: Prefix): number {
    if (p.afi === AFI_IPV4) return this.v4.delete(p.addr | 0, p.len);
    const m = this.v6[p.len];
    const k = v6Key(p);
    const old = m?.get(k) ?? 0;
    if (old !== 0) {
      m!.delete(k);
      this.n6--;
    }
    return old;
  }

  /** Entries (IPv4 first); the same iteration guarantees as PrefixTable.entries(). */
  *entries(family?: 4 | 6): Generator<[Prefix, number]> {
    if (family !== 6) yield* this.v4.entries();
    if (family !== 4) {
      for (let len = 0; len <= 128; len++) {
        const m = this.v6[len];
        if (!m) continue;
        for (const [k, v] of m) {
          const addr = Buffer.alloc(16);
          addr.write(k, 0, 'latin1');
          yield [{ afi: 2, addr, len, pathId: 0 }, v];
        }
      }
    }
  }
}

function v6Key(p: Ipv6Prefix): string {
  return p.addr.toString('latin1', 0, (p.len + 7) >> 3);
}
