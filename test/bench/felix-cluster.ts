// The cluster of the felix, node and explain benchmarks: `endpoints` endpoints in 10 namespaces
// (the first `local` on node NODE, then `local` per node "node-K"), one profile per namespace
// allowing everything, and `policies` NetworkPolicies each selecting one app (ingress: TCP from a
// group on two ports, UDP denied from a tier; egress: TCP to a group on 5432).
import type { NetworkPolicyResource, ProfileResource, Resource, WorkloadEndpointResource } from '../../src/api/types.js';
import type { Datastore, TxnOp } from '../../src/datastore/types.js';

export interface ClusterSize {
  endpoints: number;
  local: number;
  policies: number;
}

export const NAMESPACES = 10;
export const APPS = 50;
export const GROUPS = 1000;
export const NODE = 'bench-host';

export function ipOf(i: number): string {
  return `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

export function endpoint(i: number, local: number, app = i % APPS, group = i % GROUPS): WorkloadEndpointResource {
  const isLocal = i < local;
  return {
    apiVersion: 'twill.io/v1',
    kind: 'WorkloadEndpoint',
    metadata: { name: `wep-${i}`, namespace: `ns${i % NAMESPACES}`, labels: { app: `app-${app}`, group: `g${group}`, tier: ['frontend', 'backend', 'db'][i % 3]! } },
    spec: {
      node: isLocal ? NODE : `node-${1 + Math.floor(i / local)}`,
      interfaceName: `twb${i.toString(16).padStart(5, '0')}`,
      ipNetworks: [`${ipOf(i)}/32`],
      profiles: [`kns.ns${i % NAMESPACES}`],
    },
  };
}

export function policy(p: number): NetworkPolicyResource {
  const x = p % NAMESPACES;
  const app = x + NAMESPACES * (Math.floor(p / NAMESPACES) % (APPS / NAMESPACES));
  return {
    apiVersion: 'twill.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `pol-${p}`, namespace: `ns${x}` },
    spec: {
      order: p,
      selector: `app == 'app-${app}'`,
      types: ['Ingress', 'Egress'],
      ingress: [
        { action: 'Allow', protocol: 'TCP', source: { selector: `group == 'g${p % GROUPS}'` }, destination: { ports: [80 + (p % 10), 443] } },
        { action: 'Deny', protocol: 'UDP', source: { selector: `tier == 'db'` } },
      ],
      egress: [{ action: 'Allow', protocol: 'TCP', destination: { selector: `group == 'g${(p + 7) % GROUPS}'`, ports: [5432] } }],
    },
  };
}

/** Every object of the cluster: profiles, endpoints, policies. */
export function clusterResources(size: ClusterSize): Resource[] {
  const objs: Resource[] = [];
  for (let n = 0; n < NAMESPACES; n++) {
    const prof: ProfileResource = { apiVersion: 'twill.io/v1', kind: 'Profile', metadata: { name: `kns.ns${n}`, labels: {} }, spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] } };
    objs.push(prof);
  }
  for (let i = 0; i < size.endpoints; i++) objs.push(endpoint(i, size.local));
  for (let p = 0; p < size.policies; p++) objs.push(policy(p));
  return objs;
}

/** Writes the cluster into a datastore, 100 objects per transaction. */
export async function loadCluster(ds: Datastore, size: ClusterSize): Promise<void> {
  const objs = clusterResources(size);
  for (let i = 0; i < objs.length; i += 100) await ds.txn(objs.slice(i, i + 100).map((resource): TxnOp => ({ op: 'create', resource })));
}
