// The pure translation: the datastore objects the agent holds → the speaker's SpeakerConfig for
// one node, who each neighbour is, and what is wrong. No I/O, no clock, never throws for bad
// input: a problem is reported and never widens what is exported.

import type { SpeakerConfig } from '../server/types.js';
import { readCluster, routerIdOf } from './cluster.js';
import { AGENT_MAX_PATHS, DEFAULT_RESTART_TIME, planPeers } from './peers.js';
import { planRoutes } from './routes.js';
import type { AgentBuild, AgentSnapshot } from './types.js';

export function buildSpeakerConfig(s: AgentSnapshot, nodeName: string): AgentBuild {
  const problems: string[] = [];
  const cluster = readCluster(s, problems);
  const me = cluster.nodes.get(nodeName);
  if (me === undefined) {
    problems.push(`Node ${nodeName}: no such Node resource yet; BGP starts once twill-node has registered it`);
    return { config: undefined, peers: new Map(), problems: [...new Set(problems)].sort() };
  }
  if (me.addr[4] === undefined && me.addr[6] === undefined) {
    problems.push(
      `Node ${nodeName}: no BGP address (spec.bgp.ipv4Address / ipv6Address); BGP is not started. ` +
        'Start twill-node with --node-ip ADDR/LEN or --ip-autodetection, or set the address on the Node',
    );
    return { config: undefined, peers: new Map(), problems: [...new Set(problems)].sort() };
  }
  const routes = planRoutes(s, nodeName, cluster, problems);
  const { neighbors, peers } = planPeers(s.bgpPeers, cluster, me, routes, problems);
  const config: SpeakerConfig = {
    routerId: routerIdOf(me),
    asn: me.asn,
    listen: { port: me.port },
    neighbors,
    originate: routes.originate,
    maxPaths: AGENT_MAX_PATHS,
    gracefulRestart: { enabled: true, restartTime: DEFAULT_RESTART_TIME },
  };
  const nextHop: { ipv4?: string; ipv6?: string } = {};
  if (me.addrText[4] !== undefined) nextHop.ipv4 = me.addrText[4];
  if (me.addrText[6] !== undefined) nextHop.ipv6 = me.addrText[6];
  config.nextHop = nextHop;
  if (me.clusterId !== undefined) config.clusterId = me.clusterId;
  return { config, peers, problems: [...new Set(problems)].sort() };
}
