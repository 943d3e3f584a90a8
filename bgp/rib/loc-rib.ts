// The route table: for each prefix, every path any source offers (the Adj-RIBs-In, accepted by
// import policy or not) and the best accepted one (the Loc-RIB, RFC 4271 §9.1.2). One table for
// both halves keeps it to one map entry per prefix: a prefix with a single path stores just that
// Path object (shared by all prefixes with the same source and attributes); with several, an
// array whose first element is the best accepted path (if any is accepted).
// Prefixes whose best path changed are collected for the export side (drainChanges()).
import type { Prefix } from '../packet/index.js';
import { selectBest, type DecisionOptions } from './decision.js';
import type { Path, Source } from './path.js';
import { PrefixTable } from './prefix-table.js';

export type Entry = Path | Path[];

export class LocRib {
  readonly table = new PrefixTable<Entry>();
  private changed: Prefix[] = [];

  /**
   * ECMP: a change of any accepted path (not only the best) changes the multipath set; ADD-PATH
   * send of several paths needs the same (see trackAllPaths()).
   */
  private multipath: boolean;

  constructor(readonly options: DecisionOptions) {
    this.multipath = (options.maxPaths ?? 1) > 1;
  }

  /**
   * Records a change when any accepted path of a prefix changes, not only the best (on while some
   * neighbour gets several paths per prefix by ADD-PATH; always on with ECMP).
   */
  trackAllPaths(on: boolean): void {
    this.multipath = on || (this.options.maxPaths ?? 1) > 1;
  }

  /** Prefixes with at least one path (accepted or not). */
  get size(): number {
    return this.table.size;
  }

  best(p: Prefix): Path | undefined {
    const c = this.table.get(p);
    if (c === undefined) return undefined;
    return bestOf(c);
  }

  /** Every path for `p`, the best first. */
  paths(p: Prefix): readonly Path[] {
    const c = this.table.get(p);
    if (c === undefined) return [];
    return Array.isArray(c) ? c : [c];
  }

  /** The path `src` offers for `p`. */
  pathOf(p: Prefix, src: Source): Path | undefined {
    const c = this.table.get(p);
    if (c === undefined) return undefined;
    if (!Array.isArray(c)) return c.source === src ? c : undefined;
    return c.find((x) => x.source === src);
  }

  /**
   * `path.source` now offers `path` for `p`, replacing what it offered before, which is
   * returned (undefined if nothing).
   */
  set(p: Prefix, path: Path): Path | undefined {
    const cur = this.table.setIfAbsent(p, path);
    if (cur === undefined) {
      if (path.accepted) this.changed.push(p);
      return undefined;
    }
    if (!Array.isArray(cur)) {
      if (cur === path) return cur;
      if (cur.source === path.source) {
        this.table.set(p, path);
        if (cur.accepted || path.accepted) this.changed.push(p);
        return cur;
      }
      const arr = [cur, path];
      this.table.set(p, arr);
      if (!this.reselect(p, arr, cur.accepted ? cur : undefined) && this.multipath && path.accepted) this.changed.push(p);
      return undefined;
    }
    const oldBest = bestOf(cur);
    const i = cur.findIndex((x) => x.source === path.source);
    let old: Path | undefined;
    if (i >= 0) {
      old = cur[i];
      if (old === path) return old;
      cur[i] = path;
    } else {
      cur.push(path);
    }
    if (!this.reselect(p, cur, oldBest, old !== undefined && old === oldBest) && this.multipath && (path.accepted || old?.accepted)) this.changed.push(p);
    return old;
  }

  /** `src` no longer offers anything for `p`; returns what it offered. */
  delete(p: Prefix, src: Source): Path | undefined {
    const cur = this.table.get(p);
    if (cur === undefined) return undefined;
    if (!Array.isArray(cur)) {
      if (cur.source !== src) return undefined;
      this.table.delete(p);
      if (cur.accepted) this.changed.push(p);
      return cur;
    }
    const i = cur.findIndex((x) => x.source === src);
    if (i < 0) return undefined;
    const old = cur[i]!;
    const oldBest = bestOf(cur);
    cur.splice(i, 1);
    if (cur.length === 1) {
      const only = cur[0]!;
      this.table.set(p, only);
      if (old === oldBest || (only.accepted ? only : undefined) !== oldBest || (this.multipath && old.accepted)) this.changed.push(p);
      return old;
    }
    if (!this.reselect(p, cur, oldBest, old === oldBest) && this.multipath && old.accepted) this.changed.push(p);
    return old;
  }

  /** Re-runs the decision for `p` (e.g. after an option change). */
  recompute(p: Prefix): void {
    const cur = this.table.get(p);
    if (Array.isArray(cur)) this.reselect(p, cur, bestOf(cur));
  }

  /** Puts the best accepted path first; records a change when the best is different (returns whether it did). */
  private reselect(p: Prefix, cur: Path[], oldBest: Path | undefined, bestReplaced = false): boolean {
    const accepted = cur.filter((x) => x.accepted);
    const best = accepted.length === 0 ? undefined : selectBest(accepted, this.options);
    if (best) {
      const bi = cur.indexOf(best);
      if (bi > 0) {
        cur[bi] = cur[0]!;
        cur[0] = best;
      }
    }
    if (best !== oldBest || bestReplaced) {
      this.changed.push(p);
      return true;
    }
    return false;
  }

  /** Prefixes whose best path changed since the last call (a prefix may repeat). */
  drainChanges(): Prefix[] {
    const c = this.changed;
    this.changed = [];
    return c;
  }

  get pendingChanges(): number {
    return this.changed.length;
  }
}

export function bestOf(c: Entry): Path | undefined {
  const b = Array.isArray(c) ? c[0] : c;
  return b && b.accepted ? b : undefined;
}
