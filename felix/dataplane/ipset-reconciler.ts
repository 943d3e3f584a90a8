// The ipset reconciler: desired sets (tw4-* / tw6-*, from felix/rules) against the kernel's
// (`ipset save`). New sets are created and filled, changed ones get add/del lines — or, for a big
// change or a type change, are rebuilt in a temporary set and swapped in atomically. Unwanted sets
// are destroyed only after the first in-sync and only in the "post" phase, after iptables no
// longer references them.
import { IpsetRestoreError, isOwnedIpset, type Ipset, type IpsetInfo } from '../../src/iptables/index.js';
import { errorMessage } from '../../src/errors.js';
import type { RenderedIpSet } from '../rules/types.js';
import { KeyBackoff, type BackoffOptions, type FailureInfo } from './backoff.js';
import { silentLogger, type DataplaneLogger } from './log.js';

export const IPSET_MAXELEM = 1_048_576;
/** A change touching more members than this (and more than half the set) goes through a swap. */
const SWAP_THRESHOLD = 500;
/** A restore text longer than this is split in two runs that go side by side. */
const PARALLEL_LINES = 4000;

interface Batch {
  lines: string[];
  owner: (string | undefined)[];
  touched: RenderedIpSet[];
}

/** Cuts the restore text in two at a set boundary near the middle when it is long. */
function splitBatches(lines: string[], owner: (string | undefined)[], touched: RenderedIpSet[], minLines: number): Batch[] {
  if (lines.length < minLines || touched.length < 2) return [{ lines, owner, touched }];
  let cut = lines.length >> 1;
  while (cut < lines.length && owner[cut] === owner[cut - 1]) cut++;
  if (cut >= lines.length) return [{ lines, owner, touched }];
  const firstOfSecond = owner[cut];
  const i = touched.findIndex((t) => t.name === firstOfSecond);
  return [
    { lines: lines.slice(0, cut), owner: owner.slice(0, cut), touched: touched.slice(0, i) },
    { lines: lines.slice(cut), owner: owner.slice(cut), touched: touched.slice(i) },
  ];
}

interface ActualSet {
  type: string;
  family: 'inet' | 'inet6';
  members: Set<string>;
}

export interface IpsetApplyResult {
  created: string[];
  updated: string[];
  destroyed: string[];
  pending: string[];
  restoreMs: number;
}

export interface IpsetReconcilerOptions extends BackoffOptions {
  log?: DataplaneLogger;
}

const famOf = (s: RenderedIpSet): 'inet' | 'inet6' => (s.family === 6 ? 'inet6' : 'inet');
const tmpName = (name: string): string => `${name.slice(0, 28)}-t`;

export class IpsetReconciler {
  private readonly ipset: Ipset;
  private readonly log: DataplaneLogger;
  private readonly backoff: KeyBackoff;
  private desired = new Map<string, RenderedIpSet>();
  private actual: Map<string, ActualSet> | undefined;
  private inSync = false;
  /** Desired set objects known to match the kernel (forgotten on read-back); see IptablesReconciler. */
  private clean = new WeakSet<RenderedIpSet>();
  /**
   * Set names that may differ from the kernel (all after a read-back or a whole setDesired, only
   * what a delta names after updateDesired); a name leaves once known to be as desired, or gone.
   */
  private readonly check = new Set<string>();

  constructor(ipset: Ipset, opts: IpsetReconcilerOptions = {}) {
    this.ipset = ipset;
    this.log = opts.log ?? silentLogger;
    this.backoff = new KeyBackoff(opts);
  }

  setDesired(sets: Iterable<RenderedIpSet>): void {
    const m = new Map<string, RenderedIpSet>();
    for (const s of sets) m.set(s.name, s);
    this.desired = m;
    this.checkEverything();
  }

  /** Applies a change to the desired sets (new or changed sets, names no longer wanted). */
  updateDesired(upserts: Iterable<RenderedIpSet>, deletes: Iterable<string>): void {
    for (const s of upserts) {
      this.desired.set(s.name, s);
      this.check.add(s.name);
    }
    for (const n of deletes) {
      this.desired.delete(n);
      this.check.add(n);
    }
  }

  private checkEverything(): void {
    for (const n of this.desired.keys()) this.check.add(n);
    for (const n of this.actual?.keys() ?? []) this.check.add(n);
  }

  markInSync(): void {
    this.inSync = true;
  }

  async readBack(): Promise<void> {
    const listed = await this.ipset.list('tw');
    const m = new Map<string, ActualSet>();
    for (const [name, info] of listed) if (isOwnedIpset(name)) m.set(name, fromInfo(info));
    this.actual = m;
    this.clean = new WeakSet<RenderedIpSet>();
    this.checkEverything();
  }

  /** The desired sets (what `twillctl verify` compares the kernel with). */
  desiredSets(): RenderedIpSet[] {
    return [...this.desired.values()];
  }

  isProgrammed(name: string): boolean {
    const d = this.desired.get(name);
    const a = this.actual?.get(name);
    return d !== undefined && a !== undefined && sameSet(d, a);
  }

  failing(minAttempts = 3): Map<string, FailureInfo> {
    return this.backoff.failing(minAttempts);
  }

  nextRetryAt(): number | undefined {
    return this.backoff.nextRetryAt();
  }

  /** Creates and updates desired sets (call before the iptables write). */
  /**
   * Would the next applyUpdates create (or recreate) a set? When not, it only changes members of
   * sets that exist, and the iptables writes (which can only reference existing sets) need not
   * wait for it. Unknown actual state (not read yet) counts as yes.
   */
  wouldCreate(): boolean {
    if (this.actual === undefined) return true;
    for (const name of this.check) {
      const d = this.desired.get(name);
      if (d === undefined || this.clean.has(d)) continue;
      const a = this.actual.get(d.name);
      if (a === undefined || a.type !== d.type || a.family !== famOf(d)) return true;
    }
    return false;
  }

  async applyUpdates(): Promise<IpsetApplyResult> {
    const res: IpsetApplyResult = { created: [], updated: [], destroyed: [], pending: [], restoreMs: 0 };
    if (this.actual === undefined) await this.readBack();
    const actual = this.actual!;
    const lines: string[] = [];
    const owner: (string | undefined)[] = [];
    const touched: RenderedIpSet[] = [];
    const push = (l: string, k: string): void => {
      lines.push(l);
      owner.push(k);
    };
    // In name order, as a whole scan of the sorted desired list would write them.
    for (const name of [...this.check].sort()) {
      const d = this.desired.get(name);
      if (d === undefined) continue; // unwanted: applyDeletes
      if (this.clean.has(d)) {
        this.check.delete(name);
        continue;
      }
      const a = actual.get(d.name);
      if (a !== undefined && sameSet(d, a)) {
        this.clean.add(d);
        this.check.delete(name);
        continue;
      }
      if (!this.backoff.ready(d.name)) continue;
      touched.push(d);
      const create = (name: string): void =>
        push(`create ${name} ${d.type} family ${famOf(d)} maxelem ${Math.max(IPSET_MAXELEM, d.members.length)}`, d.name);
      if (a === undefined) {
        create(d.name);
        for (const m of d.members) push(`add ${d.name} ${m}`, d.name);
        continue;
      }
      const want = new Set(d.members);
      const adds = d.members.filter((m) => !a.members.has(m));
      const dels = [...a.members].filter((m) => !want.has(m));
      const typeChanged = a.type !== d.type || a.family !== famOf(d);
      if (typeChanged) {
        // The kernel swaps only sets of compatible types: recreate. (Set names come from what the
        // set means, type included, so this is rare; if a rule still uses it, it fails and retries.)
        push(`destroy ${d.name}`, d.name);
        create(d.name);
        for (const m of d.members) push(`add ${d.name} ${m}`, d.name);
      } else if (adds.length + dels.length > SWAP_THRESHOLD && adds.length + dels.length > d.members.length / 2) {
        const t = tmpName(d.name);
        if (actual.has(t)) push(`destroy ${t}`, d.name); // a leftover from an interrupted rebuild
        create(t);
        for (const m of d.members) push(`add ${t} ${m}`, d.name);
        push(`swap ${t} ${d.name}`, d.name);
        push(`destroy ${t}`, d.name);
      } else {
        for (const m of adds) push(`add ${d.name} ${m}`, d.name);
        for (const m of dels) push(`del ${d.name} ${m}`, d.name);
      }
    }
    if (lines.length > 0) {
      const t0 = performance.now();
      // A big write (a cold start: thousands of sets) goes as two `ipset restore` runs side by
      // side, split between sets: the kernel work is per set, so it takes about half as long on
      // two cores. A small one stays one run (one process start).
      const batches = splitBatches(lines, owner, touched, PARALLEL_LINES);
      let failed = false;
      await Promise.all(
        batches.map(async (b) => {
          try {
            await this.ipset.restore(b.lines.join('\n') + '\n', { exist: true });
            // The sets as they were when the text was made (setDesired may run during the await).
            for (const d of b.touched) {
              const n = d.name;
              (actual.has(n) ? res.updated : res.created).push(n);
              actual.set(n, { type: d.type, family: famOf(d), members: new Set(d.members) });
              this.clean.add(d);
              this.backoff.succeeded(n);
            }
          } catch (e) {
            failed = true;
            const msg = errorMessage(e);
            const key = e instanceof IpsetRestoreError && e.lineNumber !== undefined ? b.owner[e.lineNumber - 1] : undefined;
            for (const n of key !== undefined ? [key] : b.touched.map((t) => t.name)) {
              const f = this.backoff.failed(n, msg);
              this.log.error({ set: n, attempts: f.attempts, err: msg }, 'ipset write rejected');
            }
          }
        }),
      );
      if (failed) {
        // Not atomic: whatever went before the failing line stays. Re-read the truth.
        try {
          await this.readBack();
        } catch (e2) {
          this.log.error({ err: errorMessage(e2) }, 'ipset save failed');
        }
      }
      res.created.sort();
      res.updated.sort();
      res.restoreMs += performance.now() - t0;
    }
    for (const name of this.check) {
      const d = this.desired.get(name);
      if (d === undefined) continue;
      if (this.clean.has(d)) {
        this.check.delete(name);
        continue;
      }
      const a = this.actual?.get(d.name);
      if (a === undefined || !sameSet(d, a)) res.pending.push(d.name);
    }
    res.pending.sort();
    const pending = new Set(res.pending);
    this.backoff.retain((k) => k.startsWith('destroy/') || pending.has(k));
    return res;
  }

  /** Destroys sets we own but no longer want (only after in-sync; call after the iptables write). */
  async applyDeletes(): Promise<IpsetApplyResult> {
    const res: IpsetApplyResult = { created: [], updated: [], destroyed: [], pending: [], restoreMs: 0 };
    if (!this.inSync || this.actual === undefined) return res;
    const gone: string[] = [];
    for (const n of this.check) {
      if (this.desired.has(n)) continue;
      if (!this.actual.has(n)) this.check.delete(n);
      else if (this.backoff.ready(`destroy/${n}`)) gone.push(n);
    }
    gone.sort();
    if (gone.length === 0) return res;
    const t0 = performance.now();
    // One restore per set: a set still referenced by a rule (someone else's) must not block the rest.
    for (const n of gone) {
      try {
        await this.ipset.restore(`destroy ${n}\n`);
        this.actual.delete(n);
        this.backoff.succeeded(`destroy/${n}`);
        res.destroyed.push(n);
      } catch (e) {
        const f = this.backoff.failed(`destroy/${n}`, errorMessage(e));
        this.log.warn({ set: n, attempts: f.attempts, err: errorMessage(e) }, 'destroying an unused ipset failed; will retry');
        res.pending.push(`destroy/${n}`);
      }
    }
    res.restoreMs += performance.now() - t0;
    return res;
  }
}

function fromInfo(info: IpsetInfo): ActualSet {
  return { type: info.type, family: info.family, members: new Set(info.members) };
}

function sameSet(d: RenderedIpSet, a: ActualSet): boolean {
  if (a.type !== d.type || a.family !== famOf(d) || a.members.size !== d.members.length) return false;
  for (const m of d.members) if (!a.members.has(m)) return false;
  return true;
}
