// Errors raised by the iptables/ipset adapters, real and fake alike.
import { TwillError } from '../errors.js';
import type { Family, IptablesBackend } from './types.js';

export interface IptablesRestoreFailure {
  family: Family;
  backend: IptablesBackend;
  netns?: string;
  /** The table whose section held the rejected line (`*filter` → 'filter'). */
  table?: string;
  /** 1-based line number in the text we sent, after mapping iptables' report back to our text. */
  lineNumber?: number;
  /** That line's text. */
  line?: string;
  /** What iptables-restore printed (or what the fake would have printed). */
  stderr: string;
  exitCode?: number;
}

function where(f: { family?: Family; backend?: IptablesBackend; netns?: string | undefined }): string {
  const parts: string[] = [];
  if (f.backend) parts.push(f.backend);
  if (f.family) parts.push(f.family === 4 ? 'IPv4' : 'IPv6');
  parts.push(f.netns ? `netns ${f.netns}` : 'host netns');
  return parts.join(', ');
}

function firstMeaningfulLine(stderr: string): string {
  for (const l of stderr.split('\n')) {
    const t = l.trim();
    if (t === '' || t.startsWith('#') || t.startsWith('Try `')) continue;
    return t;
  }
  return '(no message)';
}

/** iptables-restore / ip6tables-restore refused the text. Nothing of the failing table was applied. */
export class IptablesRestoreError extends TwillError {
  readonly family: Family;
  readonly backend: IptablesBackend;
  readonly netns: string | undefined;
  readonly table: string | undefined;
  readonly lineNumber: number | undefined;
  readonly line: string | undefined;
  readonly stderr: string;
  readonly exitCode: number | undefined;

  constructor(f: IptablesRestoreFailure) {
    const tool = f.family === 6 ? 'ip6tables-restore' : 'iptables-restore';
    const at =
      f.lineNumber !== undefined
        ? ` line ${f.lineNumber}${f.table ? ` (table ${f.table})` : ''}${f.line !== undefined ? `: ${JSON.stringify(f.line)}` : ''}`
        : f.table
          ? ` table ${f.table}`
          : ' the input';
    super('IptablesRestore', `${tool} (${where(f)}) rejected${at}: ${firstMeaningfulLine(f.stderr)}`, {
      hint: 'nothing of the table section holding that line was applied (sections COMMITted before it were); fix the rendered rule, or resync from iptables-save, and retry',
    });
    this.family = f.family;
    this.backend = f.backend;
    this.netns = f.netns;
    this.table = f.table;
    this.lineNumber = f.lineNumber;
    this.line = f.line;
    this.stderr = f.stderr;
    this.exitCode = f.exitCode;
  }
}

export interface IpsetRestoreFailure {
  netns?: string;
  lineNumber?: number;
  line?: string;
  stderr: string;
  exitCode?: number;
}

/** `ipset restore` refused a line. Lines before it WERE applied (ipset restore is not atomic). */
export class IpsetRestoreError extends TwillError {
  readonly netns: string | undefined;
  readonly lineNumber: number | undefined;
  readonly line: string | undefined;
  readonly stderr: string;
  readonly exitCode: number | undefined;

  constructor(f: IpsetRestoreFailure) {
    const at =
      f.lineNumber !== undefined
        ? ` line ${f.lineNumber}${f.line !== undefined ? `: ${JSON.stringify(f.line)}` : ''}`
        : ' the input';
    super('IpsetRestore', `ipset restore (${where({ netns: f.netns })}) rejected${at}: ${firstMeaningfulLine(f.stderr)}`, {
      hint: 'lines before the rejected one were applied; re-read the sets with "ipset list" before retrying',
    });
    this.netns = f.netns;
    this.lineNumber = f.lineNumber;
    this.line = f.line;
    this.stderr = f.stderr;
    this.exitCode = f.exitCode;
  }
}

/** A netfilter tool could not run or failed outside restore (save, list, missing binary or netns). */
export class NetfilterCommandError extends TwillError {
  constructor(
    readonly command: string,
    readonly stderr: string,
    readonly exitCode: number | undefined,
    readonly netns: string | undefined,
    hint?: string,
    cause?: unknown,
  ) {
    super(
      'NetfilterCommand',
      `${command} (${where({ netns })}) failed${exitCode !== undefined ? ` with exit code ${exitCode}` : ''}: ${firstMeaningfulLine(stderr)}`,
      { hint: hint ?? 'check that iptables/ipset are installed and that the command is valid', cause },
    );
  }
}

/** A value we were asked to use is not acceptable (bad backend override, bad table name...). */
export class IptablesUsageError extends TwillError {
  constructor(message: string, hint?: string) {
    super('IptablesUsage', message, hint !== undefined ? { hint } : undefined);
  }
}
