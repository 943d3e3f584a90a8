// How twillctl ends: which exit code an error maps to (the table is src/lib/exit-codes.ts, the
// same in every program) and how an error is shown.
//
//   0  success
//   1  the user asked for something wrong (bad input, missing object, conflict, ...): every
//      TwillError that is not about reaching the datastore
//   2  the command line is wrong: commander's parse errors (unknown option, too many arguments,
//      a bad choice), or no command at all
//   3  the datastore could not be reached (the message names the address tried), or its file is
//      held by another process; or no twill-node agent answers on its socket (`node ...`)
//   4  a check ran fine and found problems (commands set ctx.exitCode = EXIT_PROBLEMS)

import { InUseError, UnreachableError } from '../datastore/errors.js';
import { TwillError, errorMessage } from '../errors.js';
import { NodeApiUnreachableError } from '../nodeapi/errors.js';
import type { CliIo } from '../lib/cli-io.js';
import { EXIT_FAILED, EXIT_UNREACHABLE } from '../lib/exit-codes.js';

export { EXIT_FAILED, EXIT_OK, EXIT_PROBLEMS, EXIT_UNREACHABLE, EXIT_USAGE } from '../lib/exit-codes.js';

/**
 * Ends a command with this exit code. When `message` is absent the command has already printed
 * what the user needs to know.
 */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message?: string,
  ) {
    super(message ?? '');
    this.name = 'CliExit';
  }
}

/** A mistake in how twillctl was called or in what it was given (exit 1). */
export class CliUserError extends TwillError {
  constructor(code: string, message: string, options?: { hint?: string; cause?: unknown }) {
    super(code, message, options);
  }
}

export function exitCodeFor(e: unknown): number {
  if (e instanceof CliExit) return e.exitCode;
  if (e instanceof UnreachableError || e instanceof InUseError || e instanceof NodeApiUnreachableError) return EXIT_UNREACHABLE;
  return EXIT_FAILED;
}

/** Prints an error for a person and returns the exit code it maps to. */
export function reportError(e: unknown, io: CliIo): number {
  const code = exitCodeFor(e);
  if (e instanceof CliExit) {
    if (e.message) io.stderr(`error: ${e.message}\n`);
    return code;
  }
  if (e instanceof TwillError) {
    io.stderr(`error: ${errorMessage(e)}\n`);
    return code;
  }
  // Not raised on purpose: a bug or an unexpected library failure. Say so plainly.
  const detail = e instanceof Error ? (io.env.TWILL_DEBUG ? (e.stack ?? e.message) : e.message) : String(e);
  io.stderr(`error: internal error: ${detail}\n  hint: this is a bug in twillctl; rerun with TWILL_DEBUG=1 for a stack trace and report it\n`);
  return code;
}
