// A read of everything IPAM-related, for show / check / gc (one list per kind, in parallel).

import type {
  BlockAffinityResource,
  IPAMBlockResource,
  IPAMConfigResource,
  IPAMHandleResource,
  IPPoolResource,
  NodeResource,
  WorkloadEndpointResource,
} from '../src/api/types.js';
import { formatIp, parseCidr } from '../src/api/cidr.js';
import type { Datastore } from '../src/datastore/types.js';
import { allocationsOf, type Secondary } from './block.js';
import { parsePools, type IpamPool } from './pools.js';

export interface IpamState {
  pools: IpamPool[];
  invalidPools: { name: string; reason: string }[];
  blocks: IPAMBlockResource[];
  affinities: BlockAffinityResource[];
  handles: IPAMHandleResource[];
  nodes: Set<string>;
  workloadEndpoints: WorkloadEndpointResource[];
  config: IPAMConfigResource | undefined;
}

export async function readIpamState(ds: Datastore): Promise<IpamState> {
  const [pools, blocks, affinities, handles, nodes, weps, config] = await Promise.all([
    ds.list<IPPoolResource>({ kind: 'IPPool' }),
    ds.list<IPAMBlockResource>({ kind: 'IPAMBlock' }),
    ds.list<BlockAffinityResource>({ kind: 'BlockAffinity' }),
    ds.list<IPAMHandleResource>({ kind: 'IPAMHandle' }),
    ds.list<NodeResource>({ kind: 'Node' }),
    ds.list<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint' }),
    ds.get<IPAMConfigResource>({ kind: 'IPAMConfig', name: 'default' }),
  ]);
  const p = parsePools(pools.items);
  return {
    pools: p.pools,
    invalidPools: p.invalid,
    blocks: blocks.items,
    affinities: affinities.items,
    handles: handles.items,
    nodes: new Set(nodes.items.map((n) => n.metadata.name)),
    workloadEndpoints: weps.items,
    config,
  };
}

export interface Allocation {
  ip: string;
  block: string;
  blockName: string;
  ordinal: number;
  handleID: string | undefined;
  attrs: Secondary;
  sequence: number;
}

/** Every allocation in every parsable block. */
export function allAllocations(state: IpamState): Allocation[] {
  const out: Allocation[] = [];
  for (const b of state.blocks) {
    try {
      parseCidr(b.spec.cidr);
    } catch {
      continue;
    }
    for (const a of allocationsOf(b.spec)) {
      out.push({
        ip: a.ip,
        block: b.spec.cidr,
        blockName: b.metadata.name,
        ordinal: a.ordinal,
        handleID: a.handleID,
        attrs: a.secondary ?? {},
        sequence: a.sequence,
      });
    }
  }
  return out;
}

/** Address (canonical text) → the workload endpoints that list it. */
export function endpointAddresses(state: IpamState): Map<string, WorkloadEndpointResource[]> {
  const m = new Map<string, WorkloadEndpointResource[]>();
  for (const w of state.workloadEndpoints) {
    for (const net of w.spec.ipNetworks ?? []) {
      let ip: string;
      try {
        ip = formatIp(parseCidr(net, { allowBare: true, strict: false }));
      } catch {
        continue;
      }
      const l = m.get(ip);
      if (l) l.push(w);
      else m.set(ip, [w]);
    }
  }
  return m;
}
