// Turning what iptables-restore / ipset restore print on failure into an error that names the
// exact line of OUR text. Pure; unit tested against the messages the real tools print.
import { IpsetRestoreError, IptablesRestoreError } from './errors.js';
import { splitArgs } from './tokens.js';
import type { Family, IptablesBackend } from './types.js';

const LINE_PATTERNS: RegExp[] = [
  /Error occurred at line: (\d+)/, // parse errors (both backends)
  /line (\d+) failed/, // "iptables-restore: line 4 failed[: reason]"
  /^line (\d+): /m, // nft commit-time errors: "line 2: CHAIN_DEL failed (...)"
  /COMMIT expected at line (\d+)/,
  /Error in line (\d+):/, // ipset
  /\bline (\d+)\b/, // anything else that names a line
];

/** The line number a netfilter tool reported, if any. */
export function reportedLine(stderr: string): number | undefined {
  for (const re of LINE_PATTERNS) {
    const m = re.exec(stderr);
    if (m) return Number(m[1]);
  }
  return undefined;
}

function lines(text: string): string[] {
  return text.split('\n');
}

function safeArgs(line: string): string[] {
  try {
    return splitArgs(line);
  } catch {
    return line.trim().split(/\s+/);
  }
}

/** The table section (`*name`) that line `n` (1-based) belongs to, and where that section starts. */
function tableAt(ls: string[], n: number): { table?: string; start: number } {
  for (let i = Math.min(n, ls.length) - 1; i >= 0; i--) {
    const l = ls[i]!.trim();
    if (l.startsWith('*')) return { table: l.slice(1).trim(), start: i + 1 };
  }
  return { start: 1 };
}

function jumpsTo(line: string, chain: string): boolean {
  const a = safeArgs(line);
  for (let i = 0; i + 1 < a.length; i++) {
    const o = a[i];
    if ((o === '-j' || o === '--jump' || o === '-g' || o === '--goto') && a[i + 1] === chain) return true;
  }
  return false;
}

function usesSet(line: string, set: string): boolean {
  const a = safeArgs(line);
  for (let i = 0; i + 1 < a.length; i++) if (a[i] === '--match-set' && a[i + 1] === set) return true;
  return false;
}

/**
 * iptables-nft reports a jump to a missing chain at the table's COMMIT line, not at the rule. When
 * the message names the missing chain (or set), point at the first line of that table section
 * that refers to it.
 */
function refine(ls: string[], n: number, stderr: string, start: number): number {
  const chain = /Chain '([^']+)' does not exist/.exec(stderr)?.[1] ?? /Couldn't load target `([^']+)'/.exec(stderr)?.[1];
  const set = /Set (\S+) doesn't exist/.exec(stderr)?.[1];
  const reported = ls[n - 1] ?? '';
  if (chain !== undefined && !jumpsTo(reported, chain)) {
    for (let i = start; i <= Math.min(n, ls.length); i++) if (jumpsTo(ls[i - 1]!, chain)) return i;
  }
  if (set !== undefined && !usesSet(reported, set)) {
    for (let i = start; i <= Math.min(n, ls.length); i++) if (usesSet(ls[i - 1]!, set)) return i;
  }
  return n;
}

export interface RestoreContext {
  family: Family;
  backend: IptablesBackend;
  netns?: string;
  exitCode?: number;
}

/** Build the error for a failed iptables-restore of `text` that printed `stderr`. */
export function iptablesRestoreError(text: string, stderr: string, ctx: RestoreContext): IptablesRestoreError {
  const ls = lines(text);
  const reported = reportedLine(stderr);
  const base = {
    family: ctx.family,
    backend: ctx.backend,
    stderr,
    ...(ctx.netns !== undefined ? { netns: ctx.netns } : {}),
    ...(ctx.exitCode !== undefined ? { exitCode: ctx.exitCode } : {}),
  };
  if (reported === undefined || reported < 1) return new IptablesRestoreError(base);
  const { table, start } = tableAt(ls, reported);
  const n = refine(ls, reported, stderr, start);
  const line = ls[n - 1];
  return new IptablesRestoreError({
    ...base,
    lineNumber: n,
    ...(table !== undefined ? { table } : {}),
    ...(line !== undefined ? { line } : {}),
  });
}

/** Build the error for a failed `ipset restore` of `text` that printed `stderr`. */
export function ipsetRestoreError(
  text: string,
  stderr: string,
  ctx: { netns?: string; exitCode?: number },
): IpsetRestoreError {
  const ls = lines(text);
  let n = reportedLine(stderr);
  if (n === undefined) {
    // Argument errors name no line ("Unknown argument: `garbage'"): find the first line with that word.
    const word = /`([^'`]+)'/.exec(stderr)?.[1] ?? /unknown argument (\S+)/i.exec(stderr)?.[1];
    if (word !== undefined) {
      const i = ls.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('#') && safeArgs(l).includes(word));
      if (i >= 0) n = i + 1;
    }
  }
  const line = n !== undefined ? ls[n - 1] : undefined;
  return new IpsetRestoreError({
    stderr,
    ...(ctx.netns !== undefined ? { netns: ctx.netns } : {}),
    ...(ctx.exitCode !== undefined ? { exitCode: ctx.exitCode } : {}),
    ...(n !== undefined ? { lineNumber: n } : {}),
    ...(line !== undefined ? { line } : {}),
  });
}
