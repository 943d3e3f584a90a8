// Defaults: what a field means when it is left out, written into the object so that stored and
// printed resources say it explicitly. Pure (never mutates its input) and idempotent.

import { INTERNAL_KINDS, isNamespaced, type FelixConfigurationSpec, type BGPConfigurationSpec, type Kind, type Resource } from './types.js';

export const DEFAULT_NAMESPACE = 'default';
export const DEFAULT_BLOCK_SIZE = { 4: 26, 6: 122 } as const;
export const DEFAULT_SELECTOR = 'all()';

/**
 * Cluster-wide BGP defaults, filled into the BGPConfiguration named "default". Objects with other
 * names (per-node overrides such as "node.<name>") are left as written, so they only override
 * what they set.
 */
export const BGP_CONFIGURATION_DEFAULTS: Readonly<Required<Pick<BGPConfigurationSpec, 'asNumber' | 'nodeToNodeMeshEnabled' | 'listenPort' | 'logSeverityScreen'>>> = {
  asNumber: 64512,
  nodeToNodeMeshEnabled: true,
  listenPort: 179,
  logSeverityScreen: 'Info',
};

/** Agent defaults, filled into the FelixConfiguration named "default" (same rule as above). */
export const FELIX_CONFIGURATION_DEFAULTS: Readonly<FelixConfigurationSpec> = {
  interfacePrefix: 'tw',
  iptablesMarkMask: 0xffff0000,
  iptablesRefreshInterval: '90s',
  routeRefreshInterval: '90s',
  iptablesBackend: 'Auto',
  defaultEndpointToHostAction: 'Drop',
  logSeverityScreen: 'Info',
  ipv6Support: true,
  healthEnabled: true,
  healthPort: 9099,
  prometheusMetricsEnabled: false,
  prometheusMetricsPort: 9091,
  routeProtocol: 84, // RTPROT_TWILL (src/netlink); twill-bgp owns 85
};

/**
 * Host ports that stay open whatever the policy says (so a bad policy cannot cut a host off from
 * SSH, DHCP, BGP, etcd or the Kubernetes API). The agent uses these when the FelixConfiguration
 * does not list its own; they are not written into the object.
 */
export const DEFAULT_FAILSAFE_INBOUND: readonly { protocol: 'TCP' | 'UDP'; port: number }[] = [
  { protocol: 'TCP', port: 22 },
  { protocol: 'UDP', port: 68 },
  { protocol: 'TCP', port: 179 },
  { protocol: 'TCP', port: 2379 },
  { protocol: 'TCP', port: 2380 },
  { protocol: 'TCP', port: 6443 },
];
export const DEFAULT_FAILSAFE_OUTBOUND: readonly { protocol: 'TCP' | 'UDP'; port: number }[] = [
  { protocol: 'UDP', port: 53 },
  { protocol: 'UDP', port: 67 },
  { protocol: 'TCP', port: 179 },
  { protocol: 'TCP', port: 2379 },
  { protocol: 'TCP', port: 2380 },
  { protocol: 'TCP', port: 6443 },
];

const INTERNAL = new Set<Kind>(INTERNAL_KINDS);

function fill<T extends object>(target: T, defaults: Partial<T>): void {
  for (const [k, v] of Object.entries(defaults)) {
    const key = k as keyof T;
    if (target[key] === undefined) target[key] = structuredClone(v) as T[keyof T];
  }
}

/**
 * A copy of `r` with defaults filled in: namespace "default" for namespaced kinds; IPPool
 * blockSize (26 / 122), nodeSelector all(), natOutgoing and disabled false; policy selector
 * all() and types as Calico defaults them: Egress alone when there are egress rules and no
 * ingress rules, both when there are both, Ingress otherwise (the Kubernetes controller sets
 * types explicitly from policyTypes, so Kubernetes semantics are kept there);
 * network sets an empty nets list; the cluster defaults of the BGPConfiguration and
 * FelixConfiguration named "default". Applying it twice changes nothing more.
 */
export function withDefaults<R extends Resource>(r: R): R {
  const out = structuredClone(r) as Resource;
  if (INTERNAL.has(out.kind)) return out as R;
  if (isNamespaced(out.kind) && out.metadata.namespace === undefined) out.metadata.namespace = DEFAULT_NAMESPACE;
  // A kind whose spec fields are all optional may be written without spec.
  if (out.spec === undefined || out.spec === null) (out as { spec: unknown }).spec = {};
  switch (out.kind) {
    case 'IPPool': {
      const s = out.spec;
      s.blockSize ??= typeof s.cidr === 'string' && s.cidr.includes(':') ? DEFAULT_BLOCK_SIZE[6] : DEFAULT_BLOCK_SIZE[4];
      s.nodeSelector ??= DEFAULT_SELECTOR;
      s.natOutgoing ??= false;
      s.disabled ??= false;
      break;
    }
    case 'NetworkPolicy':
    case 'GlobalNetworkPolicy': {
      const s = out.spec;
      s.selector ??= DEFAULT_SELECTOR;
      const hasIngress = (s.ingress?.length ?? 0) > 0;
      const hasEgress = (s.egress?.length ?? 0) > 0;
      s.types ??= hasEgress ? (hasIngress ? ['Ingress', 'Egress'] : ['Egress']) : ['Ingress'];
      break;
    }
    case 'NetworkSet':
    case 'GlobalNetworkSet':
      out.spec.nets ??= [];
      break;
    case 'BGPConfiguration':
      if (out.metadata.name === 'default') fill(out.spec, BGP_CONFIGURATION_DEFAULTS);
      break;
    case 'FelixConfiguration':
      if (out.metadata.name === 'default') fill(out.spec, FELIX_CONFIGURATION_DEFAULTS);
      break;
    default:
      break;
  }
  return out as R;
}
