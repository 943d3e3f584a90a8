// Table columns per kind for `twillctl get` (-o table, and -o wide which adds more), chosen to
// match what a calicoctl user looks for first.

import type { PublicKind, Resource, ResourceByKind, Rule } from '../../api/types.js';

export interface Column {
  readonly header: string;
  value(r: Resource): string;
}

type ColumnSpec<K extends PublicKind> = {
  header: string;
  value(r: ResourceByKind[K]): string;
  /** Only with -o wide. */
  wide?: boolean;
};

const list = (xs: readonly (string | number)[] | undefined): string => (xs && xs.length > 0 ? xs.join(',') : '');
const flag = (b: boolean | undefined): string => (b ? 'true' : 'false');
const labels = (m: Record<string, string> | undefined): string =>
  m ? Object.entries(m).map(([k, v]) => `${k}=${v}`).join(',') : '';
const count = (rules: Rule[] | undefined): string => String(rules?.length ?? 0);

const name = { header: 'NAME', value: (r: Resource) => r.metadata.name };

const COLUMNS: { [K in PublicKind]: ColumnSpec<K>[] } = {
  Node: [
    name,
    { header: 'ASN', value: (r) => (r.spec.bgp?.asNumber !== undefined ? String(r.spec.bgp.asNumber) : '(64512)'), wide: true },
    { header: 'IPV4', value: (r) => r.spec.bgp?.ipv4Address ?? '', wide: true },
    { header: 'IPV6', value: (r) => r.spec.bgp?.ipv6Address ?? '', wide: true },
    { header: 'RR-CLUSTER-ID', value: (r) => r.spec.bgp?.routeReflectorClusterID ?? '', wide: true },
    { header: 'AGENT', value: (r) => r.status?.agentVersion ?? '', wide: true },
  ],
  WorkloadEndpoint: [
    name,
    { header: 'WORKLOAD', value: (r) => r.spec.workload ?? r.spec.pod ?? '', wide: true },
    { header: 'NODE', value: (r) => r.spec.node },
    { header: 'NETWORKS', value: (r) => list(r.spec.ipNetworks) },
    { header: 'INTERFACE', value: (r) => r.spec.interfaceName },
    { header: 'PROFILES', value: (r) => list(r.spec.profiles), wide: true },
    { header: 'PROGRAMMED', value: (r) => flag(r.status?.programmed), wide: true },
  ],
  HostEndpoint: [
    name,
    { header: 'NODE', value: (r) => r.spec.node },
    { header: 'INTERFACE', value: (r) => r.spec.interfaceName ?? '', wide: true },
    { header: 'IPS', value: (r) => list(r.spec.expectedIPs), wide: true },
    { header: 'PROFILES', value: (r) => list(r.spec.profiles), wide: true },
  ],
  IPPool: [
    name,
    { header: 'CIDR', value: (r) => r.spec.cidr },
    { header: 'BLOCKSIZE', value: (r) => (r.spec.blockSize !== undefined ? String(r.spec.blockSize) : ''), wide: true },
    { header: 'NAT', value: (r) => flag(r.spec.natOutgoing) },
    { header: 'DISABLED', value: (r) => flag(r.spec.disabled) },
    { header: 'SELECTOR', value: (r) => r.spec.nodeSelector ?? 'all()', wide: true },
  ],
  Profile: [
    name,
    { header: 'LABELS-TO-APPLY', value: (r) => labels(r.spec.labelsToApply), wide: true },
    { header: 'INGRESS', value: (r) => count(r.spec.ingress), wide: true },
    { header: 'EGRESS', value: (r) => count(r.spec.egress), wide: true },
  ],
  NetworkPolicy: [
    name,
    { header: 'ORDER', value: (r) => (r.spec.order !== undefined ? String(r.spec.order) : '') },
    { header: 'SELECTOR', value: (r) => r.spec.selector ?? 'all()' },
    { header: 'TYPES', value: (r) => list(r.spec.types), wide: true },
    { header: 'INGRESS', value: (r) => count(r.spec.ingress), wide: true },
    { header: 'EGRESS', value: (r) => count(r.spec.egress), wide: true },
  ],
  GlobalNetworkPolicy: [
    name,
    { header: 'ORDER', value: (r) => (r.spec.order !== undefined ? String(r.spec.order) : '') },
    { header: 'SELECTOR', value: (r) => r.spec.selector ?? 'all()' },
    { header: 'TYPES', value: (r) => list(r.spec.types), wide: true },
    { header: 'INGRESS', value: (r) => count(r.spec.ingress), wide: true },
    { header: 'EGRESS', value: (r) => count(r.spec.egress), wide: true },
    { header: 'NAMESPACE-SELECTOR', value: (r) => r.spec.namespaceSelector ?? '', wide: true },
  ],
  NetworkSet: [
    name,
    { header: 'NETS', value: (r) => list(r.spec.nets) },
    { header: 'LABELS', value: (r) => labels(r.metadata.labels), wide: true },
  ],
  GlobalNetworkSet: [
    name,
    { header: 'NETS', value: (r) => list(r.spec.nets) },
    { header: 'LABELS', value: (r) => labels(r.metadata.labels), wide: true },
  ],
  BGPPeer: [
    name,
    { header: 'PEERIP', value: (r) => r.spec.peerIP ?? (r.spec.peerSelector ? `(selector) ${r.spec.peerSelector}` : '') },
    { header: 'NODE', value: (r) => r.spec.node ?? r.spec.nodeSelector ?? '(global)' },
    { header: 'ASN', value: (r) => (r.spec.asNumber !== undefined ? String(r.spec.asNumber) : '') },
    { header: 'KEEPALIVE', value: (r) => r.spec.keepaliveTime ?? '', wide: true },
    { header: 'HOLD', value: (r) => r.spec.holdTime ?? '', wide: true },
    { header: 'PASSWORD', value: (r) => (r.spec.password ? 'set' : ''), wide: true },
  ],
  BGPConfiguration: [
    name,
    { header: 'LOGSEVERITY', value: (r) => r.spec.logSeverityScreen ?? '' },
    { header: 'MESHENABLED', value: (r) => (r.spec.nodeToNodeMeshEnabled === undefined ? '' : flag(r.spec.nodeToNodeMeshEnabled)) },
    { header: 'ASNUMBER', value: (r) => (r.spec.asNumber !== undefined ? String(r.spec.asNumber) : '') },
    { header: 'LISTENPORT', value: (r) => (r.spec.listenPort !== undefined ? String(r.spec.listenPort) : ''), wide: true },
  ],
  FelixConfiguration: [
    name,
    { header: 'INTERFACEPREFIX', value: (r) => r.spec.interfacePrefix ?? '', wide: true },
    { header: 'IPTABLESBACKEND', value: (r) => r.spec.iptablesBackend ?? '', wide: true },
    { header: 'LOGSEVERITY', value: (r) => r.spec.logSeverityScreen ?? '', wide: true },
  ],
};

/**
 * The columns `get` prints for a kind. With `allNamespaces`, namespaced kinds get a NAMESPACE
 * column first.
 */
export function columnsFor(kind: PublicKind, opts: { wide: boolean; allNamespaces: boolean; namespaced: boolean }): Column[] {
  const specs = COLUMNS[kind] as ColumnSpec<PublicKind>[];
  const cols: Column[] = specs
    .filter((c) => opts.wide || !c.wide)
    .map((c) => ({ header: c.header, value: (r: Resource) => c.value(r as ResourceByKind[PublicKind]) }));
  if (opts.allNamespaces && opts.namespaced) {
    cols.unshift({ header: 'NAMESPACE', value: (r) => r.metadata.namespace ?? 'default' });
  }
  return cols;
}
