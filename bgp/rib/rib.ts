// The RIB as one object: the attribute store, the sources (the speaker itself and every
// Established session) and the route table holding their Adj-RIBs-In and the Loc-RIB. Every
// mutation is a method here, and the speaker calls them only from its work queue
// (bgp/server/queue.ts), so there is one writer. Long operations (flushing a source, re-applying
// a policy) are generators doing a bounded amount of work per step, so the caller can yield to
// the event loop between steps.
import { AFI_IPV4, type Prefix } from '../packet/index.js';
import { AttrStore, type AttrSet } from './attr-set.js';
import type { DecisionOptions } from './decision.js';
import { LocRib } from './loc-rib.js';
import { Source, type Path, type SourceKind, type SourcePeer } from './path.js';
import type { CompiledPolicy } from './policy.js';

/** Whether a prefix new to a source may enter its Adj-RIB-In (a prefix limit); called in order. */
export type Admit = (p: Prefix) => boolean;

export class Rib {
  readonly store: AttrStore;
  readonly loc: LocRib;
  /** Locally originated routes. */
  readonly local: Source;
  private nextSourceId = 1;

  constructor(readonly options: DecisionOptions) {
    this.store = new AttrStore(options.localAs, { localId: options.localId, clusterId: options.clusterId });
    this.loc = new LocRib(options);
    this.local = new Source(0, 'local', undefined, this.store);
  }

  newSource(kind: SourceKind, peer: SourcePeer): Source {
    return new Source(this.nextSourceId++, kind, peer, this.store);
  }

  /**
   * `src` announces `prefixes` with attributes `set`. Each is accepted unless the AS path holds
   * our AS (loop) or the import policy rejects it; rejected ones are kept, marked, so a policy
   * change can accept them later without asking the peer again.
   */
  announce(src: Source, prefixes: readonly Prefix[], set: AttrSet, policy: CompiledPolicy, replaces?: readonly Source[], admit?: Admit): number {
    if (!src.alive) return 0;
    let refused = 0;
    const loc = this.loc;
    const allAccepted = !set.loop && policy.constant && policy.defaultAccept;
    const noneAccepted = set.loop || (policy.constant && !policy.defaultAccept);
    const pathYes = noneAccepted ? undefined : src.path(set, true);
    const pathNo = allAccepted ? undefined : src.path(set, false);
    for (let i = 0; i < prefixes.length; i++) {
      const p = prefixes[i]!;
      // A limit (maxPrefixes, action stop): a prefix new to this source may be refused.
      if (admit && !loc.pathOf(p, src) && !admit(p)) {
        refused++;
        continue;
      }
      const accepted = allAccepted || (!noneAccepted && policy.accepts(p));
      const path = accepted ? pathYes! : pathNo!;
      // Graceful restart: the new session's path replaces the stale one of the old session.
      if (replaces) for (const r of replaces) if (r.received > 0) this.dropFrom(r, p);
      const old = loc.set(p, path);
      if (old === path) continue;
      const v6 = p.afi !== AFI_IPV4;
      src.retain(path, v6);
      if (old) src.release(old, v6);
    }
    // An interned path nobody points at (e.g. every prefix was already there) is dropped.
    if (pathYes) src.discardIfUnused(pathYes);
    if (pathNo) src.discardIfUnused(pathNo);
    return refused;
  }

  private dropFrom(src: Source, p: Prefix): void {
    const old = this.loc.delete(p, src);
    if (old) src.release(old, p.afi !== AFI_IPV4);
  }

  /** `src` withdraws `prefixes`; returns how many it actually had. */
  withdraw(src: Source, prefixes: readonly Prefix[], replaces?: readonly Source[]): number {
    let n = 0;
    for (let i = 0; i < prefixes.length; i++) {
      if (replaces) for (const r of replaces) if (r.received > 0) this.dropFrom(r, prefixes[i]!);
      const p = prefixes[i]!;
      const old = this.loc.delete(p, src);
      if (!old) continue;
      n++;
      src.release(old, p.afi !== AFI_IPV4);
    }
    return n;
  }

  /** The prefixes `src` offers, with its path for each (a scan of the table). */
  *pathsOf(src: Source, family?: 4 | 6): Generator<[Prefix, Path]> {
    for (const [p, e] of this.loc.table.entries(family)) {
      if (!Array.isArray(e)) {
        if (e.source === src) yield [p, e];
      } else {
        for (const x of e) if (x.source === src) yield [p, x];
      }
    }
  }

  /**
   * Removes everything `src` announced (a scan of the table), about `batch` entries per step.
   * The source is marked dead first so nothing new is added to it.
   */
  *flush(src: Source, batch = 4096): Generator<void, void, void> {
    src.alive = false;
    let n = 0;
    for (const [p, e] of this.loc.table.entries()) {
      if (src.received === 0) return;
      if (Array.isArray(e) ? e.some((x) => x.source === src) : e.source === src) {
        const old = this.loc.delete(p, src);
        if (old) src.release(old, p.afi !== AFI_IPV4);
      }
      if (++n % batch === 0) yield;
    }
  }

  /** Re-applies an import policy to everything `src` sent (soft reconfiguration inbound). */
  *reapply(src: Source, policy: CompiledPolicy, batch = 4096): Generator<void, void, void> {
    let n = 0;
    for (const [p, old] of this.pathsOf(src)) {
      if (!src.alive) return;
      const accepted = !old.attrs.loop && policy.accepts(p);
      if (accepted !== old.accepted) {
        const path = src.path(old.attrs, accepted);
        const v6 = p.afi !== AFI_IPV4;
        src.retain(path, v6);
        this.loc.set(p, path);
        src.release(old, v6);
      }
      if (++n % batch === 0) yield;
    }
  }
}
