// A host's BGP sessions, read from that host's twill-node over its local API (src/nodeapi), the
// same answer `twillctl node status` prints. gRPC is loaded on first use.
import { errorMessage } from '../errors.js';

export interface SessionRow {
  peerAddress: string;
  peerType: string;
  /** The BGP FSM state (Established, Active, ...). */
  state: string;
  since?: string;
  info?: string;
}

export interface NodeSessions {
  /** The agent answered. */
  ok: boolean;
  ready?: boolean;
  peers: SessionRow[];
  error?: string;
}

export async function nodeSessions(socket: string): Promise<NodeSessions> {
  const { NodeApiClient } = await import('../nodeapi/client.js');
  const c = new NodeApiClient(socket);
  try {
    const [status, peers] = await Promise.all([c.status(), c.peers()]);
    return {
      ok: true,
      ready: status.policy.ready,
      peers: peers.map((p) => ({ peerAddress: p.peerAddress, peerType: p.peerType, state: p.state, since: p.since.toISOString(), ...(p.info ? { info: p.info } : {}) })),
    };
  } catch (e) {
    return { ok: false, peers: [], error: errorMessage(e) };
  } finally {
    c.close();
  }
}
