// One policy/profile Rule → a CalcRule (normalised, selectors replaced by ipset ids) plus the
// sets it needs. Pure: depends on the rule and its scope only.

import { bitsOf, formatCidr, formatIp, networkOf, parseCidr, type Cidr } from '../../src/api/cidr.js';
import { parseSelector, type Selector } from '../../src/api/selector/index.js';
import type { EntityRule, Port, Protocol, Rule } from '../../src/api/types.js';
import { shortHash, specKey, type MatchSpec } from './match.js';
import type { CalcEntityMatch, CalcProtocol, CalcRule, IcmpMatch, IpVersion, PortRange } from './types.js';

/** Where a rule's selectors look: a NetworkPolicy's namespace, or everywhere. */
export type RuleScope = { namespace: string } | { namespace?: undefined };

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

export type SetRequest =
  | { id: string; purpose: 'selector'; specKey: string; spec: MatchSpec; description: string }
  | {
      id: string;
      purpose: 'namedPort';
      specKey: string;
      spec: MatchSpec;
      protocol: PortProtocol;
      portName: string;
      description: string;
    }
  | { id: string; purpose: 'nets'; nets: string[]; description: string };

export interface ConvertedRule {
  rule: CalcRule;
  sets: SetRequest[];
  /**
   * Problems that make the rule unusable. Felix fails closed: the caller (convertRules) then
   * replaces the whole direction with DROP_ALL, so a broken Deny never widens what passes.
   */
  problems: string[];
}

/** Throws unless `v` is a list (absent → []): data that bypassed validation can hold anything. */
function listOf<T>(v: T[] | undefined, field: string): T[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`${field} is not a list (found ${typeof v})`);
  return v;
}

const ACTIONS = new Set(['Allow', 'Deny', 'Pass', 'Log']);

const PROTOCOLS: Record<string, CalcProtocol> = {
  TCP: 'tcp',
  UDP: 'udp',
  ICMP: 'icmp',
  ICMPv6: 'icmpv6',
  SCTP: 'sctp',
  UDPLite: 'udplite',
};
const PROTOCOL_NUMBERS: Record<number, CalcProtocol> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp', 136: 'udplite' };

export function normaliseProtocol(p: Protocol | undefined): CalcProtocol | undefined {
  if (p === undefined) return undefined;
  if (typeof p === 'number') {
    if (!Number.isInteger(p) || p < 1 || p > 255) throw new Error(`protocol number ${p} is not in 1..255`);
    return PROTOCOL_NUMBERS[p] ?? p;
  }
  const named = PROTOCOLS[p];
  if (named !== undefined) return named;
  throw new Error(`unknown protocol ${JSON.stringify(p)}`);
}

/** Protocols that carry ports (iptables multiport works with these). */
export function hasPortsProtocol(p: CalcProtocol | undefined): boolean {
  return p === 'tcp' || p === 'udp' || p === 'sctp' || p === 'udplite';
}

/** A canonical network ("10.0.0.0/8") and its set-member text (host prefixes bare). */
export interface CanonNet {
  cidr: string;
  member: string;
  /**
   * What a hash:net set holds for it: `[member]`, except for a /0, which ipset refuses ("The value
   * of the CIDR parameter of the IP address is invalid"): its two /1 halves, as Calico does.
   */
  setMembers: string[];
  family: IpVersion;
}

const HALVES: Record<IpVersion, string[]> = { 4: ['0.0.0.0/1', '128.0.0.0/1'], 6: ['::/1', '8000::/1'] };

export function canonNet(text: string): CanonNet {
  const c: Cidr = networkOf(parseCidr(text, { strict: false, allowBare: true }));
  const member = c.prefixLength === bitsOf(c.family) ? formatIp(c) : formatCidr(c);
  return {
    cidr: formatCidr(c),
    member,
    setMembers: c.prefixLength === 0 ? HALVES[c.family] : [member],
    family: c.family,
  };
}

function sortedUnique<T>(xs: T[], key: (x: T) => string): T[] {
  const m = new Map<string, T>();
  for (const x of xs) m.set(key(x), x);
  return [...m.keys()].sort().map((k) => m.get(k)!);
}

interface ParsedPorts {
  ranges: PortRange[];
  names: string[];
}

function parsePorts(ports: Port[] | undefined): ParsedPorts {
  const ranges: PortRange[] = [];
  const names: string[] = [];
  for (const p of listOf(ports, 'ports')) {
    if (typeof p === 'number') {
      if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`port ${p} is invalid`);
      ranges.push({ first: p, last: p });
      continue;
    }
    if (typeof p !== 'string') throw new Error(`port ${JSON.stringify(p)} is neither a number nor a string`);
    const m = /^(\d+)(?::(\d+))?$/.exec(p);
    if (m) {
      const first = Number(m[1]);
      const last = m[2] !== undefined ? Number(m[2]) : first;
      if (first > last || first < 0 || last > 65535) throw new Error(`port range ${JSON.stringify(p)} is invalid`);
      ranges.push({ first, last });
    } else {
      names.push(p);
    }
  }
  ranges.sort((a, b) => a.first - b.first || a.last - b.last);
  const dedup = ranges.filter((r, i) => i === 0 || r.first !== ranges[i - 1]!.first || r.last !== ranges[i - 1]!.last);
  return { ranges: dedup, names: [...new Set(names)].sort() };
}

function sel(text: string | undefined): Selector | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const s = parseSelector(text);
  return s.toString() === 'all()' ? undefined : s;
}

function icmpOf(f: { type?: number; code?: number } | undefined): IcmpMatch | undefined {
  if (f === undefined) return undefined;
  const out: IcmpMatch = {};
  if (f.type !== undefined) out.type = f.type;
  if (f.code !== undefined) out.code = f.code;
  return out;
}

function selectorSet(spec: MatchSpec): SetRequest {
  const key = specKey(spec);
  return { id: shortHash(`selector|${key}`), purpose: 'selector', specKey: key, spec, description: key };
}

function netsSet(nets: CanonNet[]): SetRequest {
  const cidrs = nets.map((n) => n.cidr);
  return { id: shortHash(`nets|${cidrs.join(',')}`), purpose: 'nets', nets: cidrs, description: `nets ${cidrs.join(', ')}` };
}

function emptyMatch(): CalcEntityMatch {
  return { nets: [], notNets: [], ports: [], namedPortSetIds: [], notPorts: [], notNamedPortSetIds: [] };
}

interface EntityOut {
  match: CalcEntityMatch;
  netFamilies: Set<IpVersion> | undefined;
}

function convertEntity(
  e: EntityRule | undefined,
  scope: RuleScope,
  protocol: CalcProtocol | undefined,
  sets: SetRequest[],
  problems: string[],
  side: string,
): EntityOut {
  const match = emptyMatch();
  if (e === undefined || e === null) return { match, netFamilies: undefined };
  if (typeof e !== 'object' || Array.isArray(e)) throw new Error(`${side} is not an object`);

  // Networks.
  const nets = sortedUnique(listOf(e.nets, `${side}.nets`).map(canonNet), (n) => n.cidr);
  const notNets = sortedUnique(listOf(e.notNets, `${side}.notNets`).map(canonNet), (n) => n.cidr);
  match.nets = nets.map((n) => n.cidr);
  match.notNets = notNets.map((n) => n.cidr);
  if (nets.length > 1) {
    const s = netsSet(nets);
    sets.push(s);
    match.netSetId = s.id;
  }
  if (notNets.length > 0) {
    const s = netsSet(notNets);
    sets.push(s);
    match.notNetSetId = s.id;
  }

  // Selectors, scoped.
  const nsSel = sel(e.namespaceSelector);
  const base: { namespace?: string; namespaceSelector?: Selector } =
    e.namespaceSelector !== undefined && e.namespaceSelector.trim() !== ''
      ? nsSel !== undefined
        ? { namespaceSelector: nsSel }
        : {} // namespaceSelector: all() → every namespace (and global sets)
      : scope.namespace !== undefined
        ? { namespace: scope.namespace }
        : {};
  const positive = sel(e.selector);
  const sa = e.serviceAccounts;
  if (sa?.names !== undefined) listOf(sa.names, `${side}.serviceAccounts.names`);
  const saNames = sa?.names !== undefined && sa.names.length > 0 ? [...new Set(sa.names)].sort() : undefined;
  const saSel = sa?.selector !== undefined ? parseSelector(sa.selector) : undefined;
  const hasPositive =
    e.selector !== undefined || e.namespaceSelector !== undefined || saNames !== undefined || saSel !== undefined;
  let positiveSpec: MatchSpec | undefined;
  if (hasPositive) {
    positiveSpec = {
      ...base,
      ...(positive !== undefined ? { selector: positive } : {}),
      ...(saNames !== undefined ? { serviceAccountNames: saNames } : {}),
      ...(saSel !== undefined ? { serviceAccountSelector: saSel } : {}),
    };
    const s = selectorSet(positiveSpec);
    sets.push(s);
    match.selectorSetId = s.id;
  }
  if (e.notSelector !== undefined && e.notSelector.trim() !== '') {
    const neg = parseSelector(e.notSelector);
    const spec: MatchSpec = { ...base, ...(neg.toString() === 'all()' ? {} : { selector: neg }) };
    const s = selectorSet(spec);
    sets.push(s);
    match.notSelectorSetId = s.id;
  }

  // Ports.
  const ports = parsePorts(e.ports);
  const notPorts = parsePorts(e.notPorts);
  match.ports = ports.ranges;
  match.notPorts = notPorts.ranges;
  const named = [...ports.names.map((n) => ({ n, neg: false })), ...notPorts.names.map((n) => ({ n, neg: true }))];
  if (named.length > 0) {
    if (protocol !== 'tcp' && protocol !== 'udp' && protocol !== 'sctp') {
      problems.push(
        `${side} named ports (${named.map((x) => x.n).join(', ')}) need protocol TCP, UDP or SCTP on the rule`,
      );
    } else {
      const spec: MatchSpec = positiveSpec ?? base;
      const key = specKey(spec);
      for (const { n, neg } of named) {
        const s: SetRequest = {
          id: shortHash(`namedport|${protocol}|${n}|${key}`),
          purpose: 'namedPort',
          specKey: key,
          spec,
          protocol,
          portName: n,
          description: `named port ${protocol}:${n} of ${key}`,
        };
        sets.push(s);
        (neg ? match.notNamedPortSetIds : match.namedPortSetIds).push(s.id);
      }
      match.namedPortSetIds.sort();
      match.notNamedPortSetIds.sort();
    }
  }
  const hasAnyPorts = match.ports.length + match.notPorts.length + named.length > 0;
  if (hasAnyPorts && !hasPortsProtocol(protocol)) {
    problems.push(`${side} ports need protocol TCP, UDP, SCTP or UDPLite on the rule`);
  }
  return { match, netFamilies: nets.length > 0 ? new Set(nets.map((n) => n.family)) : undefined };
}

/**
 * Converts one rule. Never throws: a part it cannot use is reported in `problems` (and the rule
 * is then unusable: see dropAllRule). A rule that merely cannot match in a family (ipVersion 6 with
 * IPv4 nets, ICMP in IPv6) is not a problem: its ipVersions shrink, possibly to [].
 */
export function convertRule(rule: Rule, scope: RuleScope): ConvertedRule {
  const problems: string[] = [];
  const sets: SetRequest[] = [];
  let out: CalcRule = { action: 'Deny', ipVersions: [], source: emptyMatch(), destination: emptyMatch() };
  try {
    if (typeof rule !== 'object' || rule === null || Array.isArray(rule)) throw new Error('the rule is not an object');
    if (!ACTIONS.has(rule.action)) throw new Error(`unknown action ${JSON.stringify(rule.action)}`);
    if (rule.ipVersion !== undefined && rule.ipVersion !== 4 && rule.ipVersion !== 6) {
      throw new Error(`ipVersion ${JSON.stringify(rule.ipVersion)} is neither 4 nor 6`);
    }
    const protocol = normaliseProtocol(rule.protocol);
    const notProtocol = normaliseProtocol(rule.notProtocol);
    const src = convertEntity(rule.source, scope, protocol, sets, problems, 'source');
    const dst = convertEntity(rule.destination, scope, protocol, sets, problems, 'destination');
    let versions = new Set<IpVersion>(rule.ipVersion !== undefined ? [rule.ipVersion] : [4, 6]);
    const restrict = (allowed: Iterable<IpVersion>): void => {
      const a = new Set(allowed);
      versions = new Set([...versions].filter((v) => a.has(v)));
    };
    if (protocol === 'icmp') restrict([4]);
    if (protocol === 'icmpv6') restrict([6]);
    if (src.netFamilies) restrict(src.netFamilies);
    if (dst.netFamilies) restrict(dst.netFamilies);
    if ((rule.icmp !== undefined || rule.notICMP !== undefined) && protocol !== 'icmp' && protocol !== 'icmpv6') {
      problems.push('icmp / notICMP need protocol ICMP or ICMPv6 on the rule');
    }
    out = {
      action: rule.action,
      ipVersions: problems.length > 0 ? [] : [...versions].sort(),
      ...(protocol !== undefined ? { protocol } : {}),
      ...(notProtocol !== undefined ? { notProtocol } : {}),
      ...(rule.icmp !== undefined ? { icmp: icmpOf(rule.icmp)! } : {}),
      ...(rule.notICMP !== undefined ? { notICMP: icmpOf(rule.notICMP)! } : {}),
      source: src.match,
      destination: dst.match,
    };
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
    return { rule: out, sets: [], problems };
  }
  if (problems.length > 0) return { rule: out, sets: [], problems };
  return { rule: out, sets, problems };
}

/** A Deny that matches every packet of both families: what an unusable direction becomes. */
export function dropAllRule(): CalcRule {
  return { action: 'Deny', ipVersions: [4, 6], source: emptyMatch(), destination: emptyMatch() };
}

/** What a direction's problems end with: the user reads what felix did about them. */
export const FAIL_CLOSED_NOTE = '(felix fails closed: all traffic in this direction is dropped)';

/**
 * Converts a rule list; sets de-duplicated by id (sorted). Fails closed: when the list is not a
 * list or any rule in it is unusable, the direction becomes [dropAllRule()] with no sets, and
 * every problem says so.
 */
export function convertRules(
  rules: Rule[] | undefined,
  scope: RuleScope,
  where: string,
): { rules: CalcRule[]; sets: SetRequest[]; problems: string[] } {
  if (rules !== undefined && rules !== null && !Array.isArray(rules)) {
    return { rules: [dropAllRule()], sets: [], problems: [`${where}: is not a list (found ${typeof rules}) ${FAIL_CLOSED_NOTE}`] };
  }
  const out: CalcRule[] = [];
  const sets = new Map<string, SetRequest>();
  const problems: string[] = [];
  (rules ?? []).forEach((r, i) => {
    const c = convertRule(r, scope);
    out.push(c.rule);
    for (const s of c.sets) sets.set(s.id, s);
    for (const p of c.problems) problems.push(`${where}[${i}]: ${p} ${FAIL_CLOSED_NOTE}`);
  });
  if (problems.length > 0) return { rules: [dropAllRule()], sets: [], problems };
  return { rules: out, sets: [...sets.keys()].sort().map((k) => sets.get(k)!), problems };
}
