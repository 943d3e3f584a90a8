// The agent's input store: datastore updates and deletions in, in any order, a sorted snapshot
// out. Objects are kept as given (the syncer hands each consumer its own) and never changed. Like felix/calc, the result depends only on the objects present, never on the order in
// which they arrived.

import type { BGPConfigurationResource, BGPPeerResource, IPAMBlockResource, IPPoolResource, NodeResource, Resource } from '../../src/api/types.js';
import type { SyncEvent } from '../../src/datastore/syncer.js';
import { buildSpeakerConfig } from './build.js';
import { isBgpAgentKind, type BgpAgentKind } from './kinds.js';
import type { AgentBuild, AgentSnapshot } from './types.js';

function sortedValues<R>(m: Map<string, R>): R[] {
  return [...m.keys()].sort().map((k) => m.get(k)!);
}

export class BgpAgentInputs {
  private readonly byKind: Record<BgpAgentKind, Map<string, Resource>> = {
    Node: new Map(),
    BGPConfiguration: new Map(),
    BGPPeer: new Map(),
    IPAMBlock: new Map(),
    IPPool: new Map(),
  };
  private version = 0;
  /** Sorted lists per kind, made again only after that kind changed. */
  private readonly sorted: Partial<Record<BgpAgentKind, Resource[]>> = {};

  /** Applies a batch of syncer events; other kinds are ignored. */
  apply(events: readonly SyncEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'set') {
        const r = ev.resource;
        if (!isBgpAgentKind(r.kind)) continue;
        this.byKind[r.kind].set(r.metadata.name, r);
        delete this.sorted[r.kind];
        this.version++;
      } else if (isBgpAgentKind(ev.key.kind)) {
        if (this.byKind[ev.key.kind].delete(ev.key.name)) {
          delete this.sorted[ev.key.kind];
          this.version++;
        }
      }
    }
  }

  /** Bumped by every change: a caller may skip build() while it is unchanged. */
  get changes(): number {
    return this.version;
  }

  private list(kind: BgpAgentKind): Resource[] {
    return (this.sorted[kind] ??= sortedValues(this.byKind[kind]));
  }

  /** Everything applied so far. The lists are shared with later snapshots: do not change them. */
  snapshot(): AgentSnapshot {
    return {
      nodes: this.list('Node') as NodeResource[],
      bgpConfigurations: this.list('BGPConfiguration') as BGPConfigurationResource[],
      bgpPeers: this.list('BGPPeer') as BGPPeerResource[],
      ipamBlocks: this.list('IPAMBlock') as IPAMBlockResource[],
      ipPools: this.list('IPPool') as IPPoolResource[],
    };
  }

  /** The speaker configuration for `nodeName` from everything applied so far. */
  build(nodeName: string): AgentBuild {
    return buildSpeakerConfig(this.snapshot(), nodeName);
  }
}
