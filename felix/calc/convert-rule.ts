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
  /** Problems that made part of the rule unusable (the rule then matches nothing). */
  problems: string[];
}

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
  if (typeof p === 'number') return PROTOCOL_NUMBERS[p] ?? p;
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
  family: IpVersion;
}

export function canonNet(text: string): CanonNet {
  const c: Cidr = networkOf(parseCidr(text, { strict: false, allowBare: true }));
  return {
    cidr: formatCidr(c),
    member: c.prefixLength === bitsOf(c.family) ? formatIp(c) : formatCidr(c),
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
  for (const p of ports ?? []) {
    if (typeof p === 'number') {
      ranges.push({ first: p, last: p });
      continue;
    }
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
  const match: CalcEntityMatch = {
    nets: [],
    notNets: [],
    ports: [],
    namedPortSetIds: [],
    notPorts: [],
    notNamedPortSetIds: [],
  };
  if (e === undefined) return { match, netFamilies: undefined };

  // Networks.
  const nets = sortedUnique((e.nets ?? []).map(canonNet), (n) => n.cidr);
  const notNets = sortedUnique((e.notNets ?? []).map(canonNet), (n) => n.cidr);
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

/** Converts one rule. Never throws: a part it cannot use makes the rule match nothing, with a problem. */
export function convertRule(rule: Rule, scope: RuleScope): ConvertedRule {
  const problems: string[] = [];
  const sets: SetRequest[] = [];
  const empty = (): CalcEntityMatch => ({
    nets: [],
    notNets: [],
    ports: [],
    namedPortSetIds: [],
    notPorts: [],
    notNamedPortSetIds: [],
  });
  let out: CalcRule = { action: rule.action, ipVersions: [], source: empty(), destination: empty() };
  try {
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

/** Converts a rule list; sets de-duplicated by id (sorted). */
export function convertRules(
  rules: Rule[] | undefined,
  scope: RuleScope,
  where: string,
): { rules: CalcRule[]; sets: SetRequest[]; problems: string[] } {
  const out: CalcRule[] = [];
  const sets = new Map<string, SetRequest>();
  const problems: string[] = [];
  (rules ?? []).forEach((r, i) => {
    const c = convertRule(r, scope);
    out.push(c.rule);
    for (const s of c.sets) sets.set(s.id, s);
    for (const p of c.problems) problems.push(`${where}[${i}]: ${p} (the rule matches nothing)`);
  });
  return { rules: out, sets: [...sets.keys()].sort().map((k) => sets.get(k)!), problems };
}
