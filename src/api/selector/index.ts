// The Calico-style label selector language. See ./README.md.

export type {
  Labels,
  EvalContext,
  SelectorNode,
  AllNode,
  GlobalNode,
  HasNode,
  CompareNode,
  CompareKind,
  SetNode,
  SetKind,
  NotNode,
  BoolNode,
} from './ast.js';
export { collectLabelKeys } from './ast.js';
export { SelectorParseError } from './errors.js';
export { labelKeyProblem, isValidLabelKey } from './label-key.js';
export { parseSelectorAst, MAX_SELECTOR_DEPTH } from './parser.js';
export { normalizeSelector } from './normalize.js';
export { printSelector, quoteString } from './print.js';
export {
  type Selector,
  parseSelector,
  canonicalSelector,
  selectorFromAst,
  selectorHash,
  clearSelectorCache,
  SELECTOR_HASH_LENGTH,
  SELECTOR_CACHE_SIZE,
} from './selector.js';
