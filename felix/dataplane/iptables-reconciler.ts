// The iptables reconciler for one address family: desired chains (from felix/rules) against the
// kernel's (read back with iptables-save, compared by the tw: hash of each rule). Only chains
// whose hashes differ are rewritten, with one `iptables-restore --noflush` per apply; the hooks
// from the built-in chains are kept at the top, exactly once. Chains we own but no longer want
// are deleted only after the first in-sync; before it, only MISSING chains are written ("gap
// fill"), so a restarted agent leaves the previous programming alone until it knows better.
import { IptablesRestoreError, isOwnedChain, type Iptables, type SavedTable } from '../../src/iptables/index.js';
import { errorMessage } from '../../src/errors.js';
import type { Chain, FamilyDelta, Hook, RenderedFamily, TableName } from '../rules/types.js';
import { KeyBackoff, type BackoffOptions, type FailureInfo } from './backoff.js';
import { silentLogger, type DataplaneLogger } from './log.js';

export const ALL_TABLES: readonly TableName[] = ['filter', 'nat', 'raw', 'mangle'];

interface ActualRule {
  hash: string | undefined;
  spec: string;
}

interface ActualTable {
  /** Our chains (tw-*): the hash of each rule, '' when a rule has none. */
  owned: Map<string, string[]>;
  /** Built-in chains: every rule (to find and fix our hooks). */
  builtin: Map<string, ActualRule[]>;
}

export interface IptablesApplyResult {
  /** Chains written (created or rewritten). */
  written: string[];
  deleted: string[];
  hooksWritten: number;
  /** Keys still not as desired (failed or backing off). */
  pending: string[];
  /** ms spent inside iptables-restore. */
  restoreMs: number;
}

export interface IptablesReconcilerOptions extends BackoffOptions {
  log?: DataplaneLogger;
}

const hookKey = (table: string, chain: string): string => `${table}/hooks/${chain}`;
const chainKey = (table: string, chain: string): string => `${table}/${chain}`;

function jumpsToOwned(spec: string): boolean {
  return /(?:^|\s)-[jg]\s+tw-/.test(spec);
}

function sameHashes(a: readonly string[] | undefined, chain: Chain): boolean {
  if (a === undefined || a.length !== chain.rules.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== chain.rules[i]!.hash) return false;
  return true;
}

export class IptablesReconciler {
  readonly family: 4 | 6;
  private readonly ipt: Iptables;
  private readonly log: DataplaneLogger;
  private readonly backoff: KeyBackoff;
  private desired = new Map<TableName, Map<string, Chain>>();
  private desiredHooks: Hook[] = [];
  private actual = new Map<TableName, ActualTable>();
  private inSync = false;
  private haveDesired = false;
  /**
   * Desired chain objects known to be in the kernel exactly as desired (the renderer hands out
   * the same object while a chain is unchanged), so an apply looks at changed chains only.
   * Forgotten on every read-back.
   */
  private clean = new WeakSet<Chain>();
  /** Bumped by every restore we run (successful or not). */
  private writeGen = 0;
  /** Tables written since the last verify(). */
  private readonly writtenTables = new Set<TableName>();
  /**
   * Per table, the chain names that may differ from the kernel: everything after a read-back or a
   * whole setDesired, only what a delta names after updateDesired. A name leaves the set once its
   * chain is known to be as desired (or gone, when unwanted), so an apply costs O(changes).
   */
  private readonly check = new Map<TableName, Set<string>>(ALL_TABLES.map((t) => [t, new Set<string>()]));

  constructor(ipt: Iptables, opts: IptablesReconcilerOptions = {}) {
    this.ipt = ipt;
    this.family = ipt.family;
    this.log = opts.log ?? silentLogger;
    this.backoff = new KeyBackoff(opts);
  }

  /** The whole desired picture of this family (undefined: nothing, e.g. IPv6 switched off). */
  setDesired(f: RenderedFamily | undefined): void {
    const d = new Map<TableName, Map<string, Chain>>();
    for (const t of ALL_TABLES) {
      const m = new Map<string, Chain>();
      for (const c of f?.[t] ?? []) m.set(c.name, c);
      d.set(t, m);
    }
    this.desired = d;
    this.desiredHooks = f?.hooks ?? [];
    this.haveDesired = true;
    this.checkEverything();
  }

  /**
   * Applies a render delta (felix/rules RuleRenderer.update) to the desired picture: only the
   * chains it names are looked at by the next apply. Equivalent to setDesired with the whole
   * rendered family the delta leads to.
   */
  updateDesired(fd: FamilyDelta): void {
    for (const t of ALL_TABLES) {
      const td = fd[t];
      if (td.upserts.length === 0 && td.deletes.length === 0) continue;
      let want = this.desired.get(t);
      if (want === undefined) {
        want = new Map();
        this.desired.set(t, want);
      }
      const check = this.check.get(t)!;
      for (const c of td.upserts) {
        want.set(c.name, c);
        check.add(c.name);
      }
      for (const n of td.deletes) {
        want.delete(n);
        check.add(n);
      }
    }
    if (fd.hooks !== undefined) this.desiredHooks = fd.hooks;
    this.haveDesired = true;
  }

  /** Every desired and every owned chain is looked at by the next apply. */
  private checkEverything(): void {
    for (const t of ALL_TABLES) {
      const check = this.check.get(t)!;
      for (const n of this.desired.get(t)?.keys() ?? []) check.add(n);
      for (const n of this.actual.get(t)?.owned.keys() ?? []) check.add(n);
    }
  }

  /** From now on chains we own but do not want are deleted, and existing chains are rewritten. */
  markInSync(): void {
    this.inSync = true;
  }

  /** Replaces what we believe is in the kernel with what iptables-save says. */
  async readBack(): Promise<void> {
    for (const t of ALL_TABLES) {
      const saved = await this.ipt.save(t);
      this.actual.set(t, toActual(saved));
    }
    this.clean = new WeakSet<Chain>();
    this.checkEverything();
  }

  /**
   * A read-back that does not block writes: iptables-save runs while applies go on, and its
   * result is taken only if nothing was written meanwhile (else it is dropped: a later verify or
   * the periodic refresh looks again). Returns true when the result was taken.
   */
  async verify(): Promise<boolean> {
    const gen = this.writeGen;
    const which = [...this.writtenTables];
    this.writtenTables.clear();
    const tables = new Map<TableName, ActualTable>();
    for (const t of which) tables.set(t, toActual(await this.ipt.save(t)));
    if (gen !== this.writeGen) {
      for (const t of which) this.writtenTables.add(t);
      return false;
    }
    for (const [t, a] of tables) this.actual.set(t, a);
    if (which.length > 0) {
      this.clean = new WeakSet<Chain>();
      this.checkEverything();
    }
    return true;
  }

  /** The desired chains per table and the hooks (what `twillctl verify` compares the kernel with). */
  desiredView(): { tables: ReadonlyMap<TableName, ReadonlyMap<string, Chain>>; hooks: readonly Hook[] } {
    return { tables: this.desired, hooks: this.desiredHooks };
  }

  /** Chains (table/name) that are desired and known to be in the kernel exactly as desired. */
  isProgrammed(table: TableName, chain: string): boolean {
    const c = this.desired.get(table)?.get(chain);
    return c !== undefined && sameHashes(this.actual.get(table)?.owned.get(chain), c);
  }

  /** True when every desired chain and hook is in place. */
  converged(): boolean {
    return this.computePlan(false).every((p) => p.upserts.length === 0 && p.hooks === undefined && (!this.inSync || p.deletes.length === 0));
  }

  /** Retry backed-off chains at the next apply (e.g. the ipsets they use were just created). */
  retryNow(): void {
    this.backoff.expireAll();
  }

  failing(minAttempts = 3): Map<string, FailureInfo> {
    return this.backoff.failing(minAttempts);
  }

  nextRetryAt(): number | undefined {
    return this.backoff.nextRetryAt();
  }

  /** Makes the kernel match the desired state as far as allowed now. Never throws for a write error. */
  async apply(): Promise<IptablesApplyResult> {
    const res: IptablesApplyResult = { written: [], deleted: [], hooksWritten: 0, pending: [], restoreMs: 0 };
    if (!this.haveDesired) return res;
    if (this.actual.size === 0) await this.readBack();
    // Up to a few passes: a rejected chain is set aside (with backoff) and the rest retried at once.
    for (let pass = 0; pass < 4; pass++) {
      const plan = this.computePlan(true);
      const text = this.renderUpserts(plan);
      if (text.lines.length === 0) break;
      const t0 = performance.now();
      this.writeGen++;
      for (const p of plan) if (p.upserts.length > 0 || p.hooks) this.writtenTables.add(p.table);
      try {
        await this.ipt.restore(text.lines.join('\n') + '\n');
        res.restoreMs += performance.now() - t0;
        this.recordUpserts(plan, res);
        break;
      } catch (e) {
        res.restoreMs += performance.now() - t0;
        const key = e instanceof IptablesRestoreError && e.lineNumber !== undefined ? text.owner[e.lineNumber - 1] : undefined;
        const msg = errorMessage(e);
        if (key !== undefined) {
          const f = this.backoff.failed(key, msg);
          this.log.error({ family: this.family, key, attempts: f.attempts, err: msg }, 'iptables write rejected');
          // Sections before the failing one were committed: re-read so we don't rewrite them blindly.
          await this.safeReadBack();
          continue;
        }
        for (const k of text.keys) this.backoff.failed(k, msg);
        this.log.error({ family: this.family, keys: text.keys.length, err: msg }, 'iptables-restore failed');
        await this.safeReadBack();
        break;
      }
    }
    let after = this.computePlan(false);
    // Delete unwanted chains only in a table whose desired chains and hooks are all in the kernel:
    // a change that arrived while we wrote may have made a chain unwanted whose users the kernel
    // still has (their rewrite is the next apply's), and -X of a referenced chain fails.
    const deletable = after.filter((p) => p.deletes.length > 0 && p.upserts.length === 0 && p.hooks === undefined);
    if (this.inSync && deletable.length > 0) {
      await this.applyDeletes(deletable, res);
      after = this.computePlan(false);
    }
    for (const p of after) {
      for (const c of p.upserts) res.pending.push(chainKey(p.table, c.name));
      if (p.hooks) for (const h of p.hooks.builtins) res.pending.push(hookKey(p.table, h));
      if (this.inSync) for (const d of p.deletes) res.pending.push(chainKey(p.table, d));
    }
    // Failures of objects that are no longer wanted (or that got fixed by someone) are forgotten.
    const still = new Set(res.pending);
    this.backoff.retain((k) => still.has(k));
    return res;
  }

  private async safeReadBack(): Promise<void> {
    try {
      await this.readBack();
    } catch (e) {
      this.log.error({ family: this.family, err: errorMessage(e) }, 'iptables-save failed');
    }
  }

  private async applyDeletes(plans: TablePlan[], res: IptablesApplyResult): Promise<void> {
    const lines: string[] = [];
    const keys: string[] = [];
    const done: { table: TableName; chain: string }[] = [];
    for (const p of plans) {
      const dels = p.deletes.filter((c) => this.backoff.ready(chainKey(p.table, c)));
      if (dels.length === 0) continue;
      lines.push(`*${p.table}`);
      for (const c of dels) lines.push(`:${c} - [0:0]`);
      for (const c of dels) lines.push(`-X ${c}`);
      lines.push('COMMIT');
      for (const c of dels) {
        keys.push(chainKey(p.table, c));
        done.push({ table: p.table, chain: c });
      }
    }
    if (lines.length === 0) return;
    const t0 = performance.now();
    this.writeGen++;
    for (const d of done) this.writtenTables.add(d.table);
    try {
      await this.ipt.restore(lines.join('\n') + '\n');
      for (const d of done) {
        this.actual.get(d.table)?.owned.delete(d.chain);
        this.backoff.succeeded(chainKey(d.table, d.chain));
        res.deleted.push(chainKey(d.table, d.chain));
      }
    } catch (e) {
      const msg = errorMessage(e);
      for (const k of keys) this.backoff.failed(k, msg);
      this.log.warn({ family: this.family, chains: keys, err: msg }, 'deleting unused chains failed; will retry');
      await this.safeReadBack();
    } finally {
      res.restoreMs += performance.now() - t0;
    }
  }

  private computePlan(respectBackoff: boolean): TablePlan[] {
    const plans: TablePlan[] = [];
    for (const t of ALL_TABLES) {
      const want = this.desired.get(t) ?? new Map<string, Chain>();
      const have: ActualTable = this.actual.get(t) ?? { owned: new Map<string, string[]>(), builtin: new Map<string, ActualRule[]>() };
      const ok = (k: string): boolean => !respectBackoff || this.backoff.ready(k);
      const upserts: Chain[] = [];
      const deletes: string[] = [];
      const check = this.check.get(t)!;
      for (const name of check) {
        const c = want.get(name);
        const cur = have.owned.get(name);
        if (c === undefined) {
          // Unwanted: delete it if it is ours in the kernel; else there is nothing left to do.
          if (cur === undefined) check.delete(name);
          else if (ok(chainKey(t, name))) deletes.push(name);
          continue;
        }
        if (this.clean.has(c) || sameHashes(cur, c)) {
          this.clean.add(c);
          check.delete(name);
          continue;
        }
        if (!this.inSync && cur !== undefined) continue; // gap fill only
        if (ok(chainKey(t, name))) upserts.push(c);
      }
      // Same order as a whole-table scan would give (restore text and results are deterministic).
      upserts.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      deletes.sort();
      // Hooks: per built-in chain, ours must be exactly the desired ones, in order, at the top.
      const wantHooks = new Map<string, Hook[]>();
      for (const h of this.desiredHooks) if (h.table === t) wantHooks.set(h.chain, [...(wantHooks.get(h.chain) ?? []), h]);
      const builtins = new Set<string>([...wantHooks.keys()]);
      for (const [b, rules] of have.builtin) if (rules.some((r) => isOurRule(r))) builtins.add(b);
      const fix: HookFix = { builtins: [], remove: [], insert: [] };
      for (const b of [...builtins].sort()) {
        const w = wantHooks.get(b) ?? [];
        const rules = have.builtin.get(b) ?? [];
        const ours = rules.filter((r) => isOurRule(r));
        const good = ours.length === w.length && w.every((h, i) => rules[i]?.hash === h.hash);
        if (good || !ok(hookKey(t, b))) continue;
        fix.builtins.push(b);
        for (const r of ours) fix.remove.push({ chain: b, spec: r.spec });
        for (const h of w) fix.insert.push(h);
      }
      plans.push({ table: t, upserts, deletes, hooks: fix.builtins.length > 0 ? fix : undefined });
    }
    return plans;
  }

  private renderUpserts(plans: TablePlan[]): { lines: string[]; owner: (string | undefined)[]; keys: string[] } {
    const lines: string[] = [];
    const owner: (string | undefined)[] = [];
    const keys: string[] = [];
    const push = (l: string, k?: string): void => {
      lines.push(l);
      owner.push(k);
    };
    for (const p of plans) {
      if (p.upserts.length === 0 && !p.hooks) continue;
      push(`*${p.table}`);
      for (const c of p.upserts) push(`:${c.name} - [0:0]`, chainKey(p.table, c.name));
      for (const c of p.upserts) {
        const k = chainKey(p.table, c.name);
        keys.push(k);
        for (const r of c.rules) push(`-A ${c.name} ${r.spec}`, k);
      }
      if (p.hooks) {
        for (const r of p.hooks.remove) push(`-D ${r.chain} ${r.spec}`, hookKey(p.table, r.chain));
        // Insert in reverse at position 1: they end up in the desired order at the top.
        for (const h of [...p.hooks.insert].reverse()) push(`-I ${h.chain} 1 ${h.spec}`, hookKey(p.table, h.chain));
        for (const b of p.hooks.builtins) keys.push(hookKey(p.table, b));
      }
      push('COMMIT');
    }
    return { lines, owner, keys };
  }

  private recordUpserts(plans: TablePlan[], res: IptablesApplyResult): void {
    for (const p of plans) {
      let have = this.actual.get(p.table);
      if (!have) {
        have = { owned: new Map(), builtin: new Map() };
        this.actual.set(p.table, have);
      }
      for (const c of p.upserts) {
        have.owned.set(c.name, c.rules.map((r) => r.hash));
        this.clean.add(c);
        this.backoff.succeeded(chainKey(p.table, c.name));
        res.written.push(chainKey(p.table, c.name));
      }
      if (p.hooks) {
        for (const b of p.hooks.builtins) {
          const rest = (have.builtin.get(b) ?? []).filter((r) => !isOurRule(r));
          const mine = p.hooks.insert.filter((h) => h.chain === b).map((h) => ({ hash: h.hash, spec: h.spec }));
          have.builtin.set(b, [...mine, ...rest]);
          this.backoff.succeeded(hookKey(p.table, b));
          res.hooksWritten++;
        }
      }
    }
  }
}

interface HookFix {
  builtins: string[];
  remove: { chain: string; spec: string }[];
  insert: Hook[];
}

interface TablePlan {
  table: TableName;
  upserts: Chain[];
  deletes: string[];
  hooks: HookFix | undefined;
}

/** A rule of ours in a built-in chain: it carries a tw: hash or jumps into a tw- chain. */
export function isOurRule(r: { hash?: string | undefined; spec: string }): boolean {
  return r.hash !== undefined || jumpsToOwned(r.spec);
}

function toActual(saved: SavedTable): ActualTable {
  const owned = new Map<string, string[]>();
  const builtin = new Map<string, ActualRule[]>();
  for (const [name, c] of saved.chains) {
    if (isOwnedChain(name)) owned.set(name, c.rules.map((r) => r.hash ?? ''));
    else if (c.policy !== undefined) builtin.set(name, c.rules.map((r) => ({ hash: r.hash, spec: r.spec })));
  }
  return { owned, builtin };
}
