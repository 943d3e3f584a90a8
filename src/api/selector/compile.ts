// Selector tree → a tree of small closures. Evaluating one walks the closures: no regex, no
// allocation, and the label is looked up as an own property only (a label map holding
// "constructor" or "toString" keys is read correctly).

import type { EvalContext, Labels, SelectorNode } from './ast.js';

export type Matcher = (labels: Labels, ctx: EvalContext | undefined) => boolean;

const hasOwn = Object.prototype.hasOwnProperty;

function lookup(labels: Labels, key: string): string | undefined {
  return hasOwn.call(labels, key) ? labels[key] : undefined;
}

const TRUE: Matcher = () => true;
const GLOBAL: Matcher = (_l, ctx) => ctx?.global === true;

export function compileSelector(node: SelectorNode): Matcher {
  switch (node.kind) {
    case 'all':
      return TRUE;
    case 'global':
      return GLOBAL;
    case 'has': {
      const { key } = node;
      return (l) => hasOwn.call(l, key);
    }
    case 'eq': {
      const { key, value } = node;
      return (l) => lookup(l, key) === value;
    }
    case 'ne': {
      const { key, value } = node;
      return (l) => lookup(l, key) !== value;
    }
    case 'contains': {
      const { key, value } = node;
      return (l) => {
        const v = lookup(l, key);
        return v !== undefined && v.includes(value);
      };
    }
    case 'startsWith': {
      const { key, value } = node;
      return (l) => {
        const v = lookup(l, key);
        return v !== undefined && v.startsWith(value);
      };
    }
    case 'endsWith': {
      const { key, value } = node;
      return (l) => {
        const v = lookup(l, key);
        return v !== undefined && v.endsWith(value);
      };
    }
    case 'in': {
      const { key } = node;
      const set: ReadonlySet<string> = new Set(node.values);
      return (l) => {
        const v = lookup(l, key);
        return v !== undefined && set.has(v);
      };
    }
    case 'notIn': {
      const { key } = node;
      const set: ReadonlySet<string> = new Set(node.values);
      return (l) => {
        const v = lookup(l, key);
        return v === undefined || !set.has(v);
      };
    }
    case 'not': {
      const inner = compileSelector(node.operand);
      return (l, c) => !inner(l, c);
    }
    case 'and': {
      const parts = node.operands.map(compileSelector);
      if (parts.length === 2) {
        const [a, b] = parts as [Matcher, Matcher];
        return (l, c) => a(l, c) && b(l, c);
      }
      return (l, c) => {
        for (let i = 0; i < parts.length; i++) if (!(parts[i] as Matcher)(l, c)) return false;
        return true;
      };
    }
    case 'or': {
      const parts = node.operands.map(compileSelector);
      if (parts.length === 2) {
        const [a, b] = parts as [Matcher, Matcher];
        return (l, c) => a(l, c) || b(l, c);
      }
      return (l, c) => {
        for (let i = 0; i < parts.length; i++) if ((parts[i] as Matcher)(l, c)) return true;
        return false;
      };
    }
  }
}
