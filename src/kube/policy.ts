// networking.k8s.io/v1 NetworkPolicy → a Twill NetworkPolicy, as Calico converts it:
// name `knp.default.<name>` in the same namespace, order 1000 (after user policies with a lower
// order), selector = the podSelector. Each ingress/egress rule becomes one Allow rule per
// (peer, protocol): peers are ORed, ports are ORed, and within a peer podSelector AND
// namespaceSelector. The types are what `policyTypes` says (absent: Ingress, plus Egress when
// `egress` has rules), so an empty rule list isolates. Pure; throws KubeConvertError for
// anything it cannot express exactly.
import { cidrContains, formatCidr, networkOf, parseCidr, type Cidr } from '../api/cidr.js';
import type { EntityRule, NetworkPolicyResource, PolicyType, Port, Rule } from '../api/types.js';
import { type At, fail, kubeMeta, list, record } from './check.js';
import { K8S_POD_SELECTOR, namespaceSelectorText, podSelectorText } from './selector.js';

export const KNP_PREFIX = 'knp.default.';
/** Calico's order for converted Kubernetes policies. */
export const KNP_ORDER = 1000;

/** The Twill name of a Kubernetes NetworkPolicy. */
export function knpName(name: string): string {
  return `${KNP_PREFIX}${name}`;
}

type Proto = 'TCP' | 'UDP' | 'SCTP';

// IANA service names, as Kubernetes validates named ports.
const IANA_SVC = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*$/;

interface PortGroup {
  protocol: Proto;
  /** undefined: every port of the protocol. */
  ports: Port[] | undefined;
}

function portGroups(at: At, field: string, v: unknown): PortGroup[] | undefined {
  const entries = list(at, field, v);
  if (entries.length === 0) return undefined; // every protocol and port
  const groups = new Map<Proto, PortGroup>();
  entries.forEach((raw, i) => {
    const f = `${field}[${i}]`;
    const p = record(at, f, raw, ['protocol', 'port', 'endPort']);
    const protocol = p.protocol ?? 'TCP';
    if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') fail(at, `${f}.protocol`, `${JSON.stringify(protocol)} is not TCP, UDP or SCTP`);
    let port: Port | undefined;
    if (typeof p.port === 'number') {
      if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) fail(at, `${f}.port`, `${p.port} is not a port (1..65535)`);
      port = p.port;
    } else if (typeof p.port === 'string') {
      if (/^\d+$/.test(p.port)) fail(at, `${f}.port`, `"${p.port}" is a number written as a string; write it without quotes`);
      if (p.port.length > 15 || !IANA_SVC.test(p.port) || p.port.startsWith('-') || p.port.endsWith('-')) {
        fail(at, `${f}.port`, `${JSON.stringify(p.port)} is not a port name (IANA service name: ≤ 15 lower-case letters, digits, '-')`);
      }
      port = p.port;
    } else if (p.port !== undefined && p.port !== null) {
      fail(at, `${f}.port`, 'must be a number or a port name');
    }
    if (p.endPort !== undefined && p.endPort !== null) {
      if (typeof port !== 'number') fail(at, `${f}.endPort`, 'needs a numeric port (a range cannot start at a named port)');
      if (typeof p.endPort !== 'number' || !Number.isInteger(p.endPort) || p.endPort < port || p.endPort > 65535) {
        fail(at, `${f}.endPort`, `must be a port from ${port} to 65535`);
      }
      if (p.endPort > port) port = `${port}:${p.endPort}`;
    }
    const g = groups.get(protocol) ?? { protocol, ports: [] };
    groups.set(protocol, g);
    if (port === undefined) g.ports = undefined;
    else if (g.ports !== undefined && !g.ports.includes(port)) g.ports.push(port);
  });
  return [...groups.values()];
}

function cidrOf(at: At, field: string, v: unknown): Cidr {
  if (typeof v !== 'string') fail(at, field, 'must be a CIDR');
  try {
    return networkOf(parseCidr(v, { strict: false }));
  } catch (e) {
    return fail(at, field, e instanceof Error ? e.message : String(e));
  }
}

/** One peer → the entity fields (without ports). */
function peerEntity(at: At, field: string, v: unknown): EntityRule {
  const p = record(at, field, v, ['podSelector', 'namespaceSelector', 'ipBlock']);
  const has = (k: string): boolean => p[k] !== undefined && p[k] !== null;
  if (has('ipBlock')) {
    if (has('podSelector') || has('namespaceSelector')) fail(at, `${field}.ipBlock`, 'cannot be combined with podSelector or namespaceSelector in one peer (write two peers)');
    const b = record(at, `${field}.ipBlock`, p.ipBlock, ['cidr', 'except']);
    const cidr = cidrOf(at, `${field}.ipBlock.cidr`, b.cidr);
    const except = list(at, `${field}.ipBlock.except`, b.except).map((x, i) => {
      const f = `${field}.ipBlock.except[${i}]`;
      const c = cidrOf(at, f, x);
      if (c.family !== cidr.family || !cidrContains(cidr, c) || c.prefixLength <= cidr.prefixLength) {
        fail(at, f, `${formatCidr(c)} must be a strict subnet of the cidr ${formatCidr(cidr)}`);
      }
      return formatCidr(c);
    });
    return { nets: [formatCidr(cidr)], ...(except.length > 0 ? { notNets: except } : {}) };
  }
  if (!has('podSelector') && !has('namespaceSelector')) fail(at, field, 'a peer needs podSelector, namespaceSelector or ipBlock');
  return {
    selector: podSelectorText(at, `${field}.podSelector`, p.podSelector),
    ...(has('namespaceSelector') ? { namespaceSelector: namespaceSelectorText(at, `${field}.namespaceSelector`, p.namespaceSelector) } : {}),
  };
}

function convertRules(at: At, dir: 'ingress' | 'egress', v: unknown): Rule[] {
  const peerKey = dir === 'ingress' ? 'from' : 'to';
  const out: Rule[] = [];
  list(at, `spec.${dir}`, v).forEach((raw, i) => {
    const f = `spec.${dir}[${i}]`;
    const r = record(at, f, raw === null ? {} : raw, [peerKey, 'ports']);
    const peers: (EntityRule | undefined)[] = list(at, `${f}.${peerKey}`, r[peerKey]).map((p, j) => peerEntity(at, `${f}.${peerKey}[${j}]`, p));
    if (peers.length === 0) peers.push(undefined);
    const groups: (PortGroup | undefined)[] = portGroups(at, `${f}.ports`, r.ports) ?? [undefined];
    for (const peer of peers) {
      for (const g of groups) {
        const rule: Rule = { action: 'Allow' };
        if (g !== undefined) rule.protocol = g.protocol;
        const ports = g?.ports;
        if (dir === 'ingress') {
          if (peer !== undefined) rule.source = peer;
          if (ports !== undefined) rule.destination = { ports };
        } else {
          let dst: EntityRule | undefined = peer;
          if (ports !== undefined) {
            dst = { ...(peer ?? {}), ports };
            // A named port is resolved on the destination pod, in any namespace; Twill scopes a
            // rule without a selector to the policy's namespace, so say "every pod" explicitly.
            if (ports.some((x) => typeof x === 'string') && dst.selector === undefined) {
              dst = { ...dst, selector: K8S_POD_SELECTOR, namespaceSelector: 'all()' };
            }
          }
          if (dst !== undefined) rule.destination = dst;
        }
        out.push(rule);
      }
    }
  });
  return out;
}

function policyTypes(at: At, spec: Record<string, unknown>): PolicyType[] {
  const given = list(at, 'spec.policyTypes', spec.policyTypes);
  if (given.length === 0) return list(at, 'spec.egress', spec.egress).length > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  const out: PolicyType[] = [];
  given.forEach((t, i) => {
    if (t !== 'Ingress' && t !== 'Egress') fail(at, `spec.policyTypes[${i}]`, `${JSON.stringify(t)} is not Ingress or Egress`);
    if (out.includes(t)) fail(at, `spec.policyTypes[${i}]`, `${t} is listed twice`);
    out.push(t);
  });
  return (['Ingress', 'Egress'] as const).filter((t) => out.includes(t));
}

/** Converts a networking.k8s.io/v1 NetworkPolicy document. */
export function convertNetworkPolicy(doc: unknown): NetworkPolicyResource {
  const { at, meta, raw } = kubeMeta('NetworkPolicy', doc, true);
  const spec = record(at, 'spec', raw.spec ?? {}, ['podSelector', 'policyTypes', 'ingress', 'egress']);
  const types = policyTypes(at, spec);
  // Rules of a direction the policy does not govern are ignored, as Kubernetes ignores them.
  const ingress = convertRules(at, 'ingress', spec.ingress);
  const egress = convertRules(at, 'egress', spec.egress);
  return {
    apiVersion: 'twill.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: knpName(meta.name), namespace: meta.namespace },
    spec: {
      order: KNP_ORDER,
      selector: podSelectorText(at, 'spec.podSelector', spec.podSelector),
      types,
      ...(types.includes('Ingress') ? { ingress } : {}),
      ...(types.includes('Egress') ? { egress } : {}),
    },
  };
}
