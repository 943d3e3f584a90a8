// Recursive-descent parser: selector text → syntax tree, exactly as written (no normalisation;
// parentheses survive as nesting). Grammar, loosest binding first:
//
//   or      := and ('||' and)*
//   and     := unary ('&&' unary)*
//   unary   := '!' unary | primary
//   primary := '(' or ')' | func | key op
//   func    := 'has' '(' key ')' | 'all' '(' ')' | 'global' '(' ')'
//   op      := '==' str | '!=' str | 'in' set | 'not' 'in' set
//            | 'contains' str | 'starts' 'with' str | 'ends' 'with' str
//   set     := '{' (str (',' str)*)? '}'
//
// Words are keywords only where an operator or function can stand, so a label may be called
// `in`, `has` or `all` (`all == "x"` compares the label "all").

import type { SelectorNode } from './ast.js';
import { SelectorParseError, quoteForMessage } from './errors.js';
import { labelKeyProblem } from './label-key.js';
import { tokenize, type Token } from './lexer.js';

/** Deepest nesting of parentheses and negations accepted (keeps recursion bounded). */
export const MAX_SELECTOR_DEPTH = 128;

const EXPRESSION = 'an expression';
const OPERATOR = 'an operator (==, !=, in, not in, contains, starts with, ends with)';
const STRING = 'a quoted string';
const FUNCTIONS = 'the functions are has(key), all() and global()';

function describe(tok: Token): string {
  return tok.type === 'eof' ? 'end of input' : `found ${quoteForMessage(tok.text)}`;
}

class Parser {
  private i = 0;
  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
  ) {}

  private peek(offset = 0): Token {
    const t = this.tokens[Math.min(this.i + offset, this.tokens.length - 1)];
    return t as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (this.i < this.tokens.length - 1) this.i++;
    return t;
  }

  private isPunct(tok: Token, p: string): boolean {
    return tok.type === 'punct' && tok.text === p;
  }

  private isWord(tok: Token, w: string): boolean {
    return tok.type === 'ident' && tok.text === w;
  }

  private fail(tok: Token, expected: string, suggestion?: string): never {
    throw new SelectorParseError(this.text, tok.pos, expected, describe(tok), suggestion);
  }

  parseSelector(): SelectorNode {
    if (this.peek().type === 'eof') {
      this.fail(
        this.peek(),
        EXPRESSION,
        'a selector cannot be empty; write all() to select everything, or leave the field out',
      );
    }
    const node = this.parseOr(0);
    const tok = this.peek();
    if (tok.type !== 'eof') {
      if (this.isPunct(tok, ')')) {
        this.fail(tok, '&&, || or end of input', 'this ")" has no matching "("');
      }
      this.fail(tok, '&&, || or end of input', this.joinSuggestion(tok));
    }
    return node;
  }

  /** What to say when an expression is followed by something that cannot follow it. */
  private joinSuggestion(tok: Token): string {
    if (tok.type === 'ident') {
      const w = tok.text.toLowerCase();
      if (w === 'and') return `use && instead of ${JSON.stringify(tok.text)}`;
      if (w === 'or') return `use || instead of ${JSON.stringify(tok.text)}`;
    }
    if (tok.type === 'bad' && tok.text === '&') return 'use && for "and"';
    if (tok.type === 'bad' && tok.text === '|') return 'use || for "or"';
    return 'join two expressions with && or ||';
  }

  private parseOr(depth: number): SelectorNode {
    const first = this.parseAnd(depth);
    if (!this.isPunct(this.peek(), '||')) return first;
    const operands: SelectorNode[] = [first];
    while (this.isPunct(this.peek(), '||')) {
      this.next();
      operands.push(this.parseAnd(depth));
    }
    return { kind: 'or', operands };
  }

  private parseAnd(depth: number): SelectorNode {
    const first = this.parseUnary(depth);
    if (!this.isPunct(this.peek(), '&&')) return first;
    const operands: SelectorNode[] = [first];
    while (this.isPunct(this.peek(), '&&')) {
      this.next();
      operands.push(this.parseUnary(depth));
    }
    return { kind: 'and', operands };
  }

  private checkDepth(tok: Token, depth: number): void {
    if (depth >= MAX_SELECTOR_DEPTH) {
      this.fail(
        tok,
        `at most ${MAX_SELECTOR_DEPTH} levels of parentheses and negations`,
        'simplify the selector',
      );
    }
  }

  private parseUnary(depth: number): SelectorNode {
    const tok = this.peek();
    if (this.isPunct(tok, '!')) {
      this.checkDepth(tok, depth);
      this.next();
      return { kind: 'not', operand: this.parseUnary(depth + 1) };
    }
    return this.parsePrimary(depth);
  }

  private parsePrimary(depth: number): SelectorNode {
    const tok = this.peek();
    if (this.isPunct(tok, '(')) {
      this.checkDepth(tok, depth);
      this.next();
      const inner = this.parseOr(depth + 1);
      const close = this.peek();
      if (!this.isPunct(close, ')')) {
        this.fail(
          close,
          '&&, || or ")"',
          close.type === 'eof'
            ? `close the "(" at position ${tok.pos} with ")"`
            : this.joinSuggestion(close),
        );
      }
      this.next();
      return inner;
    }
    if (tok.type === 'ident') {
      if (this.isPunct(this.peek(1), '(')) return this.parseFunction();
      return this.parseComparison();
    }
    this.fail(tok, EXPRESSION, this.expressionSuggestion(tok));
  }

  private expressionSuggestion(tok: Token): string | undefined {
    if (tok.type === 'string') {
      return `a comparison starts with a label key, e.g. key == ${tok.text}`;
    }
    if (this.isPunct(tok, ')')) return 'there is nothing between "(" and ")"';
    if (tok.type === 'eof' || this.isPunct(tok, '&&') || this.isPunct(tok, '||')) {
      return undefined;
    }
    return 'an expression is a comparison such as key == "value", has(key), all(), global(), ' +
      'or one of those negated with ! or grouped in ( )';
  }

  private parseKey(tok: Token): string {
    if (tok.type !== 'ident') {
      this.fail(
        tok,
        'a label key',
        tok.type === 'string' ? `write the key without quotes: ${tok.value}` : undefined,
      );
    }
    const problem = labelKeyProblem(tok.text);
    if (problem !== undefined) this.fail(tok, 'a label key', problem);
    return tok.text;
  }

  private parseFunction(): SelectorNode {
    const nameTok = this.next();
    const name = nameTok.type === 'ident' ? nameTok.text : '';
    this.next(); // '('
    if (name === 'has') {
      const key = this.parseKey(this.next());
      this.expectClose(name);
      return { kind: 'has', key };
    }
    if (name === 'all' || name === 'global') {
      this.expectClose(name);
      return { kind: name };
    }
    const lower = name.toLowerCase();
    let suggestion: string;
    if (lower === 'has' || lower === 'all' || lower === 'global') {
      suggestion = `unknown function ${name}(): function names are lower-case, write ${lower}()`;
    } else if (lower === 'not') {
      suggestion = `unknown function ${name}(): negate with !, e.g. !has(key)`;
    } else {
      suggestion = `unknown function ${name}(); ${FUNCTIONS}`;
    }
    this.fail(nameTok, 'has(key), all() or global()', suggestion);
  }

  private expectClose(fn: string): void {
    const tok = this.next();
    if (!this.isPunct(tok, ')')) {
      this.fail(
        tok,
        '")"',
        fn === 'has' ? 'has() takes exactly one label key' : `${fn}() takes no arguments`,
      );
    }
  }

  private parseComparison(): SelectorNode {
    const keyTok = this.next();
    const key = this.parseKey(keyTok);
    const op = this.next();
    if (this.isPunct(op, '==')) return { kind: 'eq', key, value: this.parseString(key, '==') };
    if (this.isPunct(op, '!=')) return { kind: 'ne', key, value: this.parseString(key, '!=') };
    if (op.type === 'ident') {
      switch (op.text) {
        case 'in':
          return { kind: 'in', key, values: this.parseSet(key, 'in') };
        case 'not':
          this.expectWord('in', 'not in');
          return { kind: 'notIn', key, values: this.parseSet(key, 'not in') };
        case 'contains':
          return { kind: 'contains', key, value: this.parseString(key, 'contains') };
        case 'starts':
          this.expectWord('with', 'starts with');
          return { kind: 'startsWith', key, value: this.parseString(key, 'starts with') };
        case 'ends':
          this.expectWord('with', 'ends with');
          return { kind: 'endsWith', key, value: this.parseString(key, 'ends with') };
      }
    }
    this.fail(op, OPERATOR, this.operatorSuggestion(key, op));
  }

  private operatorSuggestion(key: string, op: Token): string | undefined {
    if (op.type === 'bad' && op.text === '=') return 'use == to compare (a single = is not an operator)';
    if (key === 'has') {
      return op.type === 'ident'
        ? `write has(${op.text}) with parentheses`
        : 'write has(key) with parentheses';
    }
    if (key === 'all' || key === 'global') return `write ${key}() with parentheses`;
    if (key.toLowerCase() === 'not') return 'negate with !, e.g. !has(key)';
    if (op.type === 'ident') {
      const w = op.text.toLowerCase();
      if (['in', 'not', 'contains', 'starts', 'ends'].includes(w)) {
        return `operators are lower-case: write ${w}`;
      }
      if (w === 'startswith' || w === 'endswith') {
        return `write "${w.slice(0, -4)} with" as two words`;
      }
    }
    if (op.type === 'string') return `put an operator between the key and the value, e.g. ${key} == ${op.text}`;
    return undefined;
  }

  private expectWord(word: string, operator: string): void {
    const tok = this.next();
    if (!this.isWord(tok, word)) this.fail(tok, `"${word}"`, `the operator is "${operator}"`);
  }

  private parseString(key: string, op: string): string {
    const tok = this.next();
    if (tok.type === 'string') return tok.value;
    this.fail(
      tok,
      STRING,
      tok.type === 'ident'
        ? `quote the value: ${key} ${op} "${tok.text}"`
        : `${op} compares with a quoted string, e.g. ${key} ${op} "value"`,
    );
  }

  private parseSet(key: string, op: string): string[] {
    const open = this.next();
    if (!this.isPunct(open, '{')) {
      this.fail(open, '"{"', `write the set in braces: ${key} ${op} {"a", "b"}`);
    }
    const values: string[] = [];
    if (this.isPunct(this.peek(), '}')) {
      this.next();
      return values;
    }
    for (;;) {
      const tok = this.next();
      if (tok.type !== 'string') {
        this.fail(
          tok,
          STRING,
          tok.type === 'ident'
            ? `quote each value: "${tok.text}"`
            : this.isPunct(tok, '}')
              ? 'remove the comma before "}"'
              : 'close the set with "}"',
        );
      }
      values.push(tok.value);
      const sep = this.next();
      if (this.isPunct(sep, '}')) return values;
      if (!this.isPunct(sep, ',')) {
        this.fail(sep, '"," or "}"', 'separate the values with commas and close the set with "}"');
      }
    }
  }
}

/** Parses selector text into its syntax tree, as written. Throws SelectorParseError. */
export function parseSelectorAst(text: string): SelectorNode {
  return new Parser(text, tokenize(text)).parseSelector();
}
