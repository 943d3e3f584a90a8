// Turning one rule as written (`-A CHAIN <argv>`) into the text iptables-save would print, the
// way iptables does it: basic matches first (-s -d -i -o -p -f), addresses with their length and
// host bits cleared, the implicit protocol match (`-p tcp --dport 80` → `-p tcp -m tcp --dport 80`)
// inserted where its first option appeared, the comment re-quoted, the target last.
// Module option VALUES are kept as written (iptables rewrites some, e.g. MARK --set-mark → --set-xmark).
import type { Family } from '../types.js';
import { saveString } from '../tokens.js';
import { parsePrefix, prefixWithLen } from './net-canon.js';

export class RuleError extends Error {}

export const VERDICTS: ReadonlySet<string> = new Set(['ACCEPT', 'DROP', 'RETURN', 'QUEUE']);

/** Extension targets the fake accepts (options are not checked). */
export const TARGETS: ReadonlySet<string> = new Set([
  'AUDIT', 'CHECKSUM', 'CLASSIFY', 'CONNMARK', 'CONNSECMARK', 'CT', 'DNAT', 'DSCP', 'HMARK', 'IDLETIMER',
  'LED', 'LOG', 'MARK', 'MASQUERADE', 'NETMAP', 'NFLOG', 'NFQUEUE', 'NOTRACK', 'RATEEST', 'REDIRECT',
  'REJECT', 'SECMARK', 'SET', 'SNAT', 'SYNPROXY', 'TCPMSS', 'TCPOPTSTRIP', 'TEE', 'TOS', 'TPROXY', 'TRACE',
  'TTL', 'HL', 'ULOG',
]);

/** Match modules the fake accepts (options are not checked, except the protocol ones). */
export const MATCHES: ReadonlySet<string> = new Set([
  'addrtype', 'ah', 'bpf', 'cgroup', 'cluster', 'comment', 'connbytes', 'connlabel', 'connlimit', 'connmark',
  'conntrack', 'cpu', 'dccp', 'devgroup', 'dscp', 'dst', 'ecn', 'esp', 'eui64', 'frag', 'hashlimit', 'hbh',
  'helper', 'hl', 'icmp', 'icmp6', 'iprange', 'ipv6header', 'ipvs', 'length', 'limit', 'mac', 'mark', 'mh',
  'multiport', 'nfacct', 'osf', 'owner', 'physdev', 'pkttype', 'policy', 'quota', 'rateest', 'realm',
  'recent', 'rpfilter', 'rt', 'sctp', 'set', 'socket', 'state', 'statistic', 'string', 'tcp', 'tcpmss',
  'time', 'tos', 'ttl', 'u32', 'udp',
]);

const PROTO_OPTS: Record<string, ReadonlySet<string>> = {
  tcp: new Set(['--sport', '--source-port', '--dport', '--destination-port', '--tcp-flags', '--syn', '--tcp-option']),
  udp: new Set(['--sport', '--source-port', '--dport', '--destination-port']),
  icmp: new Set(['--icmp-type']),
  icmp6: new Set(['--icmpv6-type']),
};

const OPT_ALIASES: Record<string, string> = {
  '--source-port': '--sport',
  '--destination-port': '--dport',
};

/** Options whose value iptables-save prints with saveString (quoting as needed). */
const STRING_OPTS: ReadonlySet<string> = new Set(['--comment', '--log-prefix', '--nflog-prefix']);

const PROTO_NAMES: Record<string, string> = { '1': 'icmp', '6': 'tcp', '17': 'udp', '58': 'ipv6-icmp', icmpv6: 'ipv6-icmp' };

function protoModule(proto: string, family: Family): string | undefined {
  if (proto === 'tcp' || proto === 'udp') return proto;
  if (proto === 'icmp' && family === 4) return 'icmp';
  if (proto === 'ipv6-icmp' && family === 6) return 'icmp6';
  return undefined;
}

export interface RuleLookups {
  /** 'user' for a user chain of this table, 'builtin' for a built-in one, undefined if none. */
  chainKind(name: string): 'user' | 'builtin' | undefined;
  /** The family of an ipset, or undefined when it does not exist. */
  setFamily(name: string): Family | undefined;
}

export interface CanonRule {
  /** As iptables-save prints it after `-A CHAIN `. */
  spec: string;
  /** The user chain this rule jumps or goes to. */
  jump?: string;
  /** The ipsets it references. */
  sets: string[];
}

interface Basic {
  neg: boolean;
  value: string;
}
interface Group {
  kind: 'match';
  name: string;
  opts: string[];
}
interface Target {
  kind: 'target';
  goto: boolean;
  name: string;
  opts: string[];
}

/** The basic (module-less) options and their long forms. */
export const BASIC: Readonly<Record<string, 's' | 'd' | 'i' | 'o' | 'p' | 'f'>> = {
  '-s': 's', '--source': 's', '--src': 's',
  '-d': 'd', '--destination': 'd', '--dst': 'd',
  '-i': 'i', '--in-interface': 'i',
  '-o': 'o', '--out-interface': 'o',
  '-p': 'p', '--protocol': 'p',
  '-f': 'f', '--fragment': 'f',
};

function fmtValue(opt: string, v: string): string {
  if (STRING_OPTS.has(opt)) return saveString(v);
  return /^[^\s"'\\]+$/.test(v) ? v : saveString(v);
}

/** Canonicalise a rule. Throws RuleError with iptables' wording when iptables would refuse it. */
export function canonRule(argv: readonly string[], family: Family, look: RuleLookups): CanonRule {
  const basics: Partial<Record<'s' | 'd' | 'i' | 'o' | 'p' | 'f', Basic>> = {};
  const parts: Group[] = [];
  let current: Group | Target | undefined;
  let target: Target | undefined;
  const sets: string[] = [];
  let i = 0;
  const next = (what: string): string => {
    const v = argv[++i];
    if (v === undefined) throw new RuleError(`option "${what}" requires an argument`);
    return v;
  };
  while (i < argv.length) {
    let tok = argv[i]!;
    let neg = false;
    if (tok === '!') {
      neg = true;
      i++;
      if (i >= argv.length) throw new RuleError('option "!" needs an option after it');
      tok = argv[i]!;
    }
    const b = BASIC[tok];
    if (b !== undefined) {
      if (basics[b]) throw new RuleError(`multiple -${b} flags not allowed`);
      basics[b] = { neg, value: b === 'f' ? '' : next(tok) };
      i++;
      continue;
    }
    if (tok === '-m' || tok === '--match') {
      if (neg) throw new RuleError('cannot have ! before -m');
      const name = next(tok);
      if (!MATCHES.has(name)) throw new RuleError(`Couldn't load match \`${name}':No such file or directory`);
      current = { kind: 'match', name, opts: [] };
      parts.push(current);
      i++;
      continue;
    }
    if (tok === '-j' || tok === '--jump' || tok === '-g' || tok === '--goto') {
      if (neg) throw new RuleError(`cannot have ! before ${tok}`);
      if (target) throw new RuleError('multiple -j / -g flags not allowed');
      target = { kind: 'target', goto: tok === '-g' || tok === '--goto', name: next(tok), opts: [] };
      current = target;
      i++;
      continue;
    }
    if (tok.startsWith('--')) {
      const opt = OPT_ALIASES[tok] ?? tok;
      const values: string[] = [];
      while (i + 1 < argv.length && !argv[i + 1]!.startsWith('-') && argv[i + 1] !== '!') values.push(argv[++i]!);
      i++;
      let owner: Group | Target | undefined = current;
      const proto = basics.p?.value !== undefined ? normProto(basics.p.value) : undefined;
      const pm = proto !== undefined ? protoModule(proto, family) : undefined;
      const isProtoOpt = Object.values(PROTO_OPTS).some((s) => s.has(tok));
      if (isProtoOpt && !(owner?.kind === 'match' && PROTO_OPTS[owner.name]?.has(tok))) {
        const existing = parts.find((p) => PROTO_OPTS[p.name]?.has(tok) === true);
        if (existing) owner = existing;
        else if (pm !== undefined && PROTO_OPTS[pm]?.has(tok)) {
          // the implicit match is loaded where its first option appears, after the matches so far
          owner = { kind: 'match', name: pm, opts: [] };
          parts.push(owner);
        } else {
          throw new RuleError(`unknown option "${tok}"`);
        }
      }
      if (owner === undefined) throw new RuleError(`unknown option "${tok}"`);
      if (neg) owner.opts.push('!');
      if (opt === '--syn') owner.opts.push('--tcp-flags', 'FIN,SYN,RST,ACK', 'SYN');
      else owner.opts.push(opt, ...values.map((v) => fmtValue(opt, v)));
      if (owner.kind === 'match' && owner.name === 'set' && opt === '--match-set' && values[0] !== undefined) {
        sets.push(values[0]);
      }
      continue;
    }
    throw new RuleError(`Bad argument \`${tok}'`);
  }

  // ipsets must exist and match the family
  for (const s of sets) {
    const f = look.setFamily(s);
    if (f === undefined) throw new RuleError(`Set ${s} doesn't exist.`);
    if (f !== family) {
      throw new RuleError(`The protocol family of set ${s} is IPv${f}, which is not applicable.`);
    }
  }

  const out: string[] = [];
  const addr = (k: 's' | 'd', flag: string): void => {
    const v = basics[k];
    if (!v) return;
    const p = parsePrefix(v.value, family);
    if (!p) throw new RuleError(`host/network \`${v.value}' not found`);
    if (p.len === 0 && !v.neg) return; // "any address" is not printed
    if (v.neg) out.push('!');
    out.push(flag, prefixWithLen(p));
  };
  addr('s', '-s');
  addr('d', '-d');
  for (const [k, flag] of [['i', '-i'], ['o', '-o']] as const) {
    const v = basics[k];
    if (!v) continue;
    if (v.value.length > 15) throw new RuleError(`interface name \`${v.value}' must be shorter than 16 characters`);
    if (v.neg) out.push('!');
    out.push(flag, v.value);
  }
  if (basics.p) {
    const p = normProto(basics.p.value);
    if (p !== 'all') {
      if (basics.p.neg) out.push('!');
      out.push('-p', p);
    }
  }
  if (basics.f) {
    if (family === 6) throw new RuleError('unknown option "-f"');
    if (basics.f.neg) out.push('!');
    out.push('-f');
  }
  for (const g of parts) out.push('-m', g.name, ...(g.name === 'mark' ? markMatchOpts(g.opts) : g.opts));

  let jump: string | undefined;
  if (target) {
    const kind = look.chainKind(target.name);
    if (target.goto) {
      if (kind !== 'user') throw new RuleError(`Chain '${target.name}' does not exist`);
      jump = target.name;
    } else if (VERDICTS.has(target.name)) {
      // plain verdict
    } else if (kind === 'user') {
      jump = target.name;
    } else if (kind === 'builtin') {
      throw new RuleError(`Operation not supported: cannot jump to built-in chain ${target.name}`);
    } else if (!TARGETS.has(target.name)) {
      throw new RuleError(`Chain '${target.name}' does not exist`);
    }
    if (jump !== undefined && target.opts.length > 0) throw new RuleError(`unknown option "${target.opts[0]}"`);
    out.push(target.goto ? '-g' : '-j', target.name, ...targetOpts(target.name, target.opts, family));
  }
  const r: CanonRule = { spec: out.join(' '), sets };
  if (jump !== undefined) r.jump = jump;
  return r;
}

function normProto(p: string): string {
  const l = p.toLowerCase();
  return PROTO_NAMES[l] ?? l;
}

function hex(v: string): string {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RuleError(`Bad mark value "${v}"`);
  return `0x${n.toString(16)}`;
}

function valueMask(v: string): [string, string | undefined] {
  const i = v.indexOf('/');
  return i < 0 ? [hex(v), undefined] : [hex(v.slice(0, i)), hex(v.slice(i + 1))];
}

/** `-m mark --mark 1/0x00ff` prints as `--mark 0x1/0xff`. */
function markMatchOpts(opts: string[]): string[] {
  return opts.map((o, i) => {
    if (opts[i - 1] !== '--mark') return o;
    const [v, m] = valueMask(o);
    return m === undefined ? v : `${v}/${m}`;
  });
}

/** What iptables prints for a target's options (only the targets whose printing it rewrites). */
function targetOpts(name: string, opts: string[], family: Family): string[] {
  if (name === 'REJECT' && !opts.includes('--reject-with')) {
    return [...opts, '--reject-with', family === 4 ? 'icmp-port-unreachable' : 'icmp6-port-unreachable'];
  }
  if (name === 'MARK' && opts.length === 2) {
    const [opt, val] = opts as [string, string];
    const [v, m] = valueMask(val);
    const inv = (x: string): string => `0x${(~Number(x) >>> 0).toString(16)}`;
    switch (opt) {
      case '--set-mark':
      case '--set-xmark':
        return ['--set-xmark', `${v}/${m ?? '0xffffffff'}`];
      case '--or-mark':
        return ['--set-xmark', `${v}/${v}`];
      case '--and-mark':
        return ['--set-xmark', `0x0/${inv(v)}`];
      case '--xor-mark':
        return ['--set-xmark', `${v}/0x0`];
    }
  }
  return opts;
}
