// A packet evaluator for iptables rule sets: walks one packet through the chains of one table the
// way the kernel does (jumps push a return point, gotos do not, RETURN pops, falling off a user
// chain returns, a built-in chain ends in its policy; ACCEPT / DROP / REJECT end the walk; MARK
// changes the packet mark; LOG / NFLOG go on). It reads rules as written in iptables-restore or
// printed by iptables-save (the fake's canonical form), and ipset contents.
//
// It understands exactly the matches and targets listed below; anything else — a module, an
// option, a target, a set type — throws IptablesEvalError naming it. It never guesses a match.
//
//   basic   -s -d (prefixes), -i -o (with a trailing + wildcard), -p (name or number), -f, each with !
//   -m comment --comment (ignored) · -m conntrack --ctstate · -m state --state · -m mark --mark V[/M]
//   -m set --match-set NAME src|dst[,src|dst] (hash:net, hash:ip, hash:ip,port)
//   -m multiport --dports|--sports|--ports (ranges a:b) · -m tcp|udp --dport|--sport (ranges)
//   -m icmp --icmp-type T[/C]|any · -m icmp6 --icmpv6-type T[/C]|any          (every option with !)
//   -j ACCEPT DROP REJECT RETURN MARK(--set-xmark --set-mark --or-mark --and-mark --xor-mark) LOG NFLOG,
//   -j / -g a user chain
import { TwillError } from '../../errors.js';
import { BUILTIN_CHAINS } from '../tables.js';
import { splitArgs } from '../tokens.js';
import type { Family } from '../types.js';
import { parsePrefix, type Prefix } from './net-canon.js';
import { BASIC } from './rule-canon.js';

/** The rule, match or target the evaluator cannot model, or a rule set it cannot walk. */
export class IptablesEvalError extends TwillError {
  constructor(message: string, hint = 'the evaluator models only what felix renders (see src/iptables/fake/evaluate.ts); extend it before relying on its verdict') {
    super('IptablesEvalUnsupported', message, { hint });
  }
}

export type CtState = 'NEW' | 'ESTABLISHED' | 'RELATED' | 'INVALID' | 'UNTRACKED';

export interface EvalPacket {
  src: string;
  dst: string;
  /** A protocol name as iptables spells it (tcp, udp, sctp, udplite, icmp, ipv6-icmp) or a number. */
  protocol: string | number;
  srcPort?: number;
  dstPort?: number;
  /** ICMP / ICMPv6 type and code (icmp / ipv6-icmp packets). */
  icmpType?: number;
  icmpCode?: number;
  /** The interfaces as the hook sees them (absent: none, e.g. -i in OUTPUT). */
  inInterface?: string;
  outInterface?: string;
  /** Conntrack state (default NEW). */
  ctState?: CtState;
  /** The packet mark on entry (default 0). */
  mark?: number;
}

export interface EvalSet {
  /** hash:net, hash:ip or hash:ip,port (others throw when a rule tests them). */
  type: string;
  /** Members as ipset prints them: "10.0.0.1", "10.0.0.0/8", "10.0.0.1,tcp:80". */
  members: Iterable<string>;
}

export interface EvalRuleSet {
  family: Family;
  /** Every chain of the table: name → the text after `-A NAME` of each rule, in order. */
  chains: ReadonlyMap<string, readonly string[]>;
  /** Built-in chains' policies (absent: ACCEPT). */
  policies?: ReadonlyMap<string, string>;
  sets: ReadonlyMap<string, EvalSet>;
}

export interface EvalStep {
  chain: string;
  /** 0-based position in the chain. */
  index: number;
  spec: string;
}

export interface EvalResult {
  verdict: 'ACCEPT' | 'DROP' | 'REJECT';
  /** The rule that ended the walk, or the built-in chain whose policy did. */
  decidedBy: EvalStep | { chain: string; policy: string };
  /** The packet mark at the end. */
  mark: number;
  /** Every rule that matched, in the order they did. */
  matched: EvalStep[];
}

const PROTO_NUMBERS: Record<string, number> = { all: 0, icmp: 1, tcp: 6, udp: 17, 'ipv6-icmp': 58, icmpv6: 58, sctp: 132, udplite: 136 };
const PORT_PROTOCOLS: ReadonlySet<number> = new Set([6, 17, 132, 136]);
const CT_STATES: ReadonlySet<string> = new Set(['NEW', 'ESTABLISHED', 'RELATED', 'INVALID', 'UNTRACKED', 'SNAT', 'DNAT']);
const MAX_STEPS = 100_000;
const BUILTIN_NAMES: ReadonlySet<string> = new Set(Object.values(BUILTIN_CHAINS).flat());

/** The options each modelled module takes. */
const MODULE_OPTS: Record<string, ReadonlySet<string>> = {
  comment: new Set(['--comment']),
  conntrack: new Set(['--ctstate']),
  state: new Set(['--state']),
  mark: new Set(['--mark']),
  set: new Set(['--match-set']),
  multiport: new Set(['--dports', '--destination-ports', '--sports', '--source-ports', '--ports']),
  tcp: new Set(['--dport', '--sport', '--destination-port', '--source-port']),
  udp: new Set(['--dport', '--sport', '--destination-port', '--source-port']),
  icmp: new Set(['--icmp-type']),
  icmp6: new Set(['--icmpv6-type']),
};

function protoNumber(p: string | number, where: string): number {
  if (typeof p === 'number') return p;
  const n = /^\d+$/.test(p) ? Number(p) : PROTO_NUMBERS[p.toLowerCase()];
  if (n === undefined || n > 255) throw new IptablesEvalError(`${where}: unknown protocol "${p}"`);
  return n;
}

interface Ctx {
  pkt: EvalPacket;
  proto: number;
  src: Prefix;
  dst: Prefix;
  mark: number;
}

type Match = (c: Ctx) => boolean;

type Target =
  | { kind: 'verdict'; verdict: 'ACCEPT' | 'DROP' | 'REJECT' | 'RETURN' }
  | { kind: 'mark'; apply: (m: number) => number }
  | { kind: 'log' }
  | { kind: 'chain'; chain: string; goto: boolean };

interface Parsed {
  matches: Match[];
  target: Target | undefined;
}

function num(v: string, where: string): number {
  const n = Number(v);
  if (v === '' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new IptablesEvalError(`${where}: "${v}" is not a number`);
  return n;
}

function valueMask(v: string, where: string): [number, number] {
  const i = v.indexOf('/');
  return i < 0 ? [num(v, where), 0xffffffff] : [num(v.slice(0, i), where), num(v.slice(i + 1), where)];
}

function portRanges(v: string, where: string): [number, number][] {
  return v.split(',').map((p) => {
    const [a, b] = p.split(':');
    const first = a === '' || a === undefined ? 0 : num(a, where);
    const last = b === undefined ? first : b === '' ? 65535 : num(b, where);
    if (first > 65535 || last > 65535) throw new IptablesEvalError(`${where}: port "${p}" is out of range`);
    return [first, last];
  });
}

function inRanges(port: number | undefined, ranges: readonly [number, number][]): boolean {
  return port !== undefined && ranges.some(([a, b]) => port >= a && port <= b);
}

function ifaceMatches(pattern: string, name: string | undefined): boolean {
  if (name === undefined) return false;
  return pattern.endsWith('+') ? name.startsWith(pattern.slice(0, -1)) : name === pattern;
}

function holds(net: Prefix, ip: Prefix): boolean {
  if (net.family !== ip.family) return false;
  const bits = net.family === 4 ? 32 : 128;
  const shift = BigInt(bits - net.len);
  return ip.value >> shift === net.value >> shift;
}

/** A port of the packet for a set or multiport lookup: undefined when the protocol has none. */
function portOf(c: Ctx, dir: 'src' | 'dst'): number | undefined {
  if (!PORT_PROTOCOLS.has(c.proto)) return undefined;
  return dir === 'src' ? c.pkt.srcPort : c.pkt.dstPort;
}

const PROTO_NAMES_BY_NUMBER: Record<number, string> = { 6: 'tcp', 17: 'udp', 132: 'sctp', 136: 'udplite' };

class SetIndex {
  private readonly cache = new Map<string, { type: string; nets: Prefix[]; ipPorts: Map<string, Prefix[]> }>();
  constructor(
    private readonly rs: EvalRuleSet,
  ) {}

  private load(name: string, where: string): { type: string; nets: Prefix[]; ipPorts: Map<string, Prefix[]> } {
    let s = this.cache.get(name);
    if (s) return s;
    const raw = this.rs.sets.get(name);
    if (!raw) throw new IptablesEvalError(`${where}: ipset ${name} does not exist`, 'give the evaluator every set the rules use');
    s = { type: raw.type, nets: [], ipPorts: new Map() };
    const bad = (m: string): never => {
      throw new IptablesEvalError(`${where}: member "${m}" of ${raw.type} set ${name} is not an address of IPv${this.rs.family}`);
    };
    for (const m of raw.members) {
      if (raw.type === 'hash:net' || raw.type === 'hash:ip') {
        s.nets.push(parsePrefix(m, this.rs.family) ?? bad(m));
      } else if (raw.type === 'hash:ip,port') {
        const comma = m.lastIndexOf(',');
        const pp = /^(tcp|udp|sctp|udplite):(\d+)$/.exec(m.slice(comma + 1));
        if (comma < 0 || !pp) throw new IptablesEvalError(`${where}: member "${m}" of hash:ip,port set ${name} is not "IP,tcp|udp|sctp|udplite:PORT"`);
        const key = `${pp[1]}:${Number(pp[2])}`;
        const list = s.ipPorts.get(key) ?? [];
        list.push(parsePrefix(m.slice(0, comma), this.rs.family) ?? bad(m));
        s.ipPorts.set(key, list);
      } else {
        throw new IptablesEvalError(`${where}: ipset ${name} has type ${raw.type}, which the evaluator does not model`);
      }
    }
    this.cache.set(name, s);
    return s;
  }

  /** Is the packet (by the directions in flags, e.g. ["dst"] or ["dst", "dst"]) in the set? */
  test(name: string, flags: readonly ('src' | 'dst')[], c: Ctx, where: string): boolean {
    const s = this.load(name, where);
    const addr = flags[0] === 'src' ? c.src : c.dst;
    if (s.type === 'hash:ip,port') {
      if (flags.length < 2) throw new IptablesEvalError(`${where}: a hash:ip,port set needs two direction flags (e.g. dst,dst)`);
      const proto = PROTO_NAMES_BY_NUMBER[c.proto];
      const port = portOf(c, flags[1]!);
      if (proto === undefined || port === undefined) return false;
      return (s.ipPorts.get(`${proto}:${port}`) ?? []).some((p) => holds(p, addr));
    }
    return s.nets.some((p) => holds(p, addr));
  }
}

/** The option's values: the tokens after it up to the next option or "!". */
function takeValues(argv: readonly string[], i: number): string[] {
  const out: string[] = [];
  while (i < argv.length && !argv[i]!.startsWith('-') && argv[i] !== '!') out.push(argv[i++]!);
  return out;
}

function one(values: readonly string[], opt: string, where: string): string {
  if (values.length !== 1) throw new IptablesEvalError(`${where}: ${opt} takes one value (got ${values.length})`);
  return values[0]!;
}

function icmpMatch(v: string, family: 4 | 6, where: string): Match {
  if (v === 'any') return (c) => c.proto === (family === 4 ? 1 : 58);
  const m = /^(\d+)(?:\/(\d+))?$/.exec(v);
  if (!m) throw new IptablesEvalError(`${where}: ICMP type "${v}" (only numbers T or T/C, or "any", are modelled)`);
  const t = Number(m[1]);
  const code = m[2] === undefined ? undefined : Number(m[2]);
  return (c) => c.proto === (family === 4 ? 1 : 58) && c.pkt.icmpType === t && (code === undefined || c.pkt.icmpCode === code);
}

/** One option of module `mod` (values already taken) as a match; throws for what is not modelled. */
function moduleMatch(mod: string, opt: string, values: readonly string[], sets: SetIndex, family: Family, where: string): Match | null {
  const w = `${where}: -m ${mod} ${opt}`;
  switch (mod) {
    case 'comment':
      if (opt === '--comment') return null;
      break;
    case 'conntrack':
    case 'state': {
      if ((mod === 'conntrack' && opt === '--ctstate') || (mod === 'state' && opt === '--state')) {
        const states = one(values, opt, w).split(',');
        for (const s of states) if (!CT_STATES.has(s)) throw new IptablesEvalError(`${w}: unknown state "${s}"`);
        return (c) => states.includes(c.pkt.ctState ?? 'NEW');
      }
      break;
    }
    case 'mark':
      if (opt === '--mark') {
        const [v, m] = valueMask(one(values, opt, w), w);
        return (c) => ((c.mark & m) >>> 0) === v;
      }
      break;
    case 'set':
      if (opt === '--match-set') {
        if (values.length !== 2) throw new IptablesEvalError(`${w}: takes a set name and direction flags`);
        const flags = values[1]!.split(',');
        if (flags.some((f) => f !== 'src' && f !== 'dst')) throw new IptablesEvalError(`${w}: direction flags "${values[1]}" (src/dst only)`);
        const name = values[0]!;
        return (c) => sets.test(name, flags as ('src' | 'dst')[], c, w);
      }
      break;
    case 'multiport': {
      const dir = opt === '--dports' || opt === '--destination-ports' ? 'dst' : opt === '--sports' || opt === '--source-ports' ? 'src' : opt === '--ports' ? 'any' : undefined;
      if (dir !== undefined) {
        const ranges = portRanges(one(values, opt, w), w);
        if (dir === 'any') return (c) => inRanges(portOf(c, 'src'), ranges) || inRanges(portOf(c, 'dst'), ranges);
        return (c) => inRanges(portOf(c, dir), ranges);
      }
      break;
    }
    case 'tcp':
    case 'udp': {
      const dir = opt === '--dport' || opt === '--destination-port' ? 'dst' : opt === '--sport' || opt === '--source-port' ? 'src' : undefined;
      if (dir !== undefined) {
        const ranges = portRanges(one(values, opt, w), w);
        const p = PROTO_NUMBERS[mod]!;
        return (c) => c.proto === p && inRanges(portOf(c, dir), ranges);
      }
      break;
    }
    case 'icmp':
      if (opt === '--icmp-type' && family === 4) return icmpMatch(one(values, opt, w), 4, w);
      break;
    case 'icmp6':
      if (opt === '--icmpv6-type' && family === 6) return icmpMatch(one(values, opt, w), 6, w);
      break;
    default:
      throw new IptablesEvalError(`${where}: match module "${mod}" is not modelled`);
  }
  throw new IptablesEvalError(`${w} is not modelled`);
}

/** Modules that a packet of another protocol never matches, whatever the negation of an option. */
const PROTO_MODULES: Record<string, (c: Ctx) => boolean> = {
  multiport: (c) => PORT_PROTOCOLS.has(c.proto),
  tcp: (c) => c.proto === 6,
  udp: (c) => c.proto === 17,
  icmp: (c) => c.proto === 1,
  icmp6: (c) => c.proto === 58,
};

function markTarget(opt: string | undefined, values: readonly string[], where: string): Target {
  const w = `${where}: -j MARK ${opt ?? ''}`;
  if (opt === undefined) throw new IptablesEvalError(`${w}: MARK without an option`);
  const v = one(values, opt, w);
  switch (opt) {
    case '--set-xmark': {
      const [x, m] = valueMask(v, w);
      return { kind: 'mark', apply: (mark) => ((mark & ~m) ^ x) >>> 0 };
    }
    case '--set-mark': {
      const [x, m] = valueMask(v, w);
      return { kind: 'mark', apply: (mark) => ((mark & ~m) | x) >>> 0 };
    }
    case '--or-mark': {
      const x = num(v, w);
      return { kind: 'mark', apply: (mark) => (mark | x) >>> 0 };
    }
    case '--and-mark': {
      const x = num(v, w);
      return { kind: 'mark', apply: (mark) => (mark & x) >>> 0 };
    }
    case '--xor-mark': {
      const x = num(v, w);
      return { kind: 'mark', apply: (mark) => (mark ^ x) >>> 0 };
    }
  }
  throw new IptablesEvalError(`${w} is not modelled`);
}


/** The implicit module `-p tcp --dport 80` loads. */
function implicitModule(proto: string | undefined, opt: string): string | undefined {
  if (proto === undefined) return undefined;
  const p = proto.toLowerCase();
  const portOpt = ['--dport', '--sport', '--destination-port', '--source-port'].includes(opt);
  if ((p === 'tcp' || p === '6') && portOpt) return 'tcp';
  if ((p === 'udp' || p === '17') && portOpt) return 'udp';
  if ((p === 'icmp' || p === '1') && opt === '--icmp-type') return 'icmp';
  if ((p === 'ipv6-icmp' || p === 'icmpv6' || p === '58') && opt === '--icmpv6-type') return 'icmp6';
  return undefined;
}

function parseRule(spec: string, rs: EvalRuleSet, sets: SetIndex, where: string): Parsed {
  let argv: string[];
  try {
    argv = splitArgs(spec);
  } catch (e) {
    throw new IptablesEvalError(`${where}: ${(e as Error).message}`);
  }
  const matches: Match[] = [];
  let target: Target | undefined;
  let mod: string | undefined;
  let proto: string | undefined;
  let i = 0;
  while (i < argv.length) {
    let tok = argv[i]!;
    let neg = false;
    if (tok === '!') {
      neg = true;
      tok = argv[++i] ?? '';
    }
    const add = (m: Match): void => {
      matches.push(neg ? (c) => !m(c) : m);
    };
    const b = BASIC[tok];
    if (b !== undefined) {
      if (target) throw new IptablesEvalError(`${where}: ${tok} after the target`);
      const v = b === 'f' ? '' : argv[i + 1];
      if (v === undefined) throw new IptablesEvalError(`${where}: ${tok} needs a value`);
      i += b === 'f' ? 1 : 2;
      if (b === 's' || b === 'd') {
        const net = parsePrefix(v, rs.family);
        if (!net) throw new IptablesEvalError(`${where}: ${tok} ${v} is not an IPv${rs.family} address or prefix`);
        add(b === 's' ? (c) => holds(net, c.src) : (c) => holds(net, c.dst));
      } else if (b === 'i') add((c) => ifaceMatches(v, c.pkt.inInterface));
      else if (b === 'o') add((c) => ifaceMatches(v, c.pkt.outInterface));
      else if (b === 'p') {
        proto = v;
        const n = protoNumber(v, where);
        add((c) => n === 0 || c.proto === n);
      } else add(() => false); // -f: the packets we walk are never non-first fragments
      continue;
    }
    if (tok === '-m' || tok === '--match') {
      if (neg) throw new IptablesEvalError(`${where}: "!" before -m`);
      mod = argv[i + 1];
      if (mod === undefined) throw new IptablesEvalError(`${where}: -m needs a module name`);
      i += 2;
      const applies = PROTO_MODULES[mod];
      if (applies) matches.push(applies);
      continue;
    }
    if (tok === '-j' || tok === '--jump' || tok === '-g' || tok === '--goto') {
      if (neg) throw new IptablesEvalError(`${where}: "!" before ${tok}`);
      if (target) throw new IptablesEvalError(`${where}: two targets`);
      const name = argv[i + 1];
      if (name === undefined) throw new IptablesEvalError(`${where}: ${tok} needs a target`);
      i += 2;
      const goto = tok === '-g' || tok === '--goto';
      const opts: { opt: string; values: string[] }[] = [];
      while (i < argv.length && argv[i]!.startsWith('--')) {
        const opt = argv[i]!;
        const values = takeValues(argv, i + 1);
        opts.push({ opt, values });
        i += 1 + values.length;
      }
      if (i < argv.length) throw new IptablesEvalError(`${where}: "${argv[i]}" after the target ${name}`);
      if (BUILTIN_NAMES.has(name)) {
        throw new IptablesEvalError(`${where}: ${tok} ${name}: the kernel refuses a jump to a built-in chain`);
      } else if (rs.chains.has(name)) {
        if (opts.length > 0) throw new IptablesEvalError(`${where}: options after a jump to chain ${name}`);
        target = { kind: 'chain', chain: name, goto };
      } else if (goto) {
        throw new IptablesEvalError(`${where}: -g ${name}: no such user chain`, 'give the evaluator every chain of the table');
      } else if (name === 'ACCEPT' || name === 'DROP' || name === 'RETURN') {
        if (opts.length > 0) throw new IptablesEvalError(`${where}: options after ${name}`);
        target = { kind: 'verdict', verdict: name };
      } else if (name === 'REJECT') {
        if (opts.some((o) => o.opt !== '--reject-with')) throw new IptablesEvalError(`${where}: REJECT ${opts.map((o) => o.opt).join(' ')} is not modelled`);
        target = { kind: 'verdict', verdict: 'REJECT' };
      } else if (name === 'MARK') {
        if (opts.length !== 1) throw new IptablesEvalError(`${where}: MARK takes exactly one option`);
        target = markTarget(opts[0]!.opt, opts[0]!.values, where);
      } else if (name === 'LOG' || name === 'NFLOG') {
        target = { kind: 'log' };
      } else {
        throw new IptablesEvalError(`${where}: target ${name} is not modelled (not a chain of this table, nor a target the evaluator knows)`);
      }
      continue;
    }
    if (tok.startsWith('--')) {
      const values = takeValues(argv, i + 1);
      i += 1 + values.length;
      // An option of the current module, else of the protocol's module, which iptables loads
      // implicitly where its first option appears (`-p tcp --dport 80`).
      const owner = mod !== undefined && MODULE_OPTS[mod]?.has(tok) === true ? mod : (implicitModule(proto, tok) ?? mod);
      if (owner === undefined) throw new IptablesEvalError(`${where}: option ${tok} outside any match module`);
      const m = moduleMatch(owner, tok, values, sets, rs.family, where);
      if (m !== null) add(m);
      else if (neg) throw new IptablesEvalError(`${where}: "!" before ${tok}`);
      continue;
    }
    throw new IptablesEvalError(`${where}: unexpected "${tok}"`);
  }
  return { matches, target };
}

/** Walks packets through one table's chains. Rules are parsed once, on first use. */
export class RuleSetEvaluator {
  private readonly parsed = new Map<string, Parsed>();
  private readonly sets: SetIndex;

  constructor(private readonly rs: EvalRuleSet) {
    this.sets = new SetIndex(rs);
  }

  private rule(chain: string, index: number, spec: string): Parsed {
    const key = `${chain}\0${index}`;
    let p = this.parsed.get(key);
    if (!p) {
      p = parseRule(spec, this.rs, this.sets, `rule ${index + 1} of chain ${chain} ("${spec}")`);
      this.parsed.set(key, p);
    }
    return p;
  }

  /** The packet's fate, entering built-in chain `start` (e.g. FORWARD). */
  evaluate(start: string, pkt: EvalPacket): EvalResult {
    const chains = this.rs.chains;
    if (!chains.has(start)) throw new IptablesEvalError(`chain ${start} is not in the rule set`, 'name a built-in chain of the table');
    const fam = this.rs.family;
    const src = parsePrefix(pkt.src, fam);
    const dst = parsePrefix(pkt.dst, fam);
    if (!src || !dst) throw new IptablesEvalError(`packet ${pkt.src} → ${pkt.dst} is not IPv${fam}`, 'evaluate it against the rule set of its family');
    const c: Ctx = { pkt, proto: protoNumber(pkt.protocol, 'packet'), src, dst, mark: (pkt.mark ?? 0) >>> 0 };
    const matched: EvalStep[] = [];
    const stack: { chain: string; index: number }[] = [];
    let cur = { chain: start, index: 0 };
    const policy = (): EvalResult => {
      const p = this.rs.policies?.get(start) ?? 'ACCEPT';
      if (p !== 'ACCEPT' && p !== 'DROP') throw new IptablesEvalError(`chain ${start} has policy ${p}`);
      return { verdict: p, decidedBy: { chain: start, policy: p }, mark: c.mark, matched };
    };
    for (let steps = 0; steps < MAX_STEPS; steps++) {
      const rules = chains.get(cur.chain);
      if (rules === undefined) throw new IptablesEvalError(`chain ${cur.chain} is not in the rule set`);
      if (cur.index >= rules.length) {
        const back = stack.pop();
        if (back === undefined) return policy();
        cur = back;
        continue;
      }
      const index = cur.index++;
      const spec = rules[index]!;
      const r = this.rule(cur.chain, index, spec);
      if (!r.matches.every((m) => m(c))) continue;
      const step = { chain: cur.chain, index, spec };
      matched.push(step);
      const t = r.target;
      if (t === undefined || t.kind === 'log') continue;
      if (t.kind === 'mark') {
        c.mark = t.apply(c.mark);
        continue;
      }
      if (t.kind === 'chain') {
        if (!t.goto) stack.push(cur);
        cur = { chain: t.chain, index: 0 };
        continue;
      }
      if (t.verdict === 'RETURN') {
        const back = stack.pop();
        if (back === undefined) return policy();
        cur = back;
        continue;
      }
      return { verdict: t.verdict, decidedBy: step, mark: c.mark, matched };
    }
    throw new IptablesEvalError(`more than ${MAX_STEPS} rules walked from ${start}: a loop?`, 'check the jumps of the rule set');
  }
}

/** One packet through one rule set (for many packets, keep a RuleSetEvaluator). */
export function evaluatePacket(rs: EvalRuleSet, start: string, pkt: EvalPacket): EvalResult {
  return new RuleSetEvaluator(rs).evaluate(start, pkt);
}
