// One valid example of every public kind, as a user would write it (no defaults filled in).

import type { PublicKind } from '../../../src/api/types.js';

export const VALID: Record<PublicKind, Record<string, unknown>> = {
  Node: {
    apiVersion: 'twill.io/v1',
    kind: 'Node',
    metadata: { name: 'host-1', labels: { rack: 'r1', 'topology.kubernetes.io/zone': 'z1' } },
    spec: {
      bgp: { ipv4Address: '192.0.2.11/24', ipv6Address: '2001:db8::11/64', asNumber: 64512, routeReflectorClusterID: '224.0.0.1' },
      orchRefs: [{ orchestrator: 'k8s', nodeName: 'host-1' }],
    },
    status: { agentVersion: '0.1.0', lastHeartbeat: '2024-05-01T12:00:00Z' },
  },
  WorkloadEndpoint: {
    apiVersion: 'twill.io/v1',
    kind: 'WorkloadEndpoint',
    metadata: { name: 'host-1-k8s-web-0-eth0', namespace: 'shop', labels: { app: 'web' } },
    spec: {
      node: 'host-1',
      orchestrator: 'k8s',
      pod: 'web-0',
      endpoint: 'eth0',
      containerID: 'abc123',
      interfaceName: 'tw1a2b3c4d5e6',
      mac: 'ee:ee:ee:ee:ee:ee',
      ipNetworks: ['10.65.0.5/32', 'fd5e:7a11::5/128'],
      profiles: ['kns.shop'],
      ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    },
  },
  HostEndpoint: {
    apiVersion: 'twill.io/v1',
    kind: 'HostEndpoint',
    metadata: { name: 'host-1-eth0', labels: { role: 'edge' } },
    spec: { node: 'host-1', interfaceName: 'eth0', expectedIPs: ['192.0.2.11'] },
  },
  IPPool: {
    apiVersion: 'twill.io/v1',
    kind: 'IPPool',
    metadata: { name: 'pool-v4' },
    spec: { cidr: '10.65.0.0/16', natOutgoing: true },
  },
  Profile: {
    apiVersion: 'twill.io/v1',
    kind: 'Profile',
    metadata: { name: 'zone-dmz' },
    spec: {
      ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [443] } }],
      egress: [{ action: 'Allow' }],
      labelsToApply: { zone: 'dmz' },
    },
  },
  NetworkPolicy: {
    apiVersion: 'twill.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'allow-web', namespace: 'shop' },
    spec: {
      order: 100,
      selector: "app == 'web'",
      ingress: [
        {
          action: 'Allow',
          protocol: 'TCP',
          source: { selector: "role == 'frontend'", nets: ['198.51.100.0/24'] },
          destination: { ports: [80, '8000:8080', 'http'] },
        },
        { action: 'Allow', protocol: 'ICMP', icmp: { type: 8, code: 0 } },
      ],
      egress: [{ action: 'Allow', protocol: 'UDP', destination: { ports: [53] } }],
    },
  },
  GlobalNetworkPolicy: {
    apiVersion: 'twill.io/v1',
    kind: 'GlobalNetworkPolicy',
    metadata: { name: 'deny-external' },
    spec: {
      order: 10,
      selector: 'has(edge)',
      namespaceSelector: 'all()',
      applyOnForward: true,
      preDNAT: true,
      ingress: [{ action: 'Deny', source: { notNets: ['10.0.0.0/8'] } }],
    },
  },
  NetworkSet: {
    apiVersion: 'twill.io/v1',
    kind: 'NetworkSet',
    metadata: { name: 'partners', labels: { trust: 'partner' } },
    spec: { nets: ['203.0.113.0/24'] },
  },
  GlobalNetworkSet: {
    apiVersion: 'twill.io/v1',
    kind: 'GlobalNetworkSet',
    metadata: { name: 'scanners' },
    spec: { nets: ['198.18.0.0/15', '2001:db8:1::/48'] },
  },
  BGPPeer: {
    apiVersion: 'twill.io/v1',
    kind: 'BGPPeer',
    metadata: { name: 'tor-rack1' },
    spec: {
      nodeSelector: "rack == 'r1'",
      peerIP: '198.18.0.1',
      asNumber: 65000,
      password: { secretKeyRef: { name: 'bgp-secrets', key: 'tor' } },
      keepaliveTime: '30s',
      holdTime: '90s',
    },
  },
  BGPConfiguration: {
    apiVersion: 'twill.io/v1',
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: {
      serviceClusterIPs: [{ cidr: '10.96.0.0/12' }],
      communities: [{ name: 'cluster', value: '64512:100' }],
      prefixAdvertisements: [{ cidr: '10.65.0.0/16', communities: ['cluster', '64512:200'] }],
    },
  },
  FelixConfiguration: {
    apiVersion: 'twill.io/v1',
    kind: 'FelixConfiguration',
    metadata: { name: 'default' },
    spec: { logSeverityScreen: 'Debug', failsafeInboundHostPorts: [{ protocol: 'TCP', port: 22 }] },
  },
};

/** A deep copy with `patch` applied at a dotted path ("spec.ingress.0.action"); undefined deletes. */
export function withField(base: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(base);
  const keys = path.split('.');
  let o: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) {
    o[k] ??= {};
    o = o[k] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1] ?? '';
  if (value === undefined) delete o[last];
  else o[last] = value;
  return copy;
}
