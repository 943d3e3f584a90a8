// The datastore kinds the BGP agent needs. The node's one syncer watches these (among others)
// and forwards them to the agent as plain data (the speaker may run in a worker thread).

import type { Kind } from '../../src/api/types.js';

export const BGP_AGENT_KINDS = ['Node', 'BGPConfiguration', 'BGPPeer', 'IPAMBlock', 'IPPool'] as const satisfies readonly Kind[];

export type BgpAgentKind = (typeof BGP_AGENT_KINDS)[number];

const KIND_SET: ReadonlySet<Kind> = new Set<Kind>(BGP_AGENT_KINDS);

export function isBgpAgentKind(kind: Kind): kind is BgpAgentKind {
  return KIND_SET.has(kind);
}
