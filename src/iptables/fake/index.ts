// One fake network namespace's netfilter: iptables and ip6tables for both backends, and ipset,
// sharing state the way the kernel does (rules reference sets; a set in use cannot be destroyed).
import type { Family, Ipset, Iptables, IptablesBackend } from '../types.js';
import { FakeIpset, FakeIpsetState } from './fake-ipset.js';
import { FakeIptables, FakeIptablesState } from './fake-iptables.js';
import type { EvalRuleSet, EvalSet } from './evaluate.js';

export { FakeIptables, FakeIptablesState } from './fake-iptables.js';
export { FakeIpset, FakeIpsetState } from './fake-ipset.js';
export { evaluatePacket, IptablesEvalError, RuleSetEvaluator, type CtState, type EvalPacket, type EvalResult, type EvalRuleSet, type EvalSet, type EvalStep } from './evaluate.js';

export class FakeNetfilter {
  private readonly tables = new Map<string, FakeIptablesState>();
  readonly ipsetState = new FakeIpsetState();

  constructor(readonly netns?: string) {}

  /** The raw state of one (backend, family), for assertions. */
  tableState(o: { family: Family; backend: IptablesBackend }): FakeIptablesState {
    const key = `${o.backend}/${o.family}`;
    let s = this.tables.get(key);
    if (!s) {
      s = new FakeIptablesState(o.family, o.backend);
      this.tables.set(key, s);
    }
    return s;
  }

  iptables(o: { family: Family; backend: IptablesBackend }): FakeIptables {
    return new FakeIptables(
      this.tableState(o),
      {
        setFamily: (name) => {
          const s = this.ipsetState.sets.get(name);
          return s === undefined ? undefined : s.family === 'inet6' ? 6 : 4;
        },
      },
      this.netns,
    );
  }

  /**
   * What the packet evaluator (evaluate.ts) walks: one table of one (backend, family) as it
   * stands — every chain with its rules in iptables-save's form, the built-in policies — and the
   * sets of that family.
   */
  ruleSet(o: { family: Family; backend?: IptablesBackend; table?: string }): EvalRuleSet {
    const t = this.tableState({ family: o.family, backend: o.backend ?? 'nft' }).tables.get(o.table ?? 'filter');
    const chains = new Map<string, string[]>();
    const policies = new Map<string, string>();
    for (const c of t?.values() ?? []) {
      chains.set(c.name, c.rules.map((r) => r.spec));
      if (c.builtin) policies.set(c.name, c.policy ?? 'ACCEPT');
    }
    const sets = new Map<string, EvalSet>();
    for (const [name, s] of this.ipsetState.sets) {
      if ((s.family === 'inet6' ? 6 : 4) === o.family) sets.set(name, { type: s.type, members: s.members });
    }
    return { family: o.family, chains, policies, sets };
  }

  ipset(): FakeIpset {
    return new FakeIpset(
      this.ipsetState,
      { inUse: (name) => [...this.tables.values()].some((t) => t.usesSet(name)) },
      this.netns,
    );
  }
}

/** A fresh fake namespace. `iptables()` / `ipset()` on it satisfy the same contract as the real ones. */
export function createFakeNetfilter(o: { netns?: string } = {}): FakeNetfilter {
  return new FakeNetfilter(o.netns);
}

export type { Iptables, Ipset };
