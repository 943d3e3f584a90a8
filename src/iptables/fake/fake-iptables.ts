// An in-memory iptables that reads real iptables-restore text and answers iptables-save like the
// kernel would: per-table atomic commits, `--noflush` semantics (declaring a user chain flushes
// it, built-in chains keep their rules), -A/-I/-D/-R/-F/-X/-N/-P/-Z, and the refusals the real
// tools make (jump to a missing chain, delete of a missing rule, -N of an existing chain, -X of a
// referenced or non-empty chain, loops reachable from a built-in chain, unknown sets...).
import { iptablesRestoreError } from '../restore-error.js';
import { parseSaveTable } from '../save-parser.js';
import { BUILTIN_CHAINS, checkTable, isTable } from '../tables.js';
import { splitArgs } from '../tokens.js';
import { MAX_CHAIN_NAME } from '../naming.js';
import type { Family, Iptables, IptablesBackend, RestoreOptions, SavedTable } from '../types.js';
import { canonRule, RuleError, TARGETS, VERDICTS, type RuleLookups } from './rule-canon.js';

export interface FakeRule {
  readonly spec: string;
  readonly jump?: string;
  readonly sets: readonly string[];
}

export interface FakeChain {
  readonly name: string;
  readonly builtin: boolean;
  policy: string | undefined;
  rules: FakeRule[];
}

export type FakeTable = Map<string, FakeChain>;

/** The tables of one (backend, family) in one fake network namespace. */
export class FakeIptablesState {
  readonly tables = new Map<string, FakeTable>();
  /** How many restores were applied (tests use it to check that the agent writes only when needed). */
  restores = 0;
  constructor(
    readonly family: Family,
    readonly backend: IptablesBackend,
  ) {}

  /** Is ipset `name` used by any rule? */
  usesSet(name: string): boolean {
    for (const t of this.tables.values())
      for (const c of t.values()) for (const r of c.rules) if (r.sets.includes(name)) return true;
    return false;
  }
}

export interface FakeIptablesHooks {
  /** Family of an existing ipset (4/6), undefined when it does not exist. */
  setFamily(name: string): Family | undefined;
}

class Failure extends Error {
  constructor(
    readonly lineNumber: number,
    message: string,
  ) {
    super(message);
  }
}

interface Tx {
  table: string;
  chains: FakeTable;
  copied: Set<string>;
}

function builtinsOf(table: string): readonly string[] {
  return BUILTIN_CHAINS[table] ?? [];
}

function beginTable(state: FakeIptablesState, table: string, noflush: boolean): Tx {
  const existing = state.tables.get(table);
  const chains: FakeTable = new Map();
  const copied = new Set<string>();
  if (noflush && existing) {
    for (const [k, v] of existing) chains.set(k, v);
  } else {
    for (const name of builtinsOf(table)) {
      // legacy keeps an undeclared built-in chain's policy across a full restore; nft resets it
      const keep = state.backend === 'legacy' ? existing?.get(name)?.policy : undefined;
      chains.set(name, { name, builtin: true, policy: keep ?? 'ACCEPT', rules: [] });
      copied.add(name);
    }
  }
  if (!existing) {
    for (const name of builtinsOf(table)) {
      if (!chains.has(name)) {
        chains.set(name, { name, builtin: true, policy: 'ACCEPT', rules: [] });
        copied.add(name);
      }
    }
  }
  return { table, chains, copied };
}

function mut(tx: Tx, name: string): FakeChain {
  const c = tx.chains.get(name)!;
  if (tx.copied.has(name)) return c;
  const copy: FakeChain = { name: c.name, builtin: c.builtin, policy: c.policy, rules: c.rules.slice() };
  tx.chains.set(name, copy);
  tx.copied.add(name);
  return copy;
}

function referenced(tx: Tx, name: string): boolean {
  for (const c of tx.chains.values()) for (const r of c.rules) if (r.jump === name) return true;
  return false;
}

function checkChainName(n: number, name: string): void {
  if (name.length > MAX_CHAIN_NAME) {
    throw new Failure(n, `chain name \`${name}' too long (must be under ${MAX_CHAIN_NAME + 1} chars)`);
  }
  if (name === '' || name.startsWith('-') || name.startsWith('!') || /\s/.test(name)) {
    throw new Failure(n, `Invalid chain name \`${name}'`);
  }
  if (VERDICTS.has(name) || TARGETS.has(name)) throw new Failure(n, `chain name \`${name}' is a target name`);
}

/** Find a loop of jumps reachable from a built-in chain; returns the path, or undefined. */
function findLoop(tx: Tx): string[] | undefined {
  const state = new Map<string, 1 | 2>(); // 1 = on stack, 2 = done
  const path: string[] = [];
  const visit = (name: string): string[] | undefined => {
    const s = state.get(name);
    if (s === 2) return undefined;
    if (s === 1) return [...path.slice(path.indexOf(name)), name];
    state.set(name, 1);
    path.push(name);
    for (const r of tx.chains.get(name)?.rules ?? []) {
      if (r.jump === undefined) continue;
      const found = visit(r.jump);
      if (found) return found;
    }
    path.pop();
    state.set(name, 2);
    return undefined;
  };
  for (const c of tx.chains.values()) {
    if (!c.builtin) continue;
    const found = visit(c.name);
    if (found) return found;
  }
  return undefined;
}

const CMD: Record<string, string> = {
  '-A': 'A', '--append': 'A',
  '-I': 'I', '--insert': 'I',
  '-D': 'D', '--delete': 'D',
  '-R': 'R', '--replace': 'R',
  '-F': 'F', '--flush': 'F',
  '-X': 'X', '--delete-chain': 'X',
  '-N': 'N', '--new-chain': 'N',
  '-P': 'P', '--policy': 'P',
  '-Z': 'Z', '--zero': 'Z',
};

export class FakeIptables implements Iptables {
  readonly family: Family;
  readonly backend: IptablesBackend;

  constructor(
    private readonly state: FakeIptablesState,
    private readonly hooks: FakeIptablesHooks,
    private readonly netns?: string,
  ) {
    this.family = state.family;
    this.backend = state.backend;
  }

  private get tool(): string {
    return `${this.family === 6 ? 'ip6tables' : 'iptables'}-${this.backend}-restore`;
  }

  async restore(text: string, opts?: RestoreOptions): Promise<void> {
    const input = text.endsWith('\n') ? text : `${text}\n`;
    try {
      this.apply(input, opts?.noflush !== false);
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      const stderr = e.message.startsWith('COMMIT expected')
        ? `${this.tool}: ${e.message}\n`
        : `${this.tool}: line ${e.lineNumber} failed: ${e.message}\n`;
      throw iptablesRestoreError(input, stderr, {
        family: this.family,
        backend: this.backend,
        exitCode: 1,
        ...(this.netns !== undefined ? { netns: this.netns } : {}),
      });
    }
  }

  private apply(input: string, noflush: boolean): void {
    const ls = input.split('\n');
    if (ls[ls.length - 1] === '') ls.pop();
    let tx: Tx | undefined;
    for (let n = 1; n <= ls.length; n++) {
      const line = ls[n - 1]!.trim();
      if (line === '' || line.startsWith('#')) continue;
      if (line.startsWith('*')) {
        if (tx) throw new Failure(n, `table '${tx.table}' was not COMMITted before '${line}'`);
        const table = line.slice(1).trim();
        if (!isTable(table)) throw new Failure(n, `table name '${table}' invalid`);
        tx = beginTable(this.state, table, noflush);
        continue;
      }
      if (!tx) throw new Failure(n, 'no table specified (expected a *table line)');
      if (line === 'COMMIT') {
        const loop = findLoop(tx);
        if (loop) throw new Failure(n, `Too many links (jump loop ${loop.join(' -> ')})`);
        this.state.tables.set(tx.table, tx.chains);
        this.state.restores++;
        tx = undefined;
        continue;
      }
      if (line.startsWith(':')) {
        this.declare(tx, n, line);
        continue;
      }
      let argv: string[];
      try {
        argv = splitArgs(line);
      } catch (e) {
        throw new Failure(n, e instanceof Error ? e.message : String(e));
      }
      this.command(tx, n, argv);
    }
    if (tx) throw new Failure(ls.length + 1, `COMMIT expected at line ${ls.length + 1}`);
  }

  private declare(tx: Tx, n: number, line: string): void {
    const [name = '', policy = '-'] = line.slice(1).trim().split(/\s+/);
    const existing = tx.chains.get(name);
    if (existing?.builtin) {
      if (policy === '-') return;
      if (policy !== 'ACCEPT' && policy !== 'DROP') throw new Failure(n, `Bad policy name \`${policy}'`);
      mut(tx, name).policy = policy;
      return;
    }
    checkChainName(n, name);
    if (policy !== '-' && this.backend === 'legacy') {
      throw new Failure(n, `Can't set policy \`${policy}' on \`${name}': Bad built-in chain name`);
    }
    if (existing) mut(tx, name).rules = [];
    else {
      tx.chains.set(name, { name, builtin: false, policy: undefined, rules: [] });
      tx.copied.add(name);
    }
  }

  private lookups(tx: Tx): RuleLookups {
    return {
      chainKind: (name) => {
        const c = tx.chains.get(name);
        return c === undefined ? undefined : c.builtin ? 'builtin' : 'user';
      },
      setFamily: (name) => this.hooks.setFamily(name),
    };
  }

  private rule(tx: Tx, n: number, argv: string[]): FakeRule {
    try {
      return canonRule(argv, this.family, this.lookups(tx));
    } catch (e) {
      if (e instanceof RuleError) throw new Failure(n, e.message);
      throw e;
    }
  }

  private chainArg(tx: Tx, n: number, name: string | undefined): FakeChain {
    if (name === undefined) throw new Failure(n, 'a chain name is required');
    const c = tx.chains.get(name);
    if (!c) throw new Failure(n, 'No chain/target/match by that name.');
    return c;
  }

  private command(tx: Tx, n: number, argv: string[]): void {
    const cmd = CMD[argv[0] ?? ''];
    if (cmd === undefined) throw new Failure(n, `Bad argument \`${argv[0] ?? ''}'`);
    const chainName = argv[1];
    switch (cmd) {
      case 'A': {
        this.chainArg(tx, n, chainName);
        const r = this.rule(tx, n, argv.slice(2));
        mut(tx, chainName!).rules.push(r);
        return;
      }
      case 'I': {
        const c = this.chainArg(tx, n, chainName);
        let pos = 1;
        let rest = argv.slice(2);
        if (rest[0] !== undefined && /^\d+$/.test(rest[0])) {
          pos = Number(rest[0]);
          rest = rest.slice(1);
        }
        if (pos < 1 || pos > c.rules.length + 1) throw new Failure(n, 'Index of insertion too big.');
        const r = this.rule(tx, n, rest);
        mut(tx, chainName!).rules.splice(pos - 1, 0, r);
        return;
      }
      case 'R': {
        const c = this.chainArg(tx, n, chainName);
        const num = argv[2];
        if (num === undefined || !/^\d+$/.test(num)) throw new Failure(n, '-R needs a rule number');
        const pos = Number(num);
        if (pos < 1 || pos > c.rules.length) throw new Failure(n, 'Index of replacement too big.');
        const r = this.rule(tx, n, argv.slice(3));
        mut(tx, chainName!).rules[pos - 1] = r;
        return;
      }
      case 'D': {
        const c = this.chainArg(tx, n, chainName);
        if (argv.length === 3 && /^\d+$/.test(argv[2]!)) {
          const pos = Number(argv[2]);
          if (pos < 1 || pos > c.rules.length) throw new Failure(n, 'Index of deletion too big.');
          mut(tx, chainName!).rules.splice(pos - 1, 1);
          return;
        }
        const r = this.rule(tx, n, argv.slice(2));
        const i = c.rules.findIndex((x) => x.spec === r.spec);
        if (i < 0) throw new Failure(n, 'Bad rule (does a matching rule exist in that chain?).');
        mut(tx, chainName!).rules.splice(i, 1);
        return;
      }
      case 'F': {
        if (chainName === undefined) {
          for (const name of [...tx.chains.keys()]) mut(tx, name).rules = [];
          return;
        }
        this.chainArg(tx, n, chainName);
        mut(tx, chainName).rules = [];
        return;
      }
      case 'X': {
        if (chainName === undefined) {
          const users = [...tx.chains.values()].filter((c) => !c.builtin);
          for (const c of users) {
            if (c.rules.length > 0) throw new Failure(n, `Directory not empty: chain ${c.name} has rules`);
          }
          for (const c of users) {
            if (referenced(tx, c.name)) throw new Failure(n, `Too many links: chain ${c.name} is referenced`);
          }
          for (const c of users) tx.chains.delete(c.name);
          return;
        }
        const c = this.chainArg(tx, n, chainName);
        if (c.builtin) throw new Failure(n, `Operation not permitted: cannot delete built-in chain ${chainName}`);
        if (c.rules.length > 0) throw new Failure(n, `Device or resource busy: chain ${chainName} is not empty`);
        if (referenced(tx, chainName)) throw new Failure(n, `Device or resource busy: chain ${chainName} is referenced`);
        tx.chains.delete(chainName);
        tx.copied.delete(chainName);
        return;
      }
      case 'N': {
        if (chainName === undefined) throw new Failure(n, 'a chain name is required');
        if (tx.chains.has(chainName)) throw new Failure(n, 'Chain already exists.');
        checkChainName(n, chainName);
        tx.chains.set(chainName, { name: chainName, builtin: false, policy: undefined, rules: [] });
        tx.copied.add(chainName);
        return;
      }
      case 'P': {
        const c = this.chainArg(tx, n, chainName);
        const policy = argv[2];
        if (!c.builtin) throw new Failure(n, `Bad built-in chain name \`${chainName}'`);
        if (policy !== 'ACCEPT' && policy !== 'DROP') throw new Failure(n, `Bad policy name \`${policy ?? ''}'`);
        mut(tx, chainName!).policy = policy;
        return;
      }
      case 'Z': {
        if (chainName !== undefined) this.chainArg(tx, n, chainName);
        return;
      }
    }
  }

  async saveRaw(table: string): Promise<string> {
    checkTable(table);
    return this.saveText(table);
  }

  /** Synchronous save, for tests. */
  saveText(table: string): string {
    const chains = this.state.tables.get(table);
    const tool = `${this.family === 6 ? 'ip6tables' : 'iptables'}-${this.backend}-save`;
    const out: string[] = [`# Generated by ${tool} (twill fake)`, `*${table}`];
    const order: FakeChain[] = [];
    for (const b of builtinsOf(table)) {
      order.push(chains?.get(b) ?? { name: b, builtin: true, policy: 'ACCEPT', rules: [] });
    }
    if (chains) {
      const users = [...chains.values()].filter((c) => !c.builtin);
      users.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      order.push(...users);
    }
    for (const c of order) out.push(`:${c.name} ${c.builtin ? (c.policy ?? 'ACCEPT') : '-'} [0:0]`);
    for (const c of order) for (const r of c.rules) out.push(r.spec === '' ? `-A ${c.name}` : `-A ${c.name} ${r.spec}`);
    out.push('COMMIT', `# Completed by ${tool} (twill fake)`, '');
    return out.join('\n');
  }

  async save(table: string): Promise<SavedTable> {
    return parseSaveTable(await this.saveRaw(table), table);
  }
}
