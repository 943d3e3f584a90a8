// Shared helpers for the IPAM unit tests (memory datastore).
import { API_VERSION, type IPPoolResource, type NodeResource, type WorkloadEndpointResource, type IPAMConfigResource } from '../../../src/api/types.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';

export async function memoryStore(): Promise<Datastore> {
  return openDatastore('memory:');
}

export function pool(name: string, cidr: string, spec: Partial<IPPoolResource['spec']> = {}): IPPoolResource {
  return { apiVersion: API_VERSION, kind: 'IPPool', metadata: { name }, spec: { cidr, ...spec } };
}

export function node(name: string, labels?: Record<string, string>): NodeResource {
  return { apiVersion: API_VERSION, kind: 'Node', metadata: { name, ...(labels ? { labels } : {}) }, spec: {} };
}

export function wep(name: string, nodeName: string, ips: string[], containerID?: string): WorkloadEndpointResource {
  return {
    apiVersion: API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: { name, namespace: 'default' },
    spec: { node: nodeName, interfaceName: `tw${name.slice(0, 8)}`, ipNetworks: ips.map((ip) => `${ip}/${ip.includes(':') ? 128 : 32}`), ...(containerID ? { containerID } : {}) },
  };
}

export function ipamConfig(spec: IPAMConfigResource['spec']): IPAMConfigResource {
  return { apiVersion: API_VERSION, kind: 'IPAMConfig', metadata: { name: 'default' }, spec };
}

/** A snapshot of the whole store, to show that a failed operation changed nothing. */
export async function snapshot(ds: Datastore): Promise<string> {
  const kinds = ['IPPool', 'IPAMBlock', 'BlockAffinity', 'IPAMHandle', 'Node', 'WorkloadEndpoint', 'IPAMConfig'] as const;
  const all = await Promise.all(kinds.map((kind) => ds.list({ kind })));
  return JSON.stringify(all.map((l) => l.items));
}
