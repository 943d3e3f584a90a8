// Members of selector and named-port sets, kept incrementally: what each matching item
// contributes to each set is recorded, and members are reference-counted (two items can share an
// address), so a membership change costs the item's own addresses, not a rescan of the set.

import type { SetRequest } from './convert-rule.js';
import type { ItemData } from './inputs.js';

interface Contribution {
  m4: readonly string[];
  m6: readonly string[];
}

interface Counts {
  m4: Map<string, number>;
  m6: Map<string, number>;
}

const NONE: Contribution = { m4: [], m6: [] };

/** What `item` adds to the set `req` stands for. */
export function contribution(req: SetRequest, d: ItemData | undefined): Contribution {
  if (d === undefined || req.purpose === 'nets') return NONE;
  if (req.purpose === 'selector') return { m4: d.members4, m6: d.members6 };
  const m4: string[] = [];
  const m6: string[] = [];
  for (const p of d.ports) {
    if (p.name !== req.portName || p.protocol.toLowerCase() !== req.protocol) continue;
    for (const ip of d.hostIps4) m4.push(`${ip},${req.protocol}:${p.port}`);
    for (const ip of d.hostIps6) m6.push(`${ip},${req.protocol}:${p.port}`);
  }
  return { m4, m6 };
}

function bump(m: Map<string, number>, xs: readonly string[], by: 1 | -1): void {
  for (const x of xs) {
    const n = (m.get(x) ?? 0) + by;
    if (n <= 0) m.delete(x);
    else m.set(x, n);
  }
}

export class MemberSets {
  private readonly recorded = new Map<string, Map<string, Contribution>>();
  private readonly counts = new Map<string, Counts>();

  constructor(private readonly itemData: (itemKey: string) => ItemData | undefined) {}

  /** Records (or re-records, when the item's data changed) what `itemKey` contributes to `req`. */
  put(req: SetRequest, itemKey: string): void {
    this.remove(req.id, itemKey);
    const c = contribution(req, this.itemData(itemKey));
    let rec = this.recorded.get(req.id);
    if (rec === undefined) {
      rec = new Map();
      this.recorded.set(req.id, rec);
    }
    rec.set(itemKey, c);
    let counts = this.counts.get(req.id);
    if (counts === undefined) {
      counts = { m4: new Map(), m6: new Map() };
      this.counts.set(req.id, counts);
    }
    bump(counts.m4, c.m4, 1);
    bump(counts.m6, c.m6, 1);
  }

  remove(setId: string, itemKey: string): void {
    const rec = this.recorded.get(setId);
    const c = rec?.get(itemKey);
    if (rec === undefined || c === undefined) return;
    rec.delete(itemKey);
    const counts = this.counts.get(setId)!;
    bump(counts.m4, c.m4, -1);
    bump(counts.m6, c.m6, -1);
  }

  /** Forgets a set entirely. */
  drop(setId: string): void {
    this.recorded.delete(setId);
    this.counts.delete(setId);
  }

  members(setId: string): { members4: string[]; members6: string[] } {
    const c = this.counts.get(setId);
    if (c === undefined) return { members4: [], members6: [] };
    return { members4: [...c.m4.keys()].sort(), members6: [...c.m6.keys()].sort() };
  }
}
