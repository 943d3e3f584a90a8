// Hand-written cases for the selector language: each operator, precedence, absent-label
// semantics, canonical text, and every error message we promise.
import { describe, expect, it } from 'vitest';
import {
  canonicalSelector,
  isValidLabelKey,
  MAX_SELECTOR_DEPTH,
  parseSelector,
  parseSelectorAst,
  selectorFromAst,
  SelectorParseError,
  type Labels,
} from '../../../src/api/selector/index.js';
import { TwillError } from '../../../src/errors.js';

const web: Labels = { app: 'web', tier: 'frontend', 'example.com/team': 'blue' };
const db: Labels = { app: 'db', tier: 'backend' };
const none: Labels = {};

function matches(sel: string, labels: Labels, global = false): boolean {
  return parseSelector(sel).evaluate(labels, { global });
}

function parseError(text: string): SelectorParseError {
  try {
    parseSelector(text);
  } catch (e) {
    expect(e).toBeInstanceOf(SelectorParseError);
    return e as SelectorParseError;
  }
  throw new Error(`expected ${JSON.stringify(text)} to be rejected`);
}

describe('operators', () => {
  it('== matches only a present, equal label', () => {
    expect(matches('app == "web"', web)).toBe(true);
    expect(matches("app == 'web'", db)).toBe(false);
    expect(matches('app == "web"', none)).toBe(false);
    expect(matches('app == ""', { app: '' })).toBe(true);
    expect(matches('app == ""', none)).toBe(false);
  });

  it('!= also matches when the label is absent', () => {
    expect(matches('app != "web"', web)).toBe(false);
    expect(matches('app != "web"', db)).toBe(true);
    expect(matches('app != "web"', none)).toBe(true);
  });

  it('in / not in; not in also matches when the label is absent', () => {
    expect(matches('app in {"web", "api"}', web)).toBe(true);
    expect(matches('app in {"web", "api"}', db)).toBe(false);
    expect(matches('app in {"web", "api"}', none)).toBe(false);
    expect(matches('app in {}', web)).toBe(false);
    expect(matches('app not in {"web", "api"}', web)).toBe(false);
    expect(matches('app not in {"web", "api"}', db)).toBe(true);
    expect(matches('app not in {"web", "api"}', none)).toBe(true);
    expect(matches('app not in {}', web)).toBe(true);
  });

  it('has() tests presence only', () => {
    expect(matches('has(app)', web)).toBe(true);
    expect(matches('has(app)', { app: '' })).toBe(true);
    expect(matches('has(app)', none)).toBe(false);
    expect(matches('!has(app)', none)).toBe(true);
    expect(matches('has(example.com/team)', web)).toBe(true);
  });

  it('contains / starts with / ends with need the label', () => {
    expect(matches('tier contains "ron"', web)).toBe(true);
    expect(matches('tier contains "ron"', db)).toBe(false);
    expect(matches('tier starts with "front"', web)).toBe(true);
    expect(matches('tier starts with "end"', web)).toBe(false);
    expect(matches('tier ends with "end"', web)).toBe(true);
    expect(matches('tier ends with "end"', db)).toBe(true);
    expect(matches('tier ends with "front"', web)).toBe(false);
    for (const op of ['contains', 'starts with', 'ends with']) {
      expect(matches(`tier ${op} ""`, none)).toBe(false);
      expect(matches(`tier ${op} ""`, db)).toBe(true);
    }
  });

  it('all() matches everything, global() only non-namespaced objects', () => {
    expect(matches('all()', none)).toBe(true);
    expect(matches('all()', web, true)).toBe(true);
    expect(matches('global()', none, true)).toBe(true);
    expect(matches('global()', none, false)).toBe(false);
    expect(parseSelector('global()').evaluate(none)).toBe(false);
    expect(matches('!global()', web)).toBe(true);
    expect(matches('global() || app == "web"', web)).toBe(true);
    expect(matches('global() && app == "web"', web)).toBe(false);
    expect(matches('global() && app == "web"', web, true)).toBe(true);
  });

  it('reads labels as own properties only', () => {
    expect(matches('has(constructor)', none)).toBe(false);
    expect(matches('toString != "x"', none)).toBe(true);
    expect(matches('has(constructor)', { constructor: 'x' })).toBe(true);
    expect(matches('constructor == "x"', { constructor: 'x' })).toBe(true);
    const nullProto = Object.assign(Object.create(null) as Record<string, string>, { app: 'web' });
    expect(matches('app == "web"', nullProto)).toBe(true);
  });

  it('operator and function words are label keys where a key is expected', () => {
    expect(matches('in == "x" && has == "y" && all in {"z"}', { in: 'x', has: 'y', all: 'z' })).toBe(true);
    expect(matches('not not in {"a"}', { not: 'b' })).toBe(true);
    expect(matches('starts starts with "s"', { starts: 'sun' })).toBe(true);
  });

  it('strings: either quote, backslash escapes for quotes and backslash', () => {
    expect(matches(`msg == 'say "hi"'`, { msg: 'say "hi"' })).toBe(true);
    expect(matches(`msg == "it's"`, { msg: "it's" })).toBe(true);
    expect(matches(String.raw`msg == "a\"b"`, { msg: 'a"b' })).toBe(true);
    expect(matches(String.raw`msg == 'a\\b'`, { msg: 'a\\b' })).toBe(true);
    // Any other backslash is literal (as in Calico, which has no escapes).
    expect(matches(String.raw`msg == "a\b"`, { msg: 'a\\b' })).toBe(true);
  });

  it('accepts any whitespace, or none, between tokens', () => {
    expect(canonicalSelector('a=="1"&&!has(b)||c in{"x","y"}')).toBe(
      '!has(b) && a == "1" || c in {"x", "y"}',
    );
    expect(canonicalSelector('\n\t( a == "1" )\n')).toBe('a == "1"');
  });
});

describe('precedence', () => {
  const labels: Labels = { a: '1' }; // a true, b false, c false
  it('&& binds tighter than ||', () => {
    // a || (b && c) = true; (a || b) && c = false
    expect(matches('a == "1" || b == "1" && c == "1"', labels)).toBe(true);
    expect(matches('b == "1" && c == "1" || a == "1"', labels)).toBe(true);
    expect(matches('(a == "1" || b == "1") && c == "1"', labels)).toBe(false);
  });

  it('! binds tighter than && and ||', () => {
    // (!a) && b = false; !(a && b) = true
    expect(matches('!a == "1" && b == "1"', labels)).toBe(false);
    expect(matches('!(a == "1" && b == "1")', labels)).toBe(true);
    // (!b) || a: true either way; (!a) || b = false; !(a || b) = false
    expect(matches('!a == "1" || b == "1"', labels)).toBe(false);
    expect(matches('!!a == "1"', labels)).toBe(true);
  });

  it('parses into the tree the precedence rules give', () => {
    expect(parseSelectorAst('!has(a) && has(b) || has(c)')).toEqual({
      kind: 'or',
      operands: [
        {
          kind: 'and',
          operands: [{ kind: 'not', operand: { kind: 'has', key: 'a' } }, { kind: 'has', key: 'b' }],
        },
        { kind: 'has', key: 'c' },
      ],
    });
  });
});

describe('canonical form', () => {
  const cases: [string, string][] = [
    ["app=='web'", 'app == "web"'],
    ['b == "2" && a == "1"', 'a == "1" && b == "2"'],
    ['a == "1" && (b == "2" && c == "3")', 'a == "1" && b == "2" && c == "3"'],
    ['(a == "1" || b == "2") || a == "1"', 'a == "1" || b == "2"'],
    ['has(x) && has(x)', 'has(x)'],
    ['a in {"z", "b", "z"}', 'a in {"b", "z"}'],
    ['a in {"z"}', 'a == "z"'],
    ['a not in {"z"}', 'a != "z"'],
    ['a not in {}', 'all()'],
    ['a in {}', 'a in {}'],
    ['!(a == "x")', 'a != "x"'],
    ['!(a != "x")', 'a == "x"'],
    ['!(a in {"x", "y"})', 'a not in {"x", "y"}'],
    ['!(a not in {"x", "y"})', 'a in {"x", "y"}'],
    ['!!has(a)', 'has(a)'],
    ['!(has(a))', '!has(a)'],
    ['!(a contains "x")', '!a contains "x"'],
    ['!(a == "1" || b == "2")', '!(a == "1" || b == "2")'],
    ['(c == "3") || (a == "1" && b == "2")', 'a == "1" && b == "2" || c == "3"'],
    ['c == "3" && (b == "2" || a == "1")', '(a == "1" || b == "2") && c == "3"'],
    ['all() && has(a)', 'has(a)'],
    ['all() || has(a)', 'all()'],
    ['all() && all()', 'all()'],
    [`a == 'say "hi"'`, String.raw`a == "say \"hi\""`],
  ];
  it.each(cases)('%s → %s', (input, canonical) => {
    expect(canonicalSelector(input)).toBe(canonical);
    // and the canonical text is itself canonical, and means the same tree
    expect(canonicalSelector(canonical)).toBe(canonical);
    expect(parseSelector(canonical).ast).toEqual(parseSelector(input).ast);
  });

  it('equivalent spellings share hash; different selectors do not', () => {
    const a = parseSelector('b == "2" && a == "1"');
    const b = parseSelector("(a=='1')&&(b=='2')");
    const c = parseSelector('a == "1" || b == "2"');
    expect(a.hash).toBe(b.hash);
    expect(a.hash).not.toBe(c.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{16,}$/);
    expect(String(a)).toBe('a == "1" && b == "2"');
    expect(JSON.stringify({ s: a })).toBe(JSON.stringify({ s: 'a == "1" && b == "2"' }));
  });

  it('labelKeys lists the keys read', () => {
    const s = parseSelector('a == "1" && (has(example.com/b) || !c in {"x", "y"}) && global()');
    expect([...s.labelKeys].sort()).toEqual(['a', 'c', 'example.com/b']);
    expect(parseSelector('all()').labelKeys.size).toBe(0);
  });

  it('selectorFromAst normalises a tree built in code', () => {
    const s = selectorFromAst({
      kind: 'and',
      operands: [
        { kind: 'not', operand: { kind: 'eq', key: 'b', value: '2' } },
        { kind: 'in', key: 'a', values: ['1'] },
      ],
    });
    expect(s.toString()).toBe('a == "1" && b != "2"');
    expect(s.hash).toBe(parseSelector('b != "2" && a == "1"').hash);
  });

  it('selectorFromAst: an empty || matches nothing, a bad key is refused', () => {
    expect(selectorFromAst({ kind: 'or', operands: [] }).evaluate({ a: '1' })).toBe(false);
    expect(selectorFromAst({ kind: 'and', operands: [] }).evaluate({})).toBe(true);
    expect(() => selectorFromAst({ kind: 'has', key: 'bad key' })).toThrow(SelectorParseError);
  });

  it('caches parses by text and returns immutable selectors', () => {
    const a = parseSelector('x == "cached"');
    expect(parseSelector('x == "cached"')).toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.ast)).toBe(true);
    const f = a.evaluate; // bound
    expect(f({ x: 'cached' })).toBe(true);
  });
});

describe('errors', () => {
  it('is a TwillError with code SelectorParse and the position', () => {
    const e = parseError("role == 'db' &&");
    expect(e).toBeInstanceOf(TwillError);
    expect(e.code).toBe('SelectorParse');
    expect(e.selector).toBe("role == 'db' &&");
    expect(e.position).toBe(15);
    expect(e.expected).toBe('an expression');
    expect(e.message).toBe(`selector "role == 'db' &&": expected an expression at position 15 (end of input)`);
  });

  const cases: { text: string; position: number; expected: RegExp; says: RegExp }[] = [
    { text: '', position: 0, expected: /expression/, says: /cannot be empty.*all\(\)/ },
    { text: '  ', position: 2, expected: /expression/, says: /cannot be empty/ },
    { text: 'a = "b"', position: 2, expected: /operator/, says: /found "=".*use ==/ },
    { text: "a == 'b", position: 5, expected: /closing '/, says: /never closed/ },
    { text: 'a == "b', position: 5, expected: /closing "/, says: /never closed/ },
    { text: 'has k', position: 4, expected: /operator/, says: /has\(k\) with parentheses/ },
    { text: 'has', position: 3, expected: /operator/, says: /has\(key\) with parentheses/ },
    { text: 'all', position: 3, expected: /operator/, says: /all\(\) with parentheses/ },
    { text: 'foo(x)', position: 0, expected: /has\(key\), all\(\) or global\(\)/, says: /unknown function foo\(\)/ },
    { text: 'Has(a)', position: 0, expected: /has\(key\)/, says: /lower-case, write has\(\)/ },
    { text: 'not(has(a))', position: 0, expected: /has\(key\)/, says: /negate with !/ },
    { text: 'not has(a)', position: 4, expected: /operator/, says: /negate with !/ },
    { text: 'a == "1" and b == "2"', position: 9, expected: /&&, \|\| or end/, says: /use && instead of "and"/ },
    { text: 'a == "1" OR b == "2"', position: 9, expected: /&&, \|\| or end/, says: /use \|\| instead/ },
    { text: 'a == "1" & b == "2"', position: 9, expected: /&&/, says: /use && for/ },
    { text: 'a == "1" | b == "2"', position: 9, expected: /&&/, says: /use \|\| for/ },
    { text: 'a == "1" b == "2"', position: 9, expected: /&&/, says: /join two expressions/ },
    { text: 'a == b', position: 5, expected: /quoted string/, says: /quote the value: a == "b"/ },
    { text: 'a == 5', position: 5, expected: /quoted string/, says: /a == "5"/ },
    { text: 'a in ["x"]', position: 5, expected: /"\{"/, says: /braces/ },
    { text: 'a in {x}', position: 6, expected: /quoted string/, says: /quote each value/ },
    { text: 'a in {"x",}', position: 10, expected: /quoted string/, says: /remove the comma/ },
    { text: 'a in {"x" "y"}', position: 10, expected: /"," or "\}"/, says: /commas/ },
    { text: 'a in {"x"', position: 9, expected: /"," or "\}"/, says: /found|end of input/ },
    { text: 'a not {"x"}', position: 6, expected: /"in"/, says: /not in/ },
    { text: 'a starts "x"', position: 9, expected: /"with"/, says: /starts with/ },
    { text: 'a startswith "x"', position: 2, expected: /operator/, says: /two words/ },
    { text: 'a IN {"x"}', position: 2, expected: /operator/, says: /lower-case: write in/ },
    { text: 'a "x"', position: 2, expected: /operator/, says: /put an operator/ },
    { text: '(a == "1"', position: 9, expected: /"\)"/, says: /close the "\(" at position 0/ },
    { text: 'a == "1")', position: 8, expected: /end of input/, says: /no matching "\("/ },
    { text: '()', position: 1, expected: /expression/, says: /nothing between/ },
    { text: '!', position: 1, expected: /expression/, says: /end of input/ },
    { text: 'a == "1" &&', position: 11, expected: /expression/, says: /end of input/ },
    { text: '"a" == "b"', position: 0, expected: /expression/, says: /starts with a label key/ },
    { text: 'has("a")', position: 4, expected: /label key/, says: /without quotes/ },
    { text: 'has(a', position: 5, expected: /"\)"/, says: /exactly one label key/ },
    { text: 'all(x)', position: 4, expected: /"\)"/, says: /takes no arguments/ },
    { text: '-a == "x"', position: 0, expected: /label key/, says: /start and end with a letter or digit/ },
    { text: 'Example.com/a == "x"', position: 0, expected: /label key/, says: /DNS subdomain/ },
    { text: 'a/b/c == "x"', position: 0, expected: /label key/, says: /more than one '\/'/ },
    { text: 'x && a @ "y"', position: 2, expected: /operator/, says: /found "&&"/ },
    { text: 'a @ "y"', position: 2, expected: /operator/, says: /found "@"/ },
  ];
  it.each(cases)('$text', ({ text, position, expected, says }) => {
    const e = parseError(text);
    expect(e.position).toBe(position);
    expect(e.expected).toMatch(expected);
    expect(e.message).toMatch(says);
    expect(e.message).toContain(`at position ${position}`);
    expect(e.message.startsWith('selector ')).toBe(true);
  });

  it('refuses a value that is not a string (untyped callers)', () => {
    const e = parseError(42 as unknown as string);
    expect(e.expected).toBe('a selector string');
    expect(e.message).toMatch(/found a number/);
  });

  it('quotes the selector readably in the message', () => {
    expect(parseError('a = "b"').message.startsWith(`selector 'a = "b"': `)).toBe(true);
    expect(parseError("a = 'b'").message.startsWith(`selector "a = 'b'": `)).toBe(true);
  });

  it('limits nesting instead of overflowing the stack', () => {
    const deep = '('.repeat(MAX_SELECTOR_DEPTH + 1) + 'has(a)' + ')'.repeat(MAX_SELECTOR_DEPTH + 1);
    expect(parseError(deep).expected).toMatch(/levels of parentheses/);
    const ok = '('.repeat(MAX_SELECTOR_DEPTH - 1) + 'has(a)' + ')'.repeat(MAX_SELECTOR_DEPTH - 1);
    expect(parseSelector(ok).toString()).toBe('has(a)');
    expect(parseError('!'.repeat(MAX_SELECTOR_DEPTH + 1) + 'has(a)').expected).toMatch(/levels/);
  });

  it('label key rules follow Kubernetes', () => {
    for (const k of ['a', 'A1', 'a-b_c.d', 'example.com/name', 'x.y-z.io/N_1', '9']) {
      expect(isValidLabelKey(k)).toBe(true);
    }
    for (const k of ['-a', 'a-', '_a', 'a/', '/a', 'a//b', 'EX.com/a', 'ex..com/a', 'x'.repeat(64)]) {
      expect(isValidLabelKey(k)).toBe(false);
    }
    expect(isValidLabelKey(`${'p'.repeat(63)}.com/${'n'.repeat(63)}`)).toBe(true);
  });
});
