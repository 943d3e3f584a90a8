// Why would a packet pass or be dropped? From the datastore's resources alone: calc computes each
// endpoint's host view exactly as that host's agent does (whole hosts, or only the endpoints of
// the question: ExplainerOptions.scope), and evaluate.ts walks its chains. The
// source's egress side and the destination's ingress side are judged apart; the packet passes when
// both allow it (an address with no endpoint is outside the cluster: no side of ours there).
import type { GlobalNetworkPolicyResource, Kind, NetworkPolicyResource, ProfileResource, Resource, Rule, WorkloadEndpointResource } from '../../src/api/types.js';
import { cidrTextHolder, parseIp, type IpAddr } from '../../src/api/cidr.js';
import { TwillError } from '../../src/errors.js';
import { CalcGraph } from '../calc/index.js';
import type { DesiredState, EndpointState } from '../calc/types.js';
import { endpointList, mayHold, type EndpointQueries, type EndpointSource } from './endpoints.js';
import { evaluateEndpoint, type FlowProtocol, type Packet, type SideVerdict } from './evaluate.js';

/** The kinds an Explainer needs from the datastore. */
export const EXPLAIN_KINDS: Kind[] = ['WorkloadEndpoint', 'NetworkPolicy', 'GlobalNetworkPolicy', 'Profile', 'NetworkSet', 'GlobalNetworkSet', 'FelixConfiguration', 'IPPool'];

export class ExplainInputError extends TwillError {
  constructor(message: string, hint: string) {
    super('ExplainInput', message, { hint });
  }
}

export interface ExplainRequest {
  /** "NAMESPACE/WORKLOAD", a WorkloadEndpoint name, or an IP address. */
  from: string;
  to: string;
  protocol: FlowProtocol;
  port?: number;
}

export interface Party {
  /** What the user named. */
  ref: string;
  ip: string;
  /** labels: what selectors see (own, from profiles, and twill.io/namespace). */
  endpoint?: { namespace: string; name: string; node: string; labels: Record<string, string> };
}

export interface ExplainedStep {
  id: string;
  kind: 'policy' | 'profile';
  /** "NetworkPolicy zones/app", "GlobalNetworkPolicy deny-all", "Profile kns.zones". */
  what: string;
  selector?: string;
  outcome: 'allow' | 'deny' | 'pass' | 'no match';
  /** The rules that matched, with the rule as written. */
  matched: { index: number; action: string; rule: Rule | undefined }[];
}

export interface ExplainedSide {
  verdict: 'allow' | 'deny';
  /** One sentence: what decided. */
  reason: string;
  decidedBy: SideVerdict['decidedBy'];
  steps: ExplainedStep[];
}

export interface Explanation {
  verdict: 'allow' | 'deny';
  packet: Packet;
  from: Party;
  to: Party;
  /** The source endpoint's egress side (absent: the source is outside the cluster). */
  egress?: ExplainedSide;
  /** The destination endpoint's ingress side (absent: the destination is outside). */
  ingress?: ExplainedSide;
}

/** What resolve() will ask the endpoint source for these references. */
function namedIn(refs: readonly string[]): EndpointQueries {
  const names: string[] = [];
  const holding: IpAddr[] = [];
  for (const ref of refs) {
    const slash = ref.indexOf('/');
    if (slash > 0) names.push(ref.slice(slash + 1));
    else if (ref.includes('.') || ref.includes(':')) {
      if (isIpText(ref)) holding.push(parseIp(ref));
    } else names.push(ref);
  }
  return { names, holding };
}

function isIpText(s: string): boolean {
  try {
    parseIp(s);
    return true;
  } catch {
    return false;
  }
}

function wepIps(r: WorkloadEndpointResource): string[] {
  return (r.spec.ipNetworks ?? []).map((n) => n.split('/')[0]!);
}

export interface ExplainerOptions {
  /**
   * What one calc run covers. 'hosts' (default): a whole host, once per host, reused by every
   * question (many questions: the lab's verify matrix). 'endpoints': only the endpoints of the
   * question (one question: twillctl policy explain; much less work on a big cluster).
   */
  scope?: 'hosts' | 'endpoints';
  /**
   * Where the workload endpoints come from (default: those in `resources`; given, those in
   * `resources` are ignored). A question asks it for a few endpoints only (./endpoints.ts).
   */
  endpoints?: EndpointSource;
}

/** Explains flows over one snapshot of the datastore (calc runs once per node asked about). */
export class Explainer {
  private readonly weps: EndpointSource;
  /** Every resource but the workload endpoints. */
  private readonly others: readonly Resource[];
  private everything: readonly Resource[] | undefined;
  private readonly graphs = new Map<string, DesiredState>();
  private readonly byId = new Map<string, Resource>();

  constructor(
    resources: readonly Resource[],
    private readonly opts: ExplainerOptions = {},
  ) {
    this.others = resources.filter((r) => r.kind !== 'WorkloadEndpoint');
    this.weps = opts.endpoints ?? endpointList(resources.filter((r): r is WorkloadEndpointResource => r.kind === 'WorkloadEndpoint'));
    for (const r of resources) {
      if (r.kind === 'NetworkPolicy') this.byId.set(`np/${r.metadata.namespace ?? 'default'}/${r.metadata.name}`, r);
      else if (r.kind === 'GlobalNetworkPolicy') this.byId.set(`gnp/${r.metadata.name}`, r);
      else if (r.kind === 'Profile') this.byId.set(`prof/${r.metadata.name}`, r);
    }
  }

  /**
   * The desired state of the endpoints' hosts as far as these endpoints are concerned: with scope
   * 'hosts' the whole host of the first; with 'endpoints' calc for them alone
   * (CalcOptions.onlyEndpoints), one run for all when their interface names differ, fed only what
   * can change the answer for a packet between `ips` (see inputFor).
   */
  private stateOf(weps: readonly WorkloadEndpointResource[], ips: readonly IpAddr[]): DesiredState {
    const hosts = this.opts.scope !== 'endpoints';
    const key = hosts
      ? weps[0]!.spec.node
      : `${weps.map((w) => `${w.spec.node}\0${w.metadata.namespace ?? 'default'}\0${w.metadata.name}`).join('\0\0')}\0\0\0${ips.map((ip) => `${ip.family}:${ip.addr}`).join(',')}`;
    let s = this.graphs.get(key);
    if (!s) {
      const nodeName = weps[0]!.spec.node;
      const g = new CalcGraph(hosts ? { nodeName } : { nodeName, onlyEndpoints: weps.map((w) => ({ namespace: w.metadata.namespace ?? 'default', name: w.metadata.name })) });
      const input = hosts ? (this.everything ??= [...this.weps.all(), ...this.others]) : this.inputFor(weps, ips);
      g.apply(input.map((resource) => ({ type: 'set' as const, resource })));
      g.flush();
      s = g.snapshot();
      this.graphs.set(key, s);
    }
    return s;
  }

  /**
   * What calc needs to judge packets between `ips` at `weps` alone: every resource except the
   * other workload endpoints, of which only those holding one of the addresses (they make it a
   * member of the sets a rule's selector asks for; an endpoint elsewhere can only add members
   * the packet never meets). An endpoint whose addresses cannot be read is kept: calc decides.
   * On a big cluster this is most of the work saved: calc indexes a few endpoints, not all.
   */
  private inputFor(weps: readonly WorkloadEndpointResource[], ips: readonly IpAddr[]): Resource[] {
    const holder = cidrTextHolder(ips);
    const mine = new Set<Resource>(weps);
    for (const w of this.weps.holding(ips)) if (mayHold(w, holder)) mine.add(w);
    return [...mine, ...this.others];
  }

  /** Resolves what the user named. */
  resolve(ref: string): { party: Party; wep?: WorkloadEndpointResource } {
    const slash = ref.indexOf('/');
    let found: WorkloadEndpointResource[] = [];
    if (slash > 0) {
      const ns = ref.slice(0, slash);
      const n = ref.slice(slash + 1);
      found = this.weps.named(n).filter((w) => (w.metadata.namespace ?? 'default') === ns && (w.metadata.name === n || w.spec.workload === n || w.spec.pod === n));
    } else if (ref.includes('.') || ref.includes(':')) {
      let ip;
      try {
        ip = parseIp(ref);
      } catch {
        throw new ExplainInputError(`${ref} is neither NAMESPACE/WORKLOAD, an endpoint name, nor an IP address`, 'name an endpoint as NAMESPACE/WORKLOAD (see "twillctl get workloadendpoints -A") or give an IP');
      }
      const holder = cidrTextHolder([ip]);
      found = this.weps.holding([ip]).filter((w) => w.spec.ipNetworks?.some(holder));
      if (found.length === 0) return { party: { ref, ip: ref } };
    } else {
      found = this.weps.named(ref).filter((w) => w.metadata.name === ref);
    }
    if (found.length === 0) throw new ExplainInputError(`no workload endpoint ${ref}`, 'list them with "twillctl get workloadendpoints -A"; name one as NAMESPACE/WORKLOAD or by its IP');
    if (found.length > 1) throw new ExplainInputError(`${ref} names ${found.length} endpoints (${found.map((w) => `${w.metadata.namespace}/${w.metadata.name}`).sort().join(', ')})`, 'name exactly one, as NAMESPACE/ENDPOINT-NAME');
    const w = found[0]!;
    const ip = wepIps(w)[0];
    if (ip === undefined) throw new ExplainInputError(`endpoint ${ref} has no address`, 'its CNI ADD may not have finished');
    return { party: { ref, ip: slash < 0 && (ref.includes('.') || ref.includes(':')) ? ref : ip, endpoint: { namespace: w.metadata.namespace ?? 'default', name: w.metadata.name, node: w.spec.node, labels: { ...(w.metadata.labels ?? {}) } } }, wep: w };
  }

  private endpointState(w: WorkloadEndpointResource, together: readonly WorkloadEndpointResource[], ips: readonly IpAddr[]): { state: DesiredState; ep: EndpointState } {
    // calc runs for this endpoint alone: an endpoint of the same host claiming the same interface
    // with a smaller namespace/name would win it on the host (see felix/README.md).
    const key = (r: WorkloadEndpointResource): string => `${r.metadata.namespace ?? 'default'}/${r.metadata.name}`;
    let winner: WorkloadEndpointResource | undefined;
    for (const o of this.weps.onInterface(w.spec.interfaceName)) {
      if (o.spec.node === w.spec.node && o.spec.interfaceName === w.spec.interfaceName && key(o) < key(winner ?? w)) winner = o;
    }
    if (winner) {
      throw new ExplainInputError(`endpoint ${key(w)} is not programmed on node ${w.spec.node}: ${key(winner)} claims the same interface ${w.spec.interfaceName}`, 'give each endpoint of a node its own interfaceName');
    }
    const distinct = this.opts.scope === 'endpoints' && new Set(together.map((o) => o.spec.interfaceName)).size === together.length;
    const state = this.stateOf(distinct ? together : [w], ips);
    const ep = [...state.endpoints.values()].find((e) => e.namespace === (w.metadata.namespace ?? 'default') && e.name === w.metadata.name);
    if (!ep) throw new ExplainInputError(`endpoint ${w.metadata.namespace}/${w.metadata.name} is not programmable on node ${w.spec.node} (see "twillctl get workloadendpoints")`, 'check its interfaceName and addresses');
    return { state, ep };
  }

  private describe(v: SideVerdict): ExplainedSide {
    const steps = v.steps.map((s): ExplainedStep => {
      const res = this.byId.get(s.id);
      const what = res ? `${res.kind} ${res.kind === 'NetworkPolicy' ? `${res.metadata.namespace ?? 'default'}/` : ''}${res.metadata.name}` : s.id;
      const dirRules = (r: Resource | undefined): Rule[] | undefined => {
        if (!r) return undefined;
        const spec = (r as NetworkPolicyResource | GlobalNetworkPolicyResource | ProfileResource).spec;
        return v.direction === 'ingress' ? spec?.ingress : spec?.egress;
      };
      const selector = res && res.kind !== 'Profile' ? ((res as NetworkPolicyResource).spec?.selector ?? 'all()') : undefined;
      return {
        id: s.id,
        kind: s.kind,
        what,
        ...(selector !== undefined ? { selector } : {}),
        outcome: s.outcome,
        matched: s.matched.map((m) => ({ index: m.index, action: m.action, rule: dirRules(res)?.[m.index] })),
      };
    });
    const d = v.decidedBy;
    let reason: string;
    if (d.kind === 'rule') {
      const st = steps.find((s) => s.id === d.rule.id);
      reason = `${st?.what ?? d.rule.id} ${v.direction} rule ${d.rule.index} (${d.rule.action})`;
    } else if (d.kind === 'end-of-tier') {
      reason = `no policy of tier "${d.tier}" that selects the endpoint allowed it: dropped at the end of the tier`;
    } else if (d.kind === 'no-profile-allowed') {
      reason = v.steps.length === 0 ? 'no policy selects the endpoint and it has no profile: dropped' : 'no policy decided and no profile allowed it: dropped';
    } else {
      reason = 'the endpoint has no address in that IP family';
    }
    return { verdict: v.verdict, reason, decidedBy: d, steps };
  }

  explain(req: ExplainRequest): Explanation {
    if ((req.protocol === 'tcp' || req.protocol === 'udp' || req.protocol === 'sctp') && (req.port === undefined || !Number.isInteger(req.port) || req.port < 1 || req.port > 65535)) {
      throw new ExplainInputError(`${req.protocol.toUpperCase()} needs a destination port 1-65535${req.port !== undefined ? ` (got ${req.port})` : ''}`, 'pass --port P');
    }
    // The endpoint queries come in two rounds (what the user named; then what those endpoints
    // need): a source may answer each round in one go.
    this.weps.warm?.(namedIn([req.from, req.to]));
    const from = this.resolve(req.from);
    const to = this.resolve(req.to);
    const named = [from.wep, to.wep].filter((w): w is WorkloadEndpointResource => w !== undefined);
    this.weps.warm?.({ interfaces: named.map((w) => w.spec.interfaceName), holding: [from.party.ip, to.party.ip].flatMap((a) => (isIpText(a) ? [parseIp(a)] : [])) });
    if (parseIp(from.party.ip).family !== parseIp(to.party.ip).family) {
      throw new ExplainInputError(`${req.from} (${from.party.ip}) and ${req.to} (${to.party.ip}) are in different IP families`, 'name two IPv4 or two IPv6 addresses');
    }
    const packet: Packet = { src: from.party.ip, dst: to.party.ip, protocol: req.protocol, ...(req.port !== undefined ? { dstPort: req.port } : {}) };
    const out: Explanation = { verdict: 'allow', packet, from: from.party, to: to.party };
    // One calc run for both sides when it can (most of explain's time is calc reading everything).
    const together = [from.wep, to.wep].filter((w): w is WorkloadEndpointResource => w !== undefined && w.spec.interfaceName !== '');
    const ips = [parseIp(packet.src), parseIp(packet.dst)];
    if (from.wep) {
      const { state, ep } = this.endpointState(from.wep, together, ips);
      if (out.from.endpoint) out.from.endpoint.labels = { ...ep.labels };
      out.egress = this.describe(evaluateEndpoint(state, ep, 'egress', packet));
    }
    if (to.wep) {
      const { state, ep } = this.endpointState(to.wep, together, ips);
      if (out.to.endpoint) out.to.endpoint.labels = { ...ep.labels };
      out.ingress = this.describe(evaluateEndpoint(state, ep, 'ingress', packet));
    }
    out.verdict = out.egress?.verdict === 'deny' || out.ingress?.verdict === 'deny' ? 'deny' : 'allow';
    return out;
  }
}
