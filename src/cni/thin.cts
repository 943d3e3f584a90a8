// The thin path: hand {env, stdin} to a running CNI server (twill-node, or `twill-cni serve`) over
// its unix socket and print what it answers. A CommonJS module (no ESM loader to start) that
// imports nothing but node:net and node:fs, so a call costs Node's start-up plus the work the
// warm server does.
import { readSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import type { CniAnswer, CniRequest } from '../../cni/server-wire.js';

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
    let timer: NodeJS.Timeout | undefined;
    const chunks: Buffer[] = [];
    c.on('connect', () => {
      answered = true;
      // A server that took the call but never answers (stopped, wedged): a clear error, not a hang.
      const ms = callTimeoutMs(env);
      timer = setTimeout(() => {
        c.removeAllListeners('close');
        c.destroy();
        resolve(tryAgain(stdin, `the CNI server on ${socket.path} took the call but did not answer within ${ms / 1000} s`, 'check that twill-node on this host is running and not stopped or overloaded (twillctl node status), then retry'));
      }, ms);
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
      clearTimeout(timer);
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

/** How long a server that accepted a call may take to answer: `$TWILL_CNI_CALL_TIMEOUT_MS`, default 60 s (ADD waits up to policySetupTimeout, 10 s by default). */
export function callTimeoutMs(env: Record<string, string | undefined>): number {
  const v = Number(env.TWILL_CNI_CALL_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : 60_000;
}

/** The CNI error "try again later" (code 11), in the configuration's cniVersion. */
function tryAgain(stdin: string, msg: string, details: string): ServedOutput {
  let cniVersion = '1.0.0';
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    if (typeof v === 'string') cniVersion = v;
  } catch {
    // keep the default
  }
  return { stdout: `${JSON.stringify({ cniVersion, code: 11, msg, details })}\n`, exitCode: 1 };
}

/**
 * All of stdin: read synchronously while it blocks (a pipe: no stream machinery to load); a
 * non-blocking one (EAGAIN, e.g. a socket from Node's child_process) is read on as a stream.
 */
export async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  const buf = Buffer.allocUnsafe(65536);
  for (;;) {
    let n: number;
    try {
      n = readSync(0, buf, 0, buf.length, null);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EOF') break;
      if (code !== 'EAGAIN') throw e;
      for await (const c of process.stdin) chunks.push(c as Buffer);
      break;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Prints a served answer and exits with its code. */
export function finish(out: ServedOutput): void {
  process.stdout.write(out.stdout, () => process.exit(out.exitCode));
}
