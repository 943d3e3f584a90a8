// The selector syntax tree: what a parsed selector means, independent of how it was written.
//
// Nodes are plain, readonly data. `and` / `or` are n-ary (two or more operands). A tree that came
// out of `normalizeSelector` (the `ast` of every Selector) is in canonical shape: flat, sorted,
// de-duplicated, negations folded into the comparisons they negate (see ./normalize.ts).

/** The labels of one object. */
export type Labels = Readonly<Record<string, string>>;

export interface EvalContext {
  /** true for non-namespaced objects */
  global?: boolean;
}

/** Matches every object. */
export interface AllNode {
  readonly kind: 'all';
}
/** Matches only objects that are not namespaced (EvalContext.global). */
export interface GlobalNode {
  readonly kind: 'global';
}
/** `has(key)`: the label is present, whatever its value. */
export interface HasNode {
  readonly kind: 'has';
  readonly key: string;
}

/**
 * Comparisons of one label with one string:
 * - `eq`          `k == "v"`           present and equal
 * - `ne`          `k != "v"`           absent, or present and different
 * - `contains`    `k contains "v"`     present and containing v
 * - `startsWith`  `k starts with "v"`  present and starting with v
 * - `endsWith`    `k ends with "v"`    present and ending with v
 */
export interface CompareNode {
  readonly kind: 'eq' | 'ne' | 'contains' | 'startsWith' | 'endsWith';
  readonly key: string;
  readonly value: string;
}

/**
 * Set membership: `in` is present with a value in the set; `notIn` is absent, or present with a
 * value outside the set.
 */
export interface SetNode {
  readonly kind: 'in' | 'notIn';
  readonly key: string;
  readonly values: readonly string[];
}

/** `!operand` */
export interface NotNode {
  readonly kind: 'not';
  readonly operand: SelectorNode;
}

/** `a && b && ...` / `a || b || ...` (two or more operands). */
export interface BoolNode {
  readonly kind: 'and' | 'or';
  readonly operands: readonly SelectorNode[];
}

export type SelectorNode =
  | AllNode
  | GlobalNode
  | HasNode
  | CompareNode
  | SetNode
  | NotNode
  | BoolNode;

export type CompareKind = CompareNode['kind'];
export type SetKind = SetNode['kind'];

/** Label keys a tree reads (the keys of every has / comparison / set node). */
export function collectLabelKeys(node: SelectorNode, into: Set<string> = new Set()): Set<string> {
  switch (node.kind) {
    case 'all':
    case 'global':
      break;
    case 'has':
    case 'eq':
    case 'ne':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
    case 'in':
    case 'notIn':
      into.add(node.key);
      break;
    case 'not':
      collectLabelKeys(node.operand, into);
      break;
    case 'and':
    case 'or':
      for (const o of node.operands) collectLabelKeys(o, into);
      break;
  }
  return into;
}
