// Kubernetes' NetworkPolicy e2e layout as Twill resources (what `twill-lab up --example xyz`
// writes): namespaces x, y, z (profiles kns.<ns> from v1 Namespace documents), pods a, b, c in
// each on hosts h1, h2, h3, endpoints as twill-cni writes them in Kubernetes mode.
import type { Resource, WorkloadEndpointResource } from '../../../src/api/types.js';
import { convertNamespace } from '../../../src/kube/index.js';

import { ALL, NAMESPACES, PODS } from '../../support/netpol-cases.js';


export function podIp(id: string): string {
  const [n, p] = id.split('/') as [string, string];
  return `10.65.${NAMESPACES.indexOf(n as 'x') + 1}.${PODS.indexOf(p as 'a') + 1}`;
}

export function namespaceDoc(n: string): unknown {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name: n, labels: { ns: n, 'kubernetes.io/metadata.name': n } } };
}

export function endpoint(id: string): WorkloadEndpointResource {
  const [n, p] = id.split('/') as [string, string];
  const node = `h${PODS.indexOf(p as 'a') + 1}`;
  return {
    apiVersion: 'twill.io/v1',
    kind: 'WorkloadEndpoint',
    metadata: { name: `${node}-k8s-${p}-eth0`, namespace: n, labels: { pod: p } },
    spec: {
      node,
      orchestrator: 'k8s',
      workload: p,
      pod: p,
      endpoint: 'eth0',
      interfaceName: `tw${n}${p}`,
      ipNetworks: [`${podIp(id)}/32`],
      profiles: [`kns.${n}`],
      ports: [
        { name: 'serve-80-tcp', protocol: 'TCP', port: 80 },
        { name: 'serve-81-tcp', protocol: 'TCP', port: 81 },
        { name: 'serve-80-udp', protocol: 'UDP', port: 80 },
        { name: 'serve-81-udp', protocol: 'UDP', port: 81 },
      ],
    },
  };
}

export function xyzResources(): Resource[] {
  return [...NAMESPACES.map((n) => convertNamespace(namespaceDoc(n))), ...ALL.map(endpoint)];
}
