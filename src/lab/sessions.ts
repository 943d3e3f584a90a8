// A host's BGP sessions, as `twillctl node status` reports them from that host's twill-node.
import { spawnSync } from 'node:child_process';
import { PROGRAMS } from './paths.js';

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

export function nodeSessions(socket: string): NodeSessions {
  const r = spawnSync(process.execPath, [PROGRAMS.twillctl, 'node', 'status', '--api-socket', socket, '-o', 'json'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return { ok: false, peers: [], error: `${r.stdout}${r.stderr}`.trim() };
  try {
    const j = JSON.parse(r.stdout) as { peers?: { peerAddress: string; peerType: string; state: string; since?: string; info?: string }[]; status?: { policy?: { ready?: boolean } } };
    const peers = (j.peers ?? []).map((p) => ({ peerAddress: p.peerAddress, peerType: p.peerType, state: p.state, ...(p.since ? { since: p.since } : {}), ...(p.info ? { info: p.info } : {}) }));
    return { ok: true, peers, ...(j.status?.policy?.ready !== undefined ? { ready: j.status.policy.ready } : {}) };
  } catch (e) {
    return { ok: false, peers: [], error: `unreadable answer: ${(e as Error).message}` };
  }
}
