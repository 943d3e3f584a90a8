// Runs the BUILT twill-node inside a host namespace, for the privileged felix tests.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const TWILL_NODE_MAIN = resolve(__dirname, '../../../dist/src/node/main.js');

export interface TwillNodeProcess {
  readonly pid: number;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Sends a signal (by PID). */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** The last 20 kB of its output. */
  log(): string;
  /** Every complete line of its output so far (only with `keepLines`). */
  lines(): string[];
}

export function startTwillNode(hostNs: string, nodeName: string, datastore: string, extra: string[] = [], opts: { keepLines?: boolean } = {}): TwillNodeProcess {
  if (!existsSync(TWILL_NODE_MAIN)) throw new Error(`${TWILL_NODE_MAIN} is missing: run "npm run build" first`);
  const p = spawn('ip', ['netns', 'exec', hostNs, process.execPath, TWILL_NODE_MAIN, '--node-name', nodeName, '--datastore', datastore, '--health-port', '0', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const lines: string[] = [];
  const partial = { stdout: '', stderr: '' };
  const keepFrom = (stream: 'stdout' | 'stderr') => (x: Buffer): void => {
    out = (out + x.toString()).slice(-20_000);
    if (!opts.keepLines) return;
    const parts = (partial[stream] + x.toString()).split('\n');
    partial[stream] = parts.pop() ?? '';
    lines.push(...parts);
  };
  p.stdout?.on('data', keepFrom('stdout'));
  p.stderr?.on('data', keepFrom('stderr'));
  const exited = new Promise<number | null>((res) => p.once('exit', (code) => res(code)));
  return {
    pid: p.pid ?? -1,
    exited,
    kill: (signal) => {
      if (p.exitCode === null && p.signalCode === null) p.kill(signal);
    },
    log: () => out,
    lines: () => lines.slice(),
    stop: () =>
      new Promise((res) => {
        if (p.exitCode !== null || p.signalCode !== null) return res(p.exitCode);
        p.once('exit', (code) => res(code));
        p.kill('SIGTERM');
      }),
  };
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
