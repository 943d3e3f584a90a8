// Errors the twill-bgp daemon and its client raise on purpose.
import { TwillError } from '../../src/errors.js';

/** One thing wrong in a config file, located by line and by field path. */
export interface ConfigProblem {
  /** 1-based line in the file (0 when the whole file is at fault and has no line). */
  line: number;
  /** "neighbors[0].asn"; "" for the document itself. */
  path: string;
  message: string;
}

export function formatProblem(file: string, p: ConfigProblem): string {
  const where = p.line > 0 ? `${file}:${p.line}` : file;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** A config file that cannot be used. The message lists every problem, one per line, by line. */
export class ConfigError extends TwillError {
  readonly file: string;
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: readonly ConfigProblem[], hint?: string) {
    const sorted = [...problems].sort((a, b) => a.line - b.line);
    super('BgpDaemonConfigInvalid', sorted.map((p) => formatProblem(file, p)).join('\n'), hint ? { hint } : undefined);
    this.file = file;
    this.problems = sorted;
  }
}

/** The daemon's API endpoint could not be reached or answered with an error. */
export class ApiError extends TwillError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super('BgpDaemonApi', message, { hint, cause });
  }
}

/** The daemon's API endpoint did not answer (not running, wrong --api, timed out). */
export class ApiUnreachableError extends ApiError {}

/** A bad --api address (not unix:///path or host:port). */
export class ApiAddressError extends TwillError {
  constructor(address: string) {
    super('BgpDaemonApiAddress', `--api "${address}" is not an API address`, {
      hint: 'use unix:///run/twill/bgp.sock (a unix socket) or 127.0.0.1:50051',
    });
  }
}
