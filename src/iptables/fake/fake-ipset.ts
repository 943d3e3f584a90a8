// An in-memory ipset that reads real `ipset restore` text: create / add / del / swap / flush /
// destroy, `-exist`, line-by-line (NOT atomic, like the real one), members stored in the
// kernel's canonical text, and the refusals the real tool makes.
import { ipsetRestoreError } from '../restore-error.js';
import { splitArgs } from '../tokens.js';
import { MAX_IPSET_NAME } from '../naming.js';
import type { Family, Ipset, IpsetFamily, IpsetInfo, IpsetRestoreOptions } from '../types.js';
import { expandV4, parsePrefix, prefixBareHost } from './net-canon.js';

export interface FakeSet {
  type: string;
  family: IpsetFamily;
  maxelem: number;
  hashsize: number;
  timeout: number | undefined;
  members: Set<string>;
}

/** The sets of one fake network namespace. */
export class FakeIpsetState {
  readonly sets = new Map<string, FakeSet>();
  restores = 0;
}

export interface FakeIpsetHooks {
  /** Is the set used by an iptables rule (any family, any backend)? */
  inUse(name: string): boolean;
}

const TYPES: ReadonlySet<string> = new Set([
  'hash:ip', 'hash:net', 'hash:ip,port', 'hash:net,port', 'hash:ip,port,ip', 'hash:ip,port,net',
  'hash:ip,mark', 'hash:net,iface', 'hash:net,net', 'hash:net,port,net', 'hash:mac', 'hash:ip,mac',
  'bitmap:ip', 'bitmap:ip,mac', 'bitmap:port', 'list:set',
]);
const VALUED_OPTS: ReadonlySet<string> = new Set([
  'family', 'hashsize', 'maxelem', 'timeout', 'netmask', 'range', 'size', 'bucketsize', 'initval', 'markmask',
]);
const KNOWN_CMDS: ReadonlySet<string> = new Set(['create', '-N', 'n', 'swap', '-W', 'w', 'flush', '-F', 'f', 'destroy', '-X', 'x']);
const FLAG_OPTS: ReadonlySet<string> = new Set(['counters', 'comment', 'skbinfo', 'forceadd']);

/**
 * `kernel`: the kernel refused an entry; entries sent before it stay applied. Otherwise ipset
 * itself could not parse the line, and the batch of adds/dels it was still holding is dropped.
 */
class Failure extends Error {
  constructor(
    readonly lineNumber: number,
    message: string,
    readonly kernel = false,
  ) {
    super(message);
  }
}

/** ipset batches consecutive add/del lines of one set into one message; this is that batch. */
interface Pending {
  set: string;
  undo: (() => void)[];
}

function familyNumber(f: IpsetFamily): Family {
  return f === 'inet6' ? 6 : 4;
}

/** The member(s) a line adds or deletes, in canonical text. */
function canonMembers(set: FakeSet, raw: string, n: number): string[] {
  const fam = familyNumber(set.family);
  const bad = (): never => {
    throw new Failure(n, `Syntax error: cannot parse ${raw}: resolving to IPv${fam} address failed`);
  };
  if (set.type === 'hash:ip') {
    const p = parsePrefix(raw, fam) ?? bad();
    if (p.len === (fam === 4 ? 32 : 128)) return [p.addr];
    return expandV4(p) ?? bad();
  }
  if (set.type === 'hash:net') {
    const p = parsePrefix(raw, fam) ?? bad();
    if (p.len === 0) throw new Failure(n, `Syntax error: zero prefix length is not allowed: ${raw}`);
    return [prefixBareHost(p)];
  }
  return [raw];
}

export class FakeIpset implements Ipset {
  constructor(
    private readonly state: FakeIpsetState,
    private readonly hooks: FakeIpsetHooks,
    private readonly netns?: string,
  ) {}

  async restore(text: string, opts?: IpsetRestoreOptions): Promise<void> {
    const input = text.endsWith('\n') ? text : `${text}\n`;
    try {
      this.apply(input, opts?.exist === true);
    } catch (e) {
      if (!(e instanceof Failure)) throw e;
      throw ipsetRestoreError(input, `ipset v7.17: Error in line ${e.lineNumber}: ${e.message}\n`, {
        exitCode: 1,
        ...(this.netns !== undefined ? { netns: this.netns } : {}),
      });
    }
  }

  private pending: Pending | undefined;

  private apply(input: string, exist: boolean): void {
    const ls = input.split('\n');
    this.state.restores++;
    this.pending = undefined;
    try {
      for (let n = 1; n <= ls.length; n++) {
        const line = ls[n - 1]!.trim();
        if (line === '' || line.startsWith('#')) continue;
        let argv: string[];
        try {
          argv = splitArgs(line);
        } catch (e) {
          throw new Failure(n, e instanceof Error ? e.message : String(e));
        }
        this.command(argv, n, exist);
      }
    } catch (e) {
      const pending = this.pending as Pending | undefined;
      if (e instanceof Failure && !e.kernel && pending) {
        for (const u of pending.undo.reverse()) u();
      }
      throw e;
    } finally {
      this.pending = undefined;
    }
  }

  /** The batch an add/del of `set` joins (a different set starts a new one). */
  private batch(set: string): Pending {
    if (this.pending?.set !== set) this.pending = { set, undo: [] };
    return this.pending;
  }

  private need(name: string | undefined, n: number): FakeSet {
    if (name === undefined) throw new Failure(n, 'Syntax error: missing set name');
    const s = this.state.sets.get(name);
    if (!s) throw new Failure(n, 'The set with the given name does not exist');
    return s;
  }

  private command(argv: string[], n: number, exist: boolean): void {
    const [cmd, name, ...rest] = argv;
    const sets = this.state.sets;
    const addOrDel = cmd === 'add' || cmd === '-A' || cmd === 'a' || cmd === 'del' || cmd === '-D' || cmd === 'd';
    if (!addOrDel && cmd !== undefined && KNOWN_CMDS.has(cmd)) this.pending = undefined; // sent on its own
    switch (cmd) {
      case 'create':
      case '-N':
      case 'n': {
        const created = this.parseCreate(name, rest, n);
        const old = sets.get(name!);
        if (old) {
          const same =
            old.type === created.type &&
            old.family === created.family &&
            old.maxelem === created.maxelem &&
            old.timeout === created.timeout;
          if (exist && same) return;
          throw new Failure(n, 'Set cannot be created: set with the same name already exists', true);
        }
        sets.set(name!, created);
        return;
      }
      case 'add':
      case '-A':
      case 'a': {
        const s = this.need(name, n);
        if (rest[0] === undefined) throw new Failure(n, 'Syntax error: missing element');
        const members = canonMembers(s, rest[0], n);
        const b = this.batch(name!);
        for (const m of members) {
          if (s.members.has(m)) {
            if (exist) continue;
            throw new Failure(n, "Element cannot be added to the set: it's already added", true);
          }
          if (s.members.size >= s.maxelem) throw new Failure(n, 'Hash is full, cannot add more elements', true);
          s.members.add(m);
          b.undo.push(() => s.members.delete(m));
        }
        return;
      }
      case 'del':
      case '-D':
      case 'd': {
        const s = this.need(name, n);
        if (rest[0] === undefined) throw new Failure(n, 'Syntax error: missing element');
        const members = canonMembers(s, rest[0], n);
        const b = this.batch(name!);
        for (const m of members) {
          if (s.members.delete(m)) b.undo.push(() => s.members.add(m));
          else if (!exist) throw new Failure(n, "Element cannot be deleted from the set: it's not added", true);
        }
        return;
      }
      case 'swap':
      case '-W':
      case 'w': {
        const a = this.need(name, n);
        const other = rest[0];
        const b = other !== undefined ? sets.get(other) : undefined;
        if (!b) throw new Failure(n, 'Sets cannot be swapped: the second set does not exist', true);
        if (a.type !== b.type || a.family !== b.family) {
          throw new Failure(n, 'The sets cannot be swapped: their type does not match', true);
        }
        sets.set(name!, b);
        sets.set(other!, a);
        return;
      }
      case 'flush':
      case '-F':
      case 'f': {
        if (name === undefined) {
          for (const s of sets.values()) s.members.clear();
          return;
        }
        this.need(name, n).members.clear();
        return;
      }
      case 'destroy':
      case '-X':
      case 'x': {
        if (name === undefined) {
          for (const k of sets.keys()) {
            if (this.hooks.inUse(k)) throw new Failure(n, 'Set cannot be destroyed: it is in use by a kernel component', true);
          }
          sets.clear();
          return;
        }
        if (!sets.has(name)) {
          if (exist) return;
          throw new Failure(n, 'The set with the given name does not exist');
        }
        if (this.hooks.inUse(name)) throw new Failure(n, 'Set cannot be destroyed: it is in use by a kernel component', true);
        sets.delete(name);
        return;
      }
      default:
        throw new Failure(n, `No command specified: unknown argument ${cmd ?? ''}`);
    }
  }

  private parseCreate(name: string | undefined, rest: string[], n: number): FakeSet {
    if (name === undefined || name === '') throw new Failure(n, 'Syntax error: missing set name');
    if (name.length > MAX_IPSET_NAME) {
      throw new Failure(n, `Syntax error: setname '${name}' is longer than ${MAX_IPSET_NAME} characters`);
    }
    const [type, ...opts] = rest;
    if (type === undefined) throw new Failure(n, 'Syntax error: missing settype');
    if (!TYPES.has(type)) throw new Failure(n, `Syntax error: typename '${type}' is unknown`);
    const set: FakeSet = { type, family: 'inet', maxelem: 65536, hashsize: 1024, timeout: undefined, members: new Set() };
    for (let i = 0; i < opts.length; i++) {
      const o = opts[i]!;
      if (FLAG_OPTS.has(o)) continue;
      if (!VALUED_OPTS.has(o)) throw new Failure(n, `Unknown argument: \`${o}'`);
      const v = opts[++i];
      if (v === undefined) throw new Failure(n, `Syntax error: missing value for ${o}`);
      if (o === 'family') {
        if (v !== 'inet' && v !== 'inet6') throw new Failure(n, `Syntax error: unknown family ${v}`);
        set.family = v;
      } else if (o === 'maxelem' || o === 'hashsize' || o === 'timeout') {
        if (!/^\d+$/.test(v)) throw new Failure(n, `Syntax error: '${v}' is invalid as number`);
        if (o === 'maxelem') set.maxelem = Number(v);
        else if (o === 'hashsize') set.hashsize = Number(v);
        else set.timeout = Number(v);
      }
    }
    return set;
  }

  async list(prefix?: string): Promise<Map<string, IpsetInfo>> {
    const out = new Map<string, IpsetInfo>();
    for (const [name, s] of this.state.sets) {
      if (prefix !== undefined && !name.startsWith(prefix)) continue;
      out.set(name, { type: s.type, family: s.family, members: new Set(s.members), maxelem: s.maxelem });
    }
    return out;
  }

  async listNames(prefix?: string): Promise<string[]> {
    return [...this.state.sets.keys()].filter((k) => prefix === undefined || k.startsWith(prefix));
  }
}
