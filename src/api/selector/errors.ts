// The one error the selector language raises.

import { TwillError } from '../../errors.js';

/**
 * Quotes text for an error message: in double quotes when that needs no escaping, else in single
 * quotes when that needs none, else as a JSON string.
 */
export function quoteForMessage(text: string): string {
  const plain = !/[\\\u0000-\u001f\u007f]/.test(text);
  if (plain && !text.includes('"')) return `"${text}"`;
  if (plain && !text.includes("'")) return `'${text}'`;
  return JSON.stringify(text);
}

/**
 * A selector string that does not parse. `position` is the 0-based offset in `selector` where the
 * problem was found; `expected` says what would have been valid there.
 */
export class SelectorParseError extends TwillError {
  readonly selector: string;
  readonly position: number;
  readonly expected: string;
  /** What was found at `position` instead ("end of input", or the offending text quoted). */
  readonly found: string;
  /** How to fix a common mistake, when we recognise one. Also part of the message. */
  readonly suggestion: string | undefined;

  constructor(
    selector: string,
    position: number,
    expected: string,
    found: string,
    suggestion?: string,
  ) {
    const where = `selector ${quoteForMessage(selector)}`;
    const base = `${where}: expected ${expected} at position ${position} (${found})`;
    super('SelectorParse', suggestion ? `${base}: ${suggestion}` : base);
    this.selector = selector;
    this.position = position;
    this.expected = expected;
    this.found = found;
    this.suggestion = suggestion;
  }
}
