// A host's BGP sessions, as `twillctl node status` reports them from that host's twill-node.
import { spawnSync } from 'node:child_process';
import { PROGRAMS } from './paths.js';

export interface SessionRow {
  peerAddress: string;
  peerType: string;
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
    const j = JSON.parse(r.stdout) as { peers?: SessionRow[]; agent?: { ready?: boolean } };
    return { ok: true, peers: j.peers ?? [], ...(j.agent?.ready !== undefined ? { ready: j.agent.ready } : {}) };
  } catch (e) {
    return { ok: false, peers: [], error: `unreadable answer: ${(e as Error).message}` };
  }
}
