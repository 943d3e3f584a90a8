// Canonical shape of a selector tree, so that selectors that differ only in how they were written
// print the same (and hash the same). Rules, applied bottom-up:
//
// - `in` / `not in` sets are sorted and de-duplicated; a one-value set becomes `==` / `!=`;
//   `k not in {}` (true for every object) becomes `all()`.
// - Negation folds into what it negates: `!!x` → x, `!(k == v)` → `k != v`, `!(k != v)` →
//   `k == v`, `!(k in S)` → `k not in S`, `!(k not in S)` → `k in S` (all exact equivalences under
//   the absent-label semantics).
// - `&&` / `||` are flattened, their operands sorted by canonical text and de-duplicated;
//   `all()` is dropped from `&&` and absorbs a whole `||`; one operand left stands alone.
//
// The output is frozen, and normalising it again returns an equal tree.

import type { SelectorNode, SetNode } from './ast.js';
import { printSelector } from './print.js';

interface Normal {
  readonly node: SelectorNode;
  readonly text: string;
}

const ALL: SelectorNode = Object.freeze({ kind: 'all' });

function done(node: SelectorNode): Normal {
  return { node: Object.freeze(node), text: printSelector(node) };
}

function normalSet(kind: SetNode['kind'], key: string, values: readonly string[]): SelectorNode {
  const sorted = [...new Set(values)].sort();
  if (sorted.length === 1) {
    return { kind: kind === 'in' ? 'eq' : 'ne', key, value: sorted[0] as string };
  }
  if (sorted.length === 0 && kind === 'notIn') return ALL;
  return { kind, key, values: Object.freeze(sorted) };
}

/** The negation of an already-normal node, itself normal. */
function negate(n: SelectorNode): SelectorNode {
  switch (n.kind) {
    case 'not':
      return n.operand;
    case 'eq':
      return { kind: 'ne', key: n.key, value: n.value };
    case 'ne':
      return { kind: 'eq', key: n.key, value: n.value };
    case 'in':
      return normalSet('notIn', n.key, n.values);
    case 'notIn':
      return normalSet('in', n.key, n.values);
    default:
      return { kind: 'not', operand: n };
  }
}

function normalBool(kind: 'and' | 'or', operands: readonly SelectorNode[]): Normal {
  const byText = new Map<string, SelectorNode>();
  const add = (n: Normal): boolean => {
    if (n.node.kind === 'all') return kind === 'or'; // || with all() is all(); && drops it
    if (n.node.kind === kind) {
      for (const o of n.node.operands) byText.set(printSelector(o), o);
    } else {
      byText.set(n.text, n.node);
    }
    return false;
  };
  for (const o of operands) {
    if (add(normal(o))) return done(ALL);
  }
  // No operands left: && of nothing is true; || of nothing (only from a hand-built tree) is false.
  if (byText.size === 0) return done(kind === 'and' ? ALL : { kind: 'not', operand: ALL });
  const texts = [...byText.keys()].sort();
  if (texts.length === 1) {
    const only = texts[0] as string;
    return { node: byText.get(only) as SelectorNode, text: only };
  }
  const node: SelectorNode = {
    kind,
    operands: Object.freeze(texts.map((t) => byText.get(t) as SelectorNode)),
  };
  return done(node);
}

function normal(node: SelectorNode): Normal {
  switch (node.kind) {
    case 'all':
    case 'global':
      return done({ kind: node.kind });
    case 'has':
      return done({ kind: 'has', key: node.key });
    case 'eq':
    case 'ne':
    case 'contains':
    case 'startsWith':
    case 'endsWith':
      return done({ kind: node.kind, key: node.key, value: node.value });
    case 'in':
    case 'notIn':
      return done(normalSet(node.kind, node.key, node.values));
    case 'not':
      return done(negate(normal(node.operand).node));
    case 'and':
    case 'or':
      return normalBool(node.kind, node.operands);
  }
}

/** The canonical form of a tree (a new, frozen tree; the input is not changed). */
export function normalizeSelector(node: SelectorNode): SelectorNode {
  return normal(node).node;
}

/** The canonical form of a tree together with its canonical text. */
export function normalizeWithText(node: SelectorNode): { node: SelectorNode; text: string } {
  return normal(node);
}
