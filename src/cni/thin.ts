// The thin path: hand {env, stdin} to a running CNI server (twill-node, or `twill-cni serve`) over
// its unix socket and print what it answers. Imports nothing but node:net and node:fs (both in
// Node's start-up snapshot), so a call costs Node's start-up plus the work the warm server does.
import { readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import type { CniAnswer, CniRequest } from '../../cni/server.js';

/** The default socket (src/nodeapi/defaults.ts DEFAULT_CNI_SOCKET, written out to keep this module bare). */
export const DEFAULT_SOCKET = '/run/twill/cni.sock';

export interface ServedOutput {
  stdout: string;
  exitCode: number;
}

/** Where to send the call: `$TWILL_CNI_SOCKET`, else the configuration's "socket" ("" = never), else the default. */
export function socketFor(stdin: string, env: Record<string, string | undefined>): { path: string; explicit: boolean } {
  if (env.TWILL_CNI_SOCKET !== undefined) return { path: env.TWILL_CNI_SOCKET, explicit: true };
  try {
    const s = (JSON.parse(stdin) as { socket?: unknown }).socket;
    if (typeof s === 'string') return { path: s, explicit: true };
  } catch {
    // the full path reports bad JSON
  }
  return { path: DEFAULT_SOCKET, explicit: false };
}

function netns(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/net');
  } catch {
    return undefined;
  }
}

/** The server's answer, or undefined when no server serves this call (then run in-process). */
export function viaServer(socket: { path: string; explicit: boolean }, env: Record<string, string | undefined>, stdin: string): Promise<ServedOutput | undefined> {
  if (socket.path === '') return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const c = connect(socket.path);
    let answered = false;
    const chunks: Buffer[] = [];
    c.on('connect', () => {
      answered = true;
      const cni: Record<string, string> = {};
      for (const [k, v] of Object.entries(env)) if (v !== undefined && (k.startsWith('CNI_') || k.startsWith('TWILL_'))) cni[k] = v;
      const ns = netns();
      const req: CniRequest = { env: cni, stdin, explicit: socket.explicit, ...(ns !== undefined ? { netns: ns } : {}) };
      c.end(JSON.stringify(req));
    });
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('error', () => {
      // Not listening: fall back. A server that vanished mid-call: fall back too (ADD/DEL are
      // idempotent, so running the command again in-process is safe).
      resolve(undefined);
    });
    c.on('close', () => {
      if (!answered) return resolve(undefined);
      try {
        const out = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CniAnswer;
        // notServed: a server of another network namespace (reached through the default socket).
        resolve(out.notServed === undefined && typeof out.stdout === 'string' && typeof out.exitCode === 'number' ? out : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
