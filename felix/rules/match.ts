// A CalcRule's match criteria as iptables arguments, for one address family. One CalcRule can
// need several iptables rules: its port list may exceed multiport's 15 slots, and numeric ports
// and named ports are alternatives (OR), so the renderer gets a list of alternatives.

import type { CalcEntityMatch, CalcProtocol, CalcRule, IcmpMatch, IpVersion, PortRange } from '../calc/types.js';
import { ipsetName } from './names.js';

/** multiport's limit: 15 slots; a range takes 2. */
export const MULTIPORT_SLOTS = 15;

function familyOf(cidr: string): IpVersion {
  return cidr.includes(':') ? 6 : 4;
}

function protoText(p: CalcProtocol, family: IpVersion): string {
  if (p === 'icmpv6') return 'ipv6-icmp';
  return String(p);
}

function portText(r: PortRange): string {
  return r.first === r.last ? String(r.first) : `${r.first}:${r.last}`;
}

/** Splits ports into groups that fit one multiport match (a range counts 2 slots). */
export function splitPorts(ports: readonly PortRange[]): PortRange[][] {
  const groups: PortRange[][] = [];
  let cur: PortRange[] = [];
  let used = 0;
  for (const r of ports) {
    const w = r.first === r.last ? 1 : 2;
    if (used + w > MULTIPORT_SLOTS) {
      groups.push(cur);
      cur = [];
      used = 0;
    }
    cur.push(r);
    used += w;
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

function icmpText(m: IcmpMatch, family: IpVersion, negate: boolean): string | undefined {
  if (m.type === undefined) return undefined;
  const v = m.code !== undefined ? `${m.type}/${m.code}` : String(m.type);
  const not = negate ? '! ' : '';
  return family === 4 ? `-m icmp ${not}--icmp-type ${v}` : `-m icmp6 ${not}--icmpv6-type ${v}`;
}

interface Side {
  /** Always present on every alternative. */
  fixed: string[];
  /** One of these (empty list = no port constraint: a single empty alternative). */
  alternatives: string[];
}

function side(e: CalcEntityMatch, dir: 'src' | 'dst', family: IpVersion): Side | undefined {
  const fixed: string[] = [];
  const addrFlag = dir === 'src' ? '-s' : '-d';
  const nets = e.nets.filter((n) => familyOf(n) === family);
  if (e.nets.length > 0) {
    if (nets.length === 0) return undefined; // only other-family nets: nothing can match here
    if (nets.length === 1) fixed.push(`${addrFlag} ${nets[0]}`);
    else if (e.netSetId !== undefined) fixed.push(`-m set --match-set ${ipsetName(e.netSetId, family)} ${dir}`);
    else return undefined;
  }
  if (e.notNets.some((n) => familyOf(n) === family)) {
    if (e.notNetSetId === undefined) return undefined;
    fixed.push(`-m set ! --match-set ${ipsetName(e.notNetSetId, family)} ${dir}`);
  }
  if (e.selectorSetId !== undefined) fixed.push(`-m set --match-set ${ipsetName(e.selectorSetId, family)} ${dir}`);
  if (e.notSelectorSetId !== undefined) fixed.push(`-m set ! --match-set ${ipsetName(e.notSelectorSetId, family)} ${dir}`);
  const portFlag = dir === 'src' ? '--sports' : '--dports';
  for (const g of splitPorts(e.notPorts)) fixed.push(`-m multiport ! ${portFlag} ${g.map(portText).join(',')}`);
  for (const id of e.notNamedPortSetIds) fixed.push(`-m set ! --match-set ${ipsetName(id, family)} ${dir},${dir}`);
  const alternatives: string[] = [];
  for (const g of splitPorts(e.ports)) alternatives.push(`-m multiport ${portFlag} ${g.map(portText).join(',')}`);
  for (const id of e.namedPortSetIds) alternatives.push(`-m set --match-set ${ipsetName(id, family)} ${dir},${dir}`);
  return { fixed, alternatives };
}

/**
 * The match arguments of `rule` in `family`, one string per iptables rule needed (their union is
 * the rule's meaning). undefined when the rule can never match in this family. A string may be
 * empty (matches everything).
 */
export function ruleMatches(rule: CalcRule, family: IpVersion): string[] | undefined {
  if (!rule.ipVersions.includes(family)) return undefined;
  const head: string[] = [];
  if (rule.protocol !== undefined) {
    if (rule.protocol === 'icmp' && family !== 4) return undefined;
    if (rule.protocol === 'icmpv6' && family !== 6) return undefined;
    if (rule.notProtocol !== undefined && rule.notProtocol === rule.protocol) return undefined;
    head.push(`-p ${protoText(rule.protocol, family)}`);
  } else if (rule.notProtocol !== undefined) {
    head.push(`! -p ${protoText(rule.notProtocol, family)}`);
  }
  const src = side(rule.source, 'src', family);
  const dst = side(rule.destination, 'dst', family);
  if (src === undefined || dst === undefined) return undefined;
  const tail: string[] = [];
  if (rule.icmp !== undefined) {
    const t = icmpText(rule.icmp, family, false);
    if (t !== undefined) tail.push(t);
  }
  if (rule.notICMP !== undefined) {
    const t = icmpText(rule.notICMP, family, true);
    if (t !== undefined) tail.push(t);
  }
  const base = [...head, ...src.fixed, ...dst.fixed];
  const srcAlts = src.alternatives.length > 0 ? src.alternatives : [''];
  const dstAlts = dst.alternatives.length > 0 ? dst.alternatives : [''];
  const out: string[] = [];
  for (const s of srcAlts) {
    for (const d of dstAlts) out.push([...base, s, d, ...tail].filter((x) => x !== '').join(' '));
  }
  return out;
}
