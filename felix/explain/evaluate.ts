// What felix's chains do to one packet, evaluated on calc's desired state instead of the kernel:
// the same policies in the same order, the same normalised rules and the same set members that
// felix/rules renders, walked the way the rendered chains walk them (felix/rules/endpoint.ts,
// policy.ts): per tier each policy in order — Allow accepts, Deny drops, Pass leaves the tier, Log
// goes on; a tier with policies drops what none decided; then the profiles in order; then drop.
// Pure: no I/O.
import { cidrContains, parseCidr, parseIp, type IpAddr } from '../../src/api/cidr.js';
import type { CalcEntityMatch, CalcProtocol, CalcRule, DesiredState, EndpointState, IpSetState, PolicyState, PortRange } from '../calc/types.js';

export type FlowProtocol = 'tcp' | 'udp' | 'sctp' | 'icmp' | 'icmpv6';

export interface Packet {
  src: string;
  dst: string;
  protocol: FlowProtocol;
  /** Destination port (tcp/udp/sctp). */
  dstPort?: number;
  /**
   * Source port, when known. Unknown, it is taken as an ephemeral port no rule names: a rule
   * that needs one of its `ports` does not match, one that excludes `notPorts` does (as the
   * kernel does for every real client, whose source port is ephemeral).
   */
  srcPort?: number;
}

export type Direction = 'ingress' | 'egress';

export interface RuleVerdict {
  /** "np/<ns>/<name>", "gnp/<name>" or "prof/<name>". */
  id: string;
  /** Index of the rule in its direction's list, as written. */
  index: number;
  action: CalcRule['action'];
}

export interface PolicyStep {
  id: string;
  kind: 'policy' | 'profile';
  /** The rules that matched, in order (Log rules go on, so there may be several). */
  matched: RuleVerdict[];
  /** What this policy did to the packet. */
  outcome: 'allow' | 'deny' | 'pass' | 'no match';
}

export interface SideVerdict {
  direction: Direction;
  endpoint: { namespace: string; name: string; interfaceName: string };
  verdict: 'allow' | 'deny';
  /** What decided: a rule, the end of the tier, or no profile allowing it. */
  decidedBy:
    | { kind: 'rule'; rule: RuleVerdict }
    | { kind: 'end-of-tier'; tier: string }
    | { kind: 'no-profile-allowed' }
    | { kind: 'no-address-in-family' };
  steps: PolicyStep[];
}

const PROTO_NUMBER: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58, sctp: 132, udplite: 136 };

function sameProtocol(rule: CalcProtocol, pkt: FlowProtocol): boolean {
  return typeof rule === 'number' ? rule === PROTO_NUMBER[pkt] : rule === pkt;
}

function inRanges(port: number | undefined, ranges: readonly PortRange[]): boolean {
  return port !== undefined && ranges.some((r) => port >= r.first && port <= r.last);
}

/** "10.0.0.0/8" or a bare host → does it hold `ip`? */
function netHolds(net: string, ip: IpAddr): boolean {
  const c = parseCidr(net, { strict: false, allowBare: true });
  return c.family === ip.family && cidrContains(c, ip);
}

export interface SetLookup {
  /** Is the address (and, for hash:ip,port sets, protocol:port) a member of the set? */
  has(setId: string, ip: IpAddr, protocol?: FlowProtocol, port?: number): boolean;
}

export function setLookup(sets: ReadonlyMap<string, IpSetState>): SetLookup {
  return {
    has(setId, ip, protocol, port) {
      const s = sets.get(setId);
      if (!s) return false;
      const members = ip.family === 4 ? s.members4 : s.members6;
      if (s.type === 'hash:ip,port') {
        if (protocol === undefined || port === undefined) return false;
        return members.some((m) => {
          const comma = m.lastIndexOf(',');
          const [proto, p] = m.slice(comma + 1).split(':');
          return proto === protocol && Number(p) === port && netHolds(m.slice(0, comma), ip);
        });
      }
      return members.some((m) => netHolds(m, ip));
    },
  };
}

function entityMatches(e: CalcEntityMatch, ip: IpAddr, port: number | undefined, protocol: FlowProtocol, sets: SetLookup): boolean {
  if (e.nets.length > 0 && !e.nets.some((n) => netHolds(n, ip))) return false;
  if (e.notNets.some((n) => netHolds(n, ip))) return false;
  if (e.selectorSetId !== undefined && !sets.has(e.selectorSetId, ip)) return false;
  if (e.notSelectorSetId !== undefined && sets.has(e.notSelectorSetId, ip)) return false;
  if (e.ports.length > 0 || e.namedPortSetIds.length > 0) {
    const ok = inRanges(port, e.ports) || e.namedPortSetIds.some((id) => sets.has(id, ip, protocol, port));
    if (!ok) return false;
  }
  // An unknown port is in no list (see Packet.srcPort).
  if (inRanges(port, e.notPorts)) return false;
  if (port !== undefined && e.notNamedPortSetIds.some((id) => sets.has(id, ip, protocol, port))) return false;
  return true;
}

/** Does a normalised rule match the packet (in the packet's IP family)? */
export function ruleMatches(rule: CalcRule, pkt: Packet, sets: SetLookup): boolean {
  const src = parseIp(pkt.src);
  const dst = parseIp(pkt.dst);
  if (!rule.ipVersions.includes(src.family)) return false;
  if (rule.protocol !== undefined && !sameProtocol(rule.protocol, pkt.protocol)) return false;
  if (rule.notProtocol !== undefined && sameProtocol(rule.notProtocol, pkt.protocol)) return false;
  // ICMP type/code: the packet is taken as an echo request (type 8 / 128, code 0), what ping sends.
  const icmpType = pkt.protocol === 'icmp' ? 8 : pkt.protocol === 'icmpv6' ? 128 : undefined;
  if (rule.icmp !== undefined) {
    if (icmpType === undefined) return false;
    if (rule.icmp.type !== undefined && rule.icmp.type !== icmpType) return false;
    if (rule.icmp.code !== undefined && rule.icmp.code !== 0) return false;
  }
  if (rule.notICMP !== undefined && icmpType !== undefined) {
    const t = rule.notICMP.type === undefined || rule.notICMP.type === icmpType;
    const c = rule.notICMP.code === undefined || rule.notICMP.code === 0;
    if (t && c) return false;
  }
  if (!entityMatches(rule.source, src, pkt.srcPort, pkt.protocol, sets)) return false;
  if (!entityMatches(rule.destination, dst, pkt.dstPort, pkt.protocol, sets)) return false;
  return true;
}

function walkRules(id: string, rules: readonly CalcRule[], pkt: Packet, sets: SetLookup): PolicyStep {
  const matched: RuleVerdict[] = [];
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (!ruleMatches(r, pkt, sets)) continue;
    matched.push({ id, index: i, action: r.action });
    if (r.action === 'Allow') return { id, kind: id.startsWith('prof/') ? 'profile' : 'policy', matched, outcome: 'allow' };
    if (r.action === 'Deny') return { id, kind: id.startsWith('prof/') ? 'profile' : 'policy', matched, outcome: 'deny' };
    if (r.action === 'Pass') return { id, kind: id.startsWith('prof/') ? 'profile' : 'policy', matched, outcome: 'pass' };
  }
  return { id, kind: id.startsWith('prof/') ? 'profile' : 'policy', matched, outcome: 'no match' };
}

/**
 * The verdict of one endpoint's chain for a packet: `ingress` = the endpoint is the destination
 * (to-workload chain), `egress` = it is the source (from-workload chain).
 */
export function evaluateEndpoint(state: DesiredState, ep: EndpointState, direction: Direction, pkt: Packet): SideVerdict {
  const sets = setLookup(state.ipsets);
  const endpoint = { namespace: ep.namespace, name: ep.name, interfaceName: ep.interfaceName };
  const steps: PolicyStep[] = [];
  const family = parseIp(direction === 'ingress' ? pkt.dst : pkt.src).family;
  if ((family === 4 ? ep.ipv4Nets : ep.ipv6Nets).length === 0) {
    return { direction, endpoint, verdict: 'deny', decidedBy: { kind: 'no-address-in-family' }, steps };
  }
  const refs = direction === 'ingress' ? ep.ingressPolicies : ep.egressPolicies;
  // Tiers: consecutive refs with the same tier.
  let i = 0;
  while (i < refs.length) {
    const tier = refs[i]!.tier;
    let passed = false;
    for (; i < refs.length && refs[i]!.tier === tier; i++) {
      if (passed) continue;
      const p: PolicyState | undefined = state.policies.get(refs[i]!.id);
      const rules = (direction === 'ingress' ? p?.ingress : p?.egress) ?? [];
      const step = walkRules(refs[i]!.id, rules, pkt, sets);
      steps.push(step);
      if (step.outcome === 'allow' || step.outcome === 'deny') {
        return { direction, endpoint, verdict: step.outcome, decidedBy: { kind: 'rule', rule: step.matched[step.matched.length - 1]! }, steps };
      }
      if (step.outcome === 'pass') passed = true;
    }
    if (!passed) return { direction, endpoint, verdict: 'deny', decidedBy: { kind: 'end-of-tier', tier }, steps };
  }
  for (const id of ep.profileIds) {
    const prof = state.profiles.get(id);
    const step = walkRules(id, (direction === 'ingress' ? prof?.ingress : prof?.egress) ?? [], pkt, sets);
    steps.push(step);
    if (step.outcome === 'allow' || step.outcome === 'deny') {
      return { direction, endpoint, verdict: step.outcome, decidedBy: { kind: 'rule', rule: step.matched[step.matched.length - 1]! }, steps };
    }
  }
  return { direction, endpoint, verdict: 'deny', decidedBy: { kind: 'no-profile-allowed' }, steps };
}
