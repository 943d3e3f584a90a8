// The label index: labelled items × scoped selectors → which items each selector matches, kept
// up to date incrementally. A label change re-evaluates only the selectors that read one of the
// changed keys; a namespace-label change only the selectors with a namespaceSelector, and only on
// that namespace's items; a new selector is evaluated once against the items in its scope.

import type { Labels } from '../../src/api/selector/index.js';
import { evaluateSpec, specLabelKeys, type MatchItem, type MatchSpec } from './match.js';

/** Called for every change of membership: `matched` true when item joined spec, false when it left. */
export type MembershipListener = (specKey: string, itemKey: string, matched: boolean) => void;

interface SpecEntry {
  readonly spec: MatchSpec;
  readonly labelKeys: ReadonlySet<string>;
  readonly members: Set<string>;
}

const NONE: ReadonlySet<string> = new Set();

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (s === undefined) {
    s = new Set();
    m.set(k, s);
  }
  s.add(v);
}

function removeFrom<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  const s = m.get(k);
  if (s === undefined) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}

/** Keys whose value differs between two label maps (added, removed or changed). */
export function changedLabelKeys(a: Labels, b: Labels): string[] {
  const out: string[] = [];
  for (const k of Object.keys(a)) if (a[k] !== b[k]) out.push(k);
  for (const k of Object.keys(b)) if (!Object.prototype.hasOwnProperty.call(a, k)) out.push(k);
  return out;
}

export class LabelIndex {
  private readonly items = new Map<string, MatchItem>();
  private readonly itemsByNs = new Map<string, Set<string>>();
  private readonly globalItems = new Set<string>();
  private readonly specs = new Map<string, SpecEntry>();
  private readonly specsByLabelKey = new Map<string, Set<string>>();
  /** Specs restricted to one namespace, by that namespace. */
  private readonly scopedSpecs = new Map<string, Set<string>>();
  private readonly unscopedSpecs = new Set<string>();
  private readonly nsSelectorSpecs = new Set<string>();
  private readonly itemSpecs = new Map<string, Set<string>>();
  /** How many (spec, item) evaluations ran: lets tests check that work stays local. */
  evaluations = 0;

  constructor(
    private readonly nsLabels: (ns: string) => Labels,
    private readonly listener: MembershipListener,
  ) {}

  get itemCount(): number {
    return this.items.size;
  }

  hasItem(key: string): boolean {
    return this.items.has(key);
  }

  hasSpec(key: string): boolean {
    return this.specs.has(key);
  }

  /** Items the spec matches (empty for an unknown spec). */
  members(specKey: string): ReadonlySet<string> {
    return this.specs.get(specKey)?.members ?? NONE;
  }

  /** Specs the item matches. */
  specsOf(itemKey: string): ReadonlySet<string> {
    return this.itemSpecs.get(itemKey) ?? NONE;
  }

  item(key: string): MatchItem | undefined {
    return this.items.get(key);
  }

  upsertItem(item: MatchItem): void {
    const old = this.items.get(item.key);
    if (old !== undefined && old.namespace !== item.namespace) this.deleteItem(item.key);
    const prev = this.items.get(item.key);
    this.items.set(item.key, item);
    if (prev === undefined) {
      if (item.namespace === undefined) this.globalItems.add(item.key);
      else addTo(this.itemsByNs, item.namespace, item.key);
      for (const sk of this.unscopedSpecs) this.evaluate(sk, item);
      if (item.namespace !== undefined) {
        for (const sk of this.scopedSpecs.get(item.namespace) ?? NONE) this.evaluate(sk, item);
      }
      return;
    }
    const changed = changedLabelKeys(prev.labels, item.labels);
    if (changed.length === 0) return;
    const candidates = new Set<string>();
    for (const k of changed) for (const sk of this.specsByLabelKey.get(k) ?? NONE) candidates.add(sk);
    for (const sk of candidates) this.evaluate(sk, item);
  }

  deleteItem(key: string): void {
    const item = this.items.get(key);
    if (item === undefined) return;
    this.items.delete(key);
    if (item.namespace === undefined) this.globalItems.delete(key);
    else removeFrom(this.itemsByNs, item.namespace, key);
    const specs = this.itemSpecs.get(key);
    if (specs === undefined) return;
    this.itemSpecs.delete(key);
    for (const sk of [...specs].sort()) {
      this.specs.get(sk)?.members.delete(key);
      this.listener(sk, key, false);
    }
  }

  /** Registers a spec and evaluates it against the items in its scope. No-op when already known. */
  addSpec(key: string, spec: MatchSpec): void {
    if (this.specs.has(key)) return;
    const entry: SpecEntry = { spec, labelKeys: specLabelKeys(spec), members: new Set() };
    this.specs.set(key, entry);
    for (const lk of entry.labelKeys) addTo(this.specsByLabelKey, lk, key);
    if (spec.namespace !== undefined) addTo(this.scopedSpecs, spec.namespace, key);
    else this.unscopedSpecs.add(key);
    if (spec.namespaceSelector !== undefined) this.nsSelectorSpecs.add(key);
    const scope =
      spec.namespace !== undefined ? (this.itemsByNs.get(spec.namespace) ?? NONE) : this.items.keys();
    for (const ik of scope) {
      const item = this.items.get(ik);
      if (item !== undefined) this.evaluate(key, item);
    }
  }

  /** Forgets a spec; its members leave it (the listener hears of each). */
  removeSpec(key: string): void {
    const entry = this.specs.get(key);
    if (entry === undefined) return;
    for (const ik of [...entry.members].sort()) {
      entry.members.delete(ik);
      const s = this.itemSpecs.get(ik);
      if (s !== undefined) {
        s.delete(key);
        if (s.size === 0) this.itemSpecs.delete(ik);
      }
      this.listener(key, ik, false);
    }
    this.specs.delete(key);
    for (const lk of entry.labelKeys) removeFrom(this.specsByLabelKey, lk, key);
    if (entry.spec.namespace !== undefined) removeFrom(this.scopedSpecs, entry.spec.namespace, key);
    else this.unscopedSpecs.delete(key);
    this.nsSelectorSpecs.delete(key);
  }

  /** The labels of namespace `ns` changed: re-evaluate namespaceSelector specs on its items. */
  namespaceChanged(ns: string): void {
    const items = this.itemsByNs.get(ns);
    if (items === undefined || this.nsSelectorSpecs.size === 0) return;
    for (const sk of this.nsSelectorSpecs) {
      for (const ik of items) {
        const item = this.items.get(ik);
        if (item !== undefined) this.evaluate(sk, item);
      }
    }
  }

  private evaluate(specKey: string, item: MatchItem): void {
    const entry = this.specs.get(specKey);
    if (entry === undefined) return;
    this.evaluations++;
    const now = evaluateSpec(entry.spec, item, this.nsLabels);
    const was = entry.members.has(item.key);
    if (now === was) return;
    if (now) {
      entry.members.add(item.key);
      addTo(this.itemSpecs, item.key, specKey);
    } else {
      entry.members.delete(item.key);
      removeFrom(this.itemSpecs, item.key, specKey);
    }
    this.listener(specKey, item.key, now);
  }
}
