// A keyed output of the calculation: the current values, and what changed since the last delta
// was taken (compared by value, so a change and its undo between two flushes report nothing).

import type { KeyedDelta } from './types.js';

function sortedMap<T>(m: ReadonlyMap<string, T>, keys: Iterable<string>): Map<string, T> {
  const out = new Map<string, T>();
  for (const k of [...keys].sort()) out.set(k, m.get(k)!);
  return out;
}

export class OutputTable<T> {
  private readonly cur = new Map<string, T>();
  /** What was last reported: JSON text, or the value itself when an equality function is given. */
  private readonly reported = new Map<string, string | T>();
  private readonly touched = new Set<string>();

  /** `equals`: a cheaper comparison than JSON text for big values (e.g. ipsets). */
  constructor(private readonly equals?: (a: T, b: T) => boolean) {}

  get(key: string): T | undefined {
    return this.cur.get(key);
  }

  has(key: string): boolean {
    return this.cur.has(key);
  }

  keys(): IterableIterator<string> {
    return this.cur.keys();
  }

  get size(): number {
    return this.cur.size;
  }

  set(key: string, value: T): void {
    this.cur.set(key, value);
    this.touched.add(key);
  }

  delete(key: string): void {
    if (!this.cur.has(key)) return;
    this.cur.delete(key);
    this.touched.add(key);
  }

  /** Replaces the whole content with `next`. */
  replaceAll(next: ReadonlyMap<string, T>): void {
    for (const k of [...this.cur.keys()]) if (!next.has(k)) this.delete(k);
    for (const [k, v] of next) this.set(k, v);
  }

  /** Keys whose value differs from what the previous takeDelta reported (sorted). */
  takeDelta(): KeyedDelta<T> {
    const upserts = new Map<string, T>();
    const deletes: string[] = [];
    for (const k of [...this.touched].sort()) {
      const v = this.cur.get(k);
      const before = this.reported.get(k);
      if (v === undefined) {
        if (before !== undefined) {
          deletes.push(k);
          this.reported.delete(k);
        }
        continue;
      }
      if (this.equals !== undefined) {
        if (before === undefined || !this.equals(before as T, v)) {
          upserts.set(k, v);
          this.reported.set(k, v);
        }
        continue;
      }
      const text = JSON.stringify(v);
      if (text !== before) {
        upserts.set(k, v);
        this.reported.set(k, text);
      }
    }
    this.touched.clear();
    return { upserts, deletes };
  }

  /** The current content, sorted by key. */
  snapshot(): Map<string, T> {
    return sortedMap(this.cur, this.cur.keys());
  }
}
