// What the BGP agent's translation produces. See ./README.md.

import type { BGPConfigurationResource, BGPPeerResource, IPAMBlockResource, IPPoolResource, NodeResource } from '../../src/api/types.js';
import type { SpeakerConfig } from '../server/types.js';

/**
 * How `twillctl node status` names a peering (Calico's words). A peering with one of our route
 * reflector clients, or with a reflector we are a client of, says so; otherwise it says where it
 * came from: the mesh, a BGPPeer for every node, or a BGPPeer for some nodes (`node` or
 * `nodeSelector`).
 */
export type PeerType = 'node-to-node mesh' | 'global' | 'node specific' | 'route reflector' | 'route reflector client';

export interface PeerInfo {
  type: PeerType;
  /** The object the peering comes from: "BGPPeer NAME", or "Node NAME" (the peer) for the mesh. */
  resource: string;
  /** The peer is one of the cluster's nodes: its name. */
  node?: string;
}

export interface AgentBuild {
  /**
   * The speaker's whole configuration, or undefined when this node cannot speak BGP (no Node
   * resource, or no BGP address): then the speaker should not run, and `problems` says why.
   */
  config: SpeakerConfig | undefined;
  /** Neighbour address (as in config.neighbors) → what it is. */
  peers: Map<string, PeerInfo>;
  /** Human sentences, sorted: each names the object at fault and what to do. Never thrown. */
  problems: string[];
}

/** The agent's inputs, each list sorted by name (so nothing depends on arrival order). */
export interface AgentSnapshot {
  nodes: readonly NodeResource[];
  bgpConfigurations: readonly BGPConfigurationResource[];
  bgpPeers: readonly BGPPeerResource[];
  ipamBlocks: readonly IPAMBlockResource[];
  ipPools: readonly IPPoolResource[];
}
