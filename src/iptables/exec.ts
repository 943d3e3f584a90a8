// Running one netfilter tool, optionally inside a network namespace: exactly one process per call
// (`nsenter --net=PATH -- tool ...` execs the tool in place), input fed on stdin.
import { spawn } from 'node:child_process';
import { posixSpawn, posixSpawnAvailable, SpawnError } from './posix-spawn.js';
import { NetfilterCommandError } from './errors.js';
import type { NetnsTarget } from './types.js';

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** The namespace file for a target: a bare name lives under /run/netns. */
export function netnsPath(netns: string): string {
  return netns.includes('/') ? netns : `/run/netns/${netns}`;
}

/** The argv that runs `argv` in the target's network namespace. */
export function inNetns(target: NetnsTarget, argv: readonly string[]): string[] {
  if (target.netns === undefined || target.netns === '') return [...argv];
  return ['nsenter', `--net=${netnsPath(target.netns)}`, '--', ...argv];
}

/**
 * Run a tool. A non-zero exit is returned, not thrown (callers turn it into their own error); a
 * tool that cannot start at all, or a namespace that cannot be entered, throws NetfilterCommandError.
 */
export async function run(target: NetnsTarget, argv: readonly string[], input?: string): Promise<RunResult> {
  const full = inNetns(target, argv);
  const [file, ...args] = full as [string, ...string[]];
  const r = posixSpawnAvailable() ? await viaPosixSpawn(full, input) : await viaNodeSpawn(file, args, input);
  const { stdout, stderr } = r;
  if (r.exitCode === undefined) {
    // spawn failure (ENOENT etc.) or a signal
    const missing = r.error?.code === 'ENOENT';
    throw new NetfilterCommandError(
      argv.join(' '),
      stderr || r.error?.message || 'could not start (or was killed by a signal)',
      undefined,
      target.netns,
      missing ? `${file} is not installed or not on PATH` : undefined,
      r.error,
    );
  }
  if (target.netns && r.exitCode !== 0 && /^nsenter: /m.test(stderr)) {
    throw new NetfilterCommandError(
      argv.join(' '),
      stderr,
      r.exitCode,
      target.netns,
      `check that the network namespace ${netnsPath(target.netns)} exists and that we are root`,
    );
  }
  return { exitCode: r.exitCode, stdout, stderr };
}

type Outcome = { exitCode: number | undefined; stdout: string; stderr: string; error?: NodeJS.ErrnoException };

/** posix_spawn (posix-spawn.ts): no fork of this process, so about 1 ms whatever its size. */
async function viaPosixSpawn(argv: readonly string[], input: string | undefined): Promise<Outcome> {
  try {
    return await posixSpawn(argv, input);
  } catch (e) {
    const code = e instanceof SpawnError && e.errno === 2 ? 'ENOENT' : 'EIO';
    const error: NodeJS.ErrnoException = Object.assign(new Error(e instanceof Error ? e.message : String(e)), { code });
    return { exitCode: undefined, stdout: '', stderr: '', error };
  }
}

/** node:child_process (where posix_spawn or pidfd_open is missing). */
function viaNodeSpawn(file: string, args: readonly string[], input: string | undefined): Promise<Outcome> {
  return new Promise((resolve) => {
    const p = spawn(file, args, { stdio: [input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let failed: NodeJS.ErrnoException | undefined;
    p.stdout!.on('data', (d: Buffer) => out.push(d));
    p.stderr!.on('data', (d: Buffer) => err.push(d));
    p.on('error', (e: NodeJS.ErrnoException) => {
      failed = e;
      // Never started (ENOENT, EACCES): there may be no 'close' to wait for.
      if (p.pid === undefined) resolve({ exitCode: undefined, stdout: '', stderr: '', error: e });
    });
    if (p.stdin) {
      // A tool that exits before reading all its input (EPIPE) reports why on stderr.
      p.stdin.on('error', () => undefined);
      p.stdin.end(input);
    }
    p.on('close', (code) => {
      resolve({ exitCode: code ?? undefined, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), ...(failed ? { error: failed } : {}) });
    });
  });
}
