// Selector tree → text. One space around binary operators, double-quoted strings, and only the
// parentheses the precedence rules need (`!` binds tightest, then `&&`, then `||`). For a tree
// from normalizeSelector this is the canonical text; for any tree, parsing the output gives the
// same tree back.

import type { SelectorNode } from './ast.js';

/** A double-quoted string literal; `"` and `\` are escaped with a backslash. */
export function quoteString(value: string): string {
  let needs = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22 || c === 0x5c) {
      needs = true;
      break;
    }
  }
  return needs ? `"${value.replace(/[\\"]/g, (m) => `\\${m}`)}"` : `"${value}"`;
}

function printSet(values: readonly string[]): string {
  return values.length === 0 ? '{}' : `{${values.map(quoteString).join(', ')}}`;
}

export function printSelector(node: SelectorNode): string {
  switch (node.kind) {
    case 'all':
      return 'all()';
    case 'global':
      return 'global()';
    case 'has':
      return `has(${node.key})`;
    case 'eq':
      return `${node.key} == ${quoteString(node.value)}`;
    case 'ne':
      return `${node.key} != ${quoteString(node.value)}`;
    case 'contains':
      return `${node.key} contains ${quoteString(node.value)}`;
    case 'startsWith':
      return `${node.key} starts with ${quoteString(node.value)}`;
    case 'endsWith':
      return `${node.key} ends with ${quoteString(node.value)}`;
    case 'in':
      return `${node.key} in ${printSet(node.values)}`;
    case 'notIn':
      return `${node.key} not in ${printSet(node.values)}`;
    case 'not': {
      const inner = printSelector(node.operand);
      return node.operand.kind === 'and' || node.operand.kind === 'or' ? `!(${inner})` : `!${inner}`;
    }
    case 'and':
      // Any && or || inside && needs parentheses (a nested && only when the tree was not flattened).
      return node.operands
        .map((o) => (o.kind === 'and' || o.kind === 'or' ? `(${printSelector(o)})` : printSelector(o)))
        .join(' && ');
    case 'or':
      return node.operands
        .map((o) => (o.kind === 'or' ? `(${printSelector(o)})` : printSelector(o)))
        .join(' || ');
  }
}
