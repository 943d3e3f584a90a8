// Resource builders for felix calc/rules tests: short to write, valid as a user would store them.

import type {
  BlockAffinityResource,
  EndpointPort,
  FelixConfigurationSpec,
  FelixConfigurationResource,
  GlobalNetworkPolicyResource,
  GlobalNetworkPolicySpec,
  GlobalNetworkSetResource,
  IPAMBlockResource,
  IPPoolResource,
  NetworkPolicyResource,
  NetworkPolicySpec,
  NetworkSetResource,
  ProfileResource,
  ProfileSpec,
  Resource,
  ResourceKey,
  WorkloadEndpointResource,
} from '../../../../src/api/types.js';
import { keyOf } from '../../../../src/api/types.js';
import type { SyncEvent } from '../../../../src/datastore/syncer.js';

const V = 'twill.io/v1' as const;

export interface WepOpts {
  ns?: string;
  node?: string;
  iface?: string;
  ips?: string[];
  labels?: Record<string, string>;
  profiles?: string[];
  ports?: EndpointPort[];
  sa?: string;
  orchestrator?: string;
}

export function wep(name: string, o: WepOpts = {}): WorkloadEndpointResource {
  const spec: WorkloadEndpointResource['spec'] = {
    node: o.node ?? 'host1',
    interfaceName: o.iface ?? `tw${name}`.slice(0, 15),
    ipNetworks: o.ips ?? [],
  };
  if (o.profiles !== undefined) spec.profiles = o.profiles;
  if (o.ports !== undefined) spec.ports = o.ports;
  if (o.sa !== undefined) spec.serviceAccountName = o.sa;
  if (o.orchestrator !== undefined) spec.orchestrator = o.orchestrator;
  return {
    apiVersion: V,
    kind: 'WorkloadEndpoint',
    metadata: { name, namespace: o.ns ?? 'default', ...(o.labels ? { labels: o.labels } : {}) },
    spec,
  };
}

export function np(name: string, spec: NetworkPolicySpec, ns = 'default'): NetworkPolicyResource {
  return { apiVersion: V, kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec };
}

export function gnp(name: string, spec: GlobalNetworkPolicySpec): GlobalNetworkPolicyResource {
  return { apiVersion: V, kind: 'GlobalNetworkPolicy', metadata: { name }, spec };
}

export function profile(name: string, spec: ProfileSpec = {}): ProfileResource {
  return { apiVersion: V, kind: 'Profile', metadata: { name }, spec };
}

export function netset(name: string, nets: string[], labels: Record<string, string>, ns = 'default'): NetworkSetResource {
  return { apiVersion: V, kind: 'NetworkSet', metadata: { name, namespace: ns, labels }, spec: { nets } };
}

export function gnetset(name: string, nets: string[], labels: Record<string, string>): GlobalNetworkSetResource {
  return { apiVersion: V, kind: 'GlobalNetworkSet', metadata: { name, labels }, spec: { nets } };
}

export function pool(name: string, cidr: string, natOutgoing = false): IPPoolResource {
  return { apiVersion: V, kind: 'IPPool', metadata: { name }, spec: { cidr, natOutgoing } };
}

export function block(cidr: string, node: string | undefined, deleted = false): IPAMBlockResource {
  const size = 2 ** (32 - Number(cidr.split('/')[1]));
  return {
    apiVersion: V,
    kind: 'IPAMBlock',
    metadata: { name: cidr.replace(/[./]/g, '-') },
    spec: {
      cidr,
      ...(node !== undefined ? { affinity: `host:${node}` } : {}),
      allocations: new Array<number | null>(size).fill(null),
      unallocated: [],
      attributes: [],
      sequenceNumbers: new Array<number>(size).fill(0),
      ...(deleted ? { deleted: true } : {}),
    },
  };
}

export function affinity(node: string, cidr: string, state: 'pending' | 'confirmed' | 'pendingDeletion'): BlockAffinityResource {
  return {
    apiVersion: V,
    kind: 'BlockAffinity',
    metadata: { name: `${node}-${cidr.replace(/[./]/g, '-')}` },
    spec: { node, cidr, state },
  };
}

export function felixConfig(name: string, spec: FelixConfigurationSpec): FelixConfigurationResource {
  return { apiVersion: V, kind: 'FelixConfiguration', metadata: { name }, spec };
}

export function set(r: Resource): SyncEvent {
  return { type: 'set', resource: r };
}

export function del(r: Resource | ResourceKey): SyncEvent {
  return { type: 'deleted', key: 'metadata' in r ? keyOf(r) : r };
}
