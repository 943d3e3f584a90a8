// Splits selector text into tokens. Characters that are never valid become `bad` tokens rather
// than errors, so the parser can say what it expected there (and suggest `==` for `=`, etc.).
// The one error raised here is an unterminated string.

import { SelectorParseError } from './errors.js';

export type PunctText = '(' | ')' | '{' | '}' | ',' | '&&' | '||' | '==' | '!=' | '!';

export type Token =
  /** A word: a label key, a function name, or an operator word (in, not, contains, ...). */
  | { readonly type: 'ident'; readonly text: string; readonly pos: number }
  /** A quoted string; `value` has quotes removed and escapes resolved. */
  | { readonly type: 'string'; readonly value: string; readonly text: string; readonly pos: number }
  | { readonly type: 'punct'; readonly text: PunctText; readonly pos: number }
  /** Text that is never valid (e.g. a lone '=' or '&'). */
  | { readonly type: 'bad'; readonly text: string; readonly pos: number }
  | { readonly type: 'eof'; readonly pos: number };

function isIdentChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2d || // -
    c === 0x2e || // .
    c === 0x2f || // /
    c === 0x5f // _
  );
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

const TWO_CHAR: ReadonlySet<string> = new Set(['&&', '||', '==', '!=']);
const ONE_CHAR: ReadonlySet<string> = new Set(['(', ')', '{', '}', ',', '!']);

/**
 * Reads a quoted string starting at `start` (the opening quote). Inside, `\\`, `\"` and `\'` are
 * escapes; any other backslash is an ordinary character (so Calico-style strings without escapes
 * read the same).
 */
function readString(text: string, start: number): { value: string; end: number } {
  const quote = text[start] as string;
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i] as string;
    if (ch === quote) return { value, end: i + 1 };
    if (ch === '\\') {
      const next = text[i + 1];
      if (next === '\\' || next === '"' || next === "'") {
        value += next;
        i += 2;
        continue;
      }
    }
    value += ch;
    i++;
  }
  throw new SelectorParseError(
    text,
    start,
    `a closing ${quote}`,
    'end of input',
    `the string that starts at position ${start} is never closed; end it with ${quote}`,
  );
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (isIdentChar(c)) {
      const start = i;
      while (i < n && isIdentChar(text.charCodeAt(i))) i++;
      tokens.push({ type: 'ident', text: text.slice(start, i), pos: start });
      continue;
    }
    const ch = text[i] as string;
    if (ch === '"' || ch === "'") {
      const { value, end } = readString(text, i);
      tokens.push({ type: 'string', value, text: text.slice(i, end), pos: i });
      i = end;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (TWO_CHAR.has(two)) {
      tokens.push({ type: 'punct', text: two as PunctText, pos: i });
      i += 2;
      continue;
    }
    if (ONE_CHAR.has(ch)) {
      tokens.push({ type: 'punct', text: ch as PunctText, pos: i });
      i++;
      continue;
    }
    // Never valid. Take the whole code point so the message shows a real character.
    const cp = text.codePointAt(i) ?? c;
    const len = cp > 0xffff ? 2 : 1;
    tokens.push({ type: 'bad', text: text.slice(i, i + len), pos: i });
    i += len;
  }
  tokens.push({ type: 'eof', pos: n });
  return tokens;
}
