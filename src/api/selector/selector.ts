// Parsed selectors: parse (with a small cache), canonical text, hash, evaluation.

import { createHash } from 'node:crypto';
import { collectLabelKeys, type EvalContext, type Labels, type SelectorNode } from './ast.js';
import { compileSelector, type Matcher } from './compile.js';
import { SelectorParseError, quoteForMessage } from './errors.js';
import { labelKeyProblem } from './label-key.js';
import { LruCache } from './lru.js';
import { normalizeWithText } from './normalize.js';
import { parseSelectorAst } from './parser.js';

export interface Selector {
  readonly ast: SelectorNode;
  evaluate(labels: Labels, ctx?: EvalContext): boolean;
  /** Canonical text: equal selectors print the same; parseSelector(s.toString()) is equal. */
  toString(): string;
  /** Stable short hash of the canonical text (hex, >= 16 chars), for naming ipsets/chains. */
  readonly hash: string;
  /** Label keys this selector reads (for building label indexes). */
  readonly labelKeys: ReadonlySet<string>;
}

/** Length of Selector.hash: 20 hex digits (80 bits of SHA-256 of the canonical text). */
export const SELECTOR_HASH_LENGTH = 20;

export function selectorHash(canonicalText: string): string {
  const digest = createHash('sha256').update(canonicalText, 'utf8').digest('hex');
  return digest.slice(0, SELECTOR_HASH_LENGTH);
}

class CompiledSelector implements Selector {
  readonly ast: SelectorNode;
  readonly labelKeys: ReadonlySet<string>;
  /** Bound, so `const f = sel.evaluate` works. */
  readonly evaluate: (labels: Labels, ctx?: EvalContext) => boolean;
  readonly #text: string;
  #hash: string | undefined;

  constructor(ast: SelectorNode, text: string) {
    this.ast = ast;
    this.#text = text;
    this.labelKeys = collectLabelKeys(ast);
    const m: Matcher = compileSelector(ast);
    this.evaluate = m;
    Object.freeze(this);
  }

  get hash(): string {
    // Cached in a private field; the object itself is frozen but private fields stay writable.
    return (this.#hash ??= selectorHash(this.#text));
  }

  toString(): string {
    return this.#text;
  }

  toJSON(): string {
    return this.#text;
  }
}

/** A Selector for a tree built in code (normalised first, so it equals the parsed equivalent). */
export function selectorFromAst(node: SelectorNode): Selector {
  const { node: ast, text } = normalizeWithText(node);
  for (const key of collectLabelKeys(ast)) {
    const problem = labelKeyProblem(key);
    if (problem !== undefined) {
      const at = Math.max(0, text.indexOf(key));
      throw new SelectorParseError(text, at, 'a label key', `found ${quoteForMessage(key)}`, problem);
    }
  }
  return new CompiledSelector(ast, text);
}

/** How many parsed selectors parseSelector keeps, keyed by their exact text. */
export const SELECTOR_CACHE_SIZE = 4096;
const cache = new LruCache<string, Selector>(SELECTOR_CACHE_SIZE);

/**
 * Parses a selector. The empty string is not a selector (callers decide what an absent selector
 * means); it, and any other invalid text, throws SelectorParseError. Results are cached by text
 * (selectors are immutable, so the same object may be returned for the same text).
 */
export function parseSelector(text: string): Selector {
  if (typeof text !== 'string') {
    // Only reachable from untyped callers (e.g. a YAML field that is a number or a list).
    throw new SelectorParseError(String(text), 0, 'a selector string', `found a ${typeof text}`);
  }
  const hit = cache.get(text);
  if (hit !== undefined) return hit;
  const sel = selectorFromAst(parseSelectorAst(text));
  cache.set(text, sel);
  return sel;
}

/** The canonical text of a selector. Throws SelectorParseError for invalid text. */
export function canonicalSelector(text: string): string {
  return parseSelector(text).toString();
}

/** Empties the parse cache (for tests and benchmarks). */
export function clearSelectorCache(): void {
  cache.clear();
}
