// Base of every error Twill raises on purpose. Each carries a stable `code` a program can switch
// on, and a message that says what went wrong and what to do about it.
//
// One code style in every layer: PascalCase, naming what went wrong (`NotFound`, `PoolExhausted`,
// `DataplaneWriteFailing`); BGP's codes start with `Bgp` (`BgpSockoptFailed`, and for a protocol
// error its RFC name: `BgpUpdateMalformedAsPath`). test/unit/lib/error-codes.test.ts checks it.

export class TwillError extends Error {
  readonly code: string;
  /** What the user can do about it, when there is something to say beyond the message. */
  readonly hint: string | undefined;

  constructor(code: string, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    this.code = code;
    this.hint = options?.hint;
  }

  /** Message plus hint, for printing to a user. */
  describe(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }
}

export function errorMessage(e: unknown): string {
  if (e instanceof TwillError) return e.describe();
  if (e instanceof Error) return e.message;
  return String(e);
}
