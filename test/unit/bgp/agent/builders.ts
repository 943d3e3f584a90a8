// Resources for the BGP agent tests, and helpers to read a built config.
import { API_VERSION, type BGPConfigurationSpec, type BGPPeerSpec, type IPAMBlockResource, type NodeSpec, type Resource } from '../../../../src/api/types.js';
import { parseCidr } from '../../../../src/api/cidr.js';
import type { SyncEvent } from '../../../../src/datastore/syncer.js';
import { allocateOrdinals, newBlockSpec } from '../../../../ipam/block.js';
import { blockName } from '../../../../ipam/names.js';
import { BgpAgentInputs, type AgentBuild } from '../../../../bgp/agent/index.js';
import { compilePolicy } from '../../../../bgp/rib/policy.js';
import { parsePrefix } from '../../../../bgp/packet/index.js';
import type { NeighborConfig, PrefixPolicy } from '../../../../bgp/server/types.js';

export function node(name: string, ipv4?: string, bgp: NodeSpec['bgp'] = {}, labels: Record<string, string> = {}): Resource {
  return {
    apiVersion: API_VERSION,
    kind: 'Node',
    metadata: { name, labels },
    spec: { bgp: { ...(ipv4 !== undefined ? { ipv4Address: ipv4 } : {}), ...bgp } },
  };
}

export function bgpPeer(name: string, spec: BGPPeerSpec): Resource {
  return { apiVersion: API_VERSION, kind: 'BGPPeer', metadata: { name }, spec };
}

export function bgpConfig(spec: BGPConfigurationSpec, name = 'default'): Resource {
  return { apiVersion: API_VERSION, kind: 'BGPConfiguration', metadata: { name }, spec };
}

export function pool(name: string, cidr: string, blockSize?: number): Resource {
  return { apiVersion: API_VERSION, kind: 'IPPool', metadata: { name }, spec: { cidr, ...(blockSize !== undefined ? { blockSize } : {}) } };
}

/** A block affine to `owner`; allocs[i] = the node whose workload holds ordinal i. */
export function block(cidr: string, owner: string | undefined, allocs: string[] = []): IPAMBlockResource {
  const spec = newBlockSpec(parseCidr(cidr), owner === undefined ? undefined : `host:${owner}`, false);
  for (const [i, n] of allocs.entries()) allocateOrdinals(spec, 1, `k8s.c${i}`, { node: n });
  return { apiVersion: API_VERSION, kind: 'IPAMBlock', metadata: { name: blockName(cidr) }, spec };
}

export function sets(rs: Resource[]): SyncEvent[] {
  return rs.map((resource) => ({ type: 'set', resource }));
}

export function build(rs: Resource[], nodeName: string): AgentBuild {
  const s = new BgpAgentInputs();
  s.apply(sets(rs));
  return s.build(nodeName);
}

export function neighbor(b: AgentBuild, address: string): NeighborConfig {
  const n = b.config?.neighbors.find((x) => x.address === address);
  if (n === undefined) throw new Error(`no neighbour ${address} in ${JSON.stringify(b.config?.neighbors.map((x) => x.address))}`);
  return n;
}

/** What a prefix policy (as the speaker compiles it) says about each prefix. */
export function verdicts(p: PrefixPolicy | undefined, prefixes: string[]): Record<string, 'accept' | 'reject'> {
  if (p === undefined) throw new Error('no policy');
  const c = compilePolicy(p, 'test');
  return Object.fromEntries(prefixes.map((x) => [x, c.accepts(parsePrefix(x)) ? 'accept' : 'reject']));
}
