// The other side of the explain equivalence: what the kernel would do with a packet, given the
// rules felix renders. For each host involved, calc + renderAll (what twill-node programs) are
// written through the fake iptables-restore / ipset restore, and the packet is walked through
// the filter table by the fake's evaluator (src/iptables/fake/evaluate.ts) — no felix semantics
// on this side, only the rendered rules.
//
// The paths (the uplink is "eth0"): a workload's packet to another host leaves through its host's
// FORWARD (in = its interface, out = eth0) and enters the other host's FORWARD (in = eth0, out = the
// destination's interface); between two workloads of one host it is one FORWARD walk (in = source,
// out = destination). An address no endpoint holds is outside: no walk on that side.
import { CalcGraph } from '../../../../felix/calc/index.js';
import type { Explainer, FlowProtocol } from '../../../../felix/explain/index.js';
import { profileChain, policyChain, renderAll, toIpsetRestoreText, toRestoreText } from '../../../../felix/rules/index.js';
import type { Resource } from '../../../../src/api/types.js';
import { createFakeNetfilter, RuleSetEvaluator, type EvalPacket, type EvalResult } from '../../../../src/iptables/fake/index.js';

export const UPLINK = 'eth0';
/** The source port of every packet walked: an ephemeral one, which no rule of these tests names (explain's unknown source port). */
export const EPHEMERAL_PORT = 49152;

export type HostEvaluators = Record<4 | 6, RuleSetEvaluator | undefined>;

/** One host's rendered filter table (both families) loaded into a fake namespace, ready to walk. */
export async function renderedHost(resources: readonly Resource[], node: string): Promise<HostEvaluators> {
  const g = new CalcGraph({ nodeName: node });
  g.apply(resources.map((resource) => ({ type: 'set' as const, resource })));
  g.flush();
  const rendered = renderAll(g.snapshot());
  const nf = createFakeNetfilter();
  const out: HostEvaluators = { 4: undefined, 6: undefined };
  for (const fam of [rendered.v4, rendered.v6]) {
    if (fam === undefined) continue;
    const sets = toIpsetRestoreText(fam);
    if (sets !== '') await nf.ipset().restore(sets, { exist: true });
    await nf.iptables({ family: fam.family, backend: 'nft' }).restore(toRestoreText(fam));
    out[fam.family] = new RuleSetEvaluator(nf.ruleSet({ family: fam.family }));
  }
  return out;
}

/** Renders each host once per resource list. */
export class RenderedCluster {
  private readonly hosts = new Map<string, Promise<HostEvaluators>>();
  constructor(private readonly resources: readonly Resource[]) {}

  host(node: string): Promise<HostEvaluators> {
    let h = this.hosts.get(node);
    if (!h) {
      h = renderedHost(this.resources, node);
      this.hosts.set(node, h);
    }
    return h;
  }
}

export interface Flow {
  from: string;
  to: string;
  protocol: FlowProtocol;
  port?: number;
}

export interface RenderedSide {
  verdict: 'allow' | 'deny';
  /** The policy / profile chain whose rule decided (accept mark set, or DROP), or "default". */
  decider: string;
  walk: EvalResult;
}

export interface RenderedVerdict {
  verdict: 'allow' | 'deny';
  egress?: RenderedSide;
  ingress?: RenderedSide;
}

const POLICY_CHAIN = /^tw-(pi|po|pri|pro)-/;

function side(walk: EvalResult, acceptSpec: string): RenderedSide {
  const verdict = walk.verdict === 'ACCEPT' ? 'allow' : 'deny';
  let decider = 'default';
  if (verdict === 'allow') {
    const setAccept = [...walk.matched].reverse().find((s) => POLICY_CHAIN.test(s.chain) && s.spec.includes(acceptSpec));
    if (setAccept) decider = setAccept.chain;
  } else if ('spec' in walk.decidedBy && POLICY_CHAIN.test(walk.decidedBy.chain)) {
    decider = walk.decidedBy.chain;
  }
  return { verdict, decider, walk };
}

/** The chain explain's decidedBy points at, as felix names it ("default" for a default drop). */
export function expectedDecider(d: { kind: string; rule?: { id: string } }, dir: 'in' | 'out'): string {
  if (d.kind !== 'rule' || d.rule === undefined) return 'default';
  return d.rule.id.startsWith('prof/') ? profileChain(d.rule.id, dir) : policyChain(d.rule.id, dir);
}

/**
 * The rendered rules' verdict on a flow: each side walked on its own (egress on the source's
 * host towards the uplink, ingress on the destination's host from it), and the packet's real path
 * (one walk when both are on one host). Endpoints are named as `policy explain` names them.
 */
export async function renderedVerdict(cluster: RenderedCluster, names: Explainer, flow: Flow): Promise<RenderedVerdict> {
  const from = names.resolve(flow.from);
  const to = names.resolve(flow.to);
  const family = from.party.ip.includes(':') ? 6 : 4;
  const pkt: EvalPacket = {
    src: from.party.ip,
    dst: to.party.ip,
    protocol: flow.protocol === 'icmpv6' ? 'ipv6-icmp' : flow.protocol,
    ...(flow.port !== undefined ? { dstPort: flow.port, srcPort: EPHEMERAL_PORT } : {}),
    // explain takes ICMP as an echo request
    ...(flow.protocol === 'icmp' ? { icmpType: 8, icmpCode: 0 } : flow.protocol === 'icmpv6' ? { icmpType: 128, icmpCode: 0 } : {}),
    ctState: 'NEW',
  };
  const walk = async (node: string, inIf: string, outIf: string): Promise<EvalResult> => {
    const ev = (await cluster.host(node))[family];
    if (!ev) throw new Error(`host ${node} renders no IPv${family} rules`);
    return ev.evaluate('FORWARD', { ...pkt, inInterface: inIf, outInterface: outIf });
  };
  const acceptSpec = '-j MARK --set-xmark 0x10000/0x10000';
  const out: RenderedVerdict = { verdict: 'allow' };
  const srcIf = from.wep?.spec.interfaceName;
  const dstIf = to.wep?.spec.interfaceName;
  if (from.wep && srcIf) out.egress = side(await walk(from.wep.spec.node, srcIf, UPLINK), acceptSpec);
  if (to.wep && dstIf) out.ingress = side(await walk(to.wep.spec.node, UPLINK, dstIf), acceptSpec);
  if (from.wep && to.wep && srcIf && dstIf && from.wep.spec.node === to.wep.spec.node) {
    out.verdict = (await walk(from.wep.spec.node, srcIf, dstIf)).verdict === 'ACCEPT' ? 'allow' : 'deny';
  } else {
    out.verdict = out.egress?.verdict === 'deny' || out.ingress?.verdict === 'deny' ? 'deny' : 'allow';
  }
  return out;
}
