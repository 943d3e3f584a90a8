// The thin path: hand {env, stdin} to a running `twill-cni serve` over its unix socket and print
// what it answers. Imports nothing but node:net, so a call costs Node's start-up plus the work
// the warm server does (datastore connection, IPAM cache and netlink already loaded).
import { connect } from 'node:net';

export const DEFAULT_SOCKET = '/run/twill/cni.sock';

export interface ServedOutput {
  stdout: string;
  exitCode: number;
}

/** The socket the configuration names ("socket"; "" = never use a server), else the default. */
export function socketFor(stdin: string, env: Record<string, string | undefined>): string {
  if (env.TWILL_CNI_SOCKET !== undefined) return env.TWILL_CNI_SOCKET;
  try {
    const s = (JSON.parse(stdin) as { socket?: unknown }).socket;
    if (typeof s === 'string') return s;
  } catch {
    // the full path reports bad JSON
  }
  return DEFAULT_SOCKET;
}

/** The server's answer, or undefined when no server listens there (then run in-process). */
export function viaServer(socket: string, env: Record<string, string | undefined>, stdin: string): Promise<ServedOutput | undefined> {
  if (socket === '') return Promise.resolve(undefined);
  return new Promise((resolve) => {
    const c = connect(socket);
    let answered = false;
    let buf = '';
    c.on('connect', () => {
      answered = true;
      const cni: Record<string, string> = {};
      for (const [k, v] of Object.entries(env)) if (v !== undefined && (k.startsWith('CNI_') || k.startsWith('TWILL_'))) cni[k] = v;
      c.end(JSON.stringify({ env: cni, stdin }));
    });
    c.on('data', (d: Buffer) => (buf += d.toString()));
    c.on('error', () => {
      // Not listening: fall back. A server that vanished mid-call: fall back too (ADD/DEL are
      // idempotent, so running the command again in-process is safe).
      resolve(undefined);
    });
    c.on('close', () => {
      if (!answered) return resolve(undefined);
      try {
        const out = JSON.parse(buf) as ServedOutput;
        resolve(typeof out.stdout === 'string' && typeof out.exitCode === 'number' ? out : undefined);
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
