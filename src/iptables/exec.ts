// Running one netfilter tool, optionally inside a network namespace: exactly one process per call
// (`nsenter --net=PATH -- tool ...` execs the tool in place), input fed on stdin.
import { execa } from 'execa';
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
  const r = await execa(file, args, {
    reject: false,
    stripFinalNewline: false,
    ...(input !== undefined ? { input } : { stdin: 'ignore' as const }),
  });
  const stdout = typeof r.stdout === 'string' ? r.stdout : '';
  const stderr = typeof r.stderr === 'string' ? r.stderr : '';
  if (r.failed && r.exitCode === undefined) {
    // spawn failure (ENOENT etc.) or a signal
    const missing = (r as { code?: string }).code === 'ENOENT';
    throw new NetfilterCommandError(
      argv.join(' '),
      stderr || ('message' in r && typeof r.message === 'string' ? r.message : 'could not start'),
      undefined,
      target.netns,
      missing ? `${file} is not installed or not on PATH` : undefined,
      r.cause,
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
  return { exitCode: r.exitCode ?? -1, stdout, stderr };
}
