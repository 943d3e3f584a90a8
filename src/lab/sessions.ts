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

/**
 * The host's kernel against its agent's desired state (`twillctl verify`'s Verify RPC): a one-line
 * summary of every difference, or why the agent did not answer.
 */
export async function nodeKernel(socket: string): Promise<{ ok: boolean; detail: string }> {
  const { NodeApiClient } = await import('../nodeapi/client.js');
  const c = new NodeApiClient(socket);
  try {
    const r = await c.verify();
    if (r.differences.length === 0) return { ok: true, detail: 'no differences (twillctl verify)' };
    const shown = r.differences.slice(0, 5).map((d) => `${d.kind} ${d.object}: expected ${d.expected}, actual ${d.actual}`);
    const more = r.differences.length - shown.length;
    return { ok: false, detail: `${shown.join('; ')}${more > 0 ? `; and ${more} more (twillctl verify --api-socket ${socket})` : ''}` };
  } catch (e) {
    return { ok: false, detail: errorMessage(e) };
  } finally {
    c.close();
  }
}
