// Property tests for the selector language (fast-check): printing and parsing agree, the
// canonical form is stable, and evaluation agrees with a separately written reference evaluator.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalSelector,
  normalizeSelector,
  parseSelector,
  parseSelectorAst,
  printSelector,
  type EvalContext,
  type Labels,
  type SelectorNode,
} from '../../../src/api/selector/index.js';

const RUNS = { numRuns: 300 };

// Keys include words the language uses (they are keys where a key is expected) and names that
// exist on Object.prototype (a label lookup must not see those).
const keyArb = fc.constantFrom(
  'a', 'b', 'c', 'app.kubernetes.io/name', 'x-y_z.w', 'in', 'not', 'has', 'all', 'global',
  'starts', 'contains', 'constructor', 'toString',
);
const valueArb = fc.oneof(
  fc.constantFrom('', 'a', 'b', 'ab', 'ba', 'x"y', "it's", 'back\\slash', 'end\\', ' sp ', 'ünï'),
  fc.string({ maxLength: 4 }),
);

const nodeArb: fc.Arbitrary<SelectorNode> = fc.letrec<{ node: SelectorNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant<SelectorNode>({ kind: 'all' }),
    fc.constant<SelectorNode>({ kind: 'global' }),
    keyArb.map<SelectorNode>((key) => ({ kind: 'has', key })),
    fc
      .record({
        kind: fc.constantFrom('eq', 'ne', 'contains', 'startsWith', 'endsWith' as const),
        key: keyArb,
        value: valueArb,
      })
      .map<SelectorNode>((r) => r),
    fc
      .record({
        kind: fc.constantFrom('in', 'notIn' as const),
        key: keyArb,
        values: fc.array(valueArb, { maxLength: 4 }),
      })
      .map<SelectorNode>((r) => r),
    tie('node').map<SelectorNode>((operand) => ({ kind: 'not', operand })),
    fc
      .record({
        kind: fc.constantFrom('and', 'or' as const),
        operands: fc.array(tie('node'), { minLength: 2, maxLength: 4 }),
      })
      .map<SelectorNode>((r) => r),
  ),
})).node;

const labelsArb: fc.Arbitrary<Labels> = fc
  .array(fc.tuple(keyArb, valueArb), { maxLength: 6 })
  .map((pairs) => {
    const o: Record<string, string> = {};
    for (const [k, v] of pairs) Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true });
    return o;
  });
const ctxArb: fc.Arbitrary<EvalContext | undefined> = fc.constantFrom(
  undefined, {}, { global: false }, { global: true },
);

// ---- Reference evaluator: straight from the language description, over any (raw) tree.
function ref(n: SelectorNode, labels: Labels, ctx: EvalContext | undefined): boolean {
  const present = Object.keys(labels).includes('key' in n ? n.key : '');
  const value = present && 'key' in n ? Object.getOwnPropertyDescriptor(labels, n.key)?.value : undefined;
  switch (n.kind) {
    case 'all': return true;
    case 'global': return Boolean(ctx && ctx.global);
    case 'has': return present;
    case 'eq': return present && value === n.value;
    case 'ne': return !present || value !== n.value;
    case 'contains': return present && String(value).indexOf(n.value) !== -1;
    case 'startsWith': return present && String(value).slice(0, n.value.length) === n.value;
    case 'endsWith':
      return present && String(value).length >= n.value.length &&
        String(value).slice(String(value).length - n.value.length) === n.value;
    case 'in': return present && n.values.some((v) => v === value);
    case 'notIn': return !present || n.values.every((v) => v !== value);
    case 'not': return !ref(n.operand, labels, ctx);
    case 'and': return n.operands.every((o) => ref(o, labels, ctx));
    case 'or': return n.operands.some((o) => ref(o, labels, ctx));
  }
}

// ---- A second, deliberately different printer: single quotes where possible, odd spacing and
// redundant parentheses everywhere. Whatever it prints must mean the same selector.
function quoteOther(v: string): string {
  if (!v.includes("'") && !v.includes('\\')) return `'${v}'`;
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
function printLoose(n: SelectorNode): string {
  switch (n.kind) {
    case 'all': return 'all( )';
    case 'global': return ' global()';
    case 'has': return `has( ${n.key} )`;
    case 'eq': return `${n.key}==${quoteOther(n.value)}`;
    case 'ne': return `${n.key}  !=\t${quoteOther(n.value)}`;
    case 'contains': return `${n.key} contains${quoteOther(n.value)}`;
    case 'startsWith': return `${n.key} starts\nwith ${quoteOther(n.value)}`;
    case 'endsWith': return `${n.key} ends with ${quoteOther(n.value)}`;
    case 'in': return `${n.key} in{${n.values.map(quoteOther).join(' ,')}}`;
    case 'notIn': return `${n.key} not  in {${n.values.map(quoteOther).join(',')} }`;
    case 'not': return `!( ${printLoose(n.operand)} )`;
    case 'and': return n.operands.map((o) => `(${printLoose(o)})`).join('&&');
    case 'or': return n.operands.map((o) => `(${printLoose(o)})`).join(' || ');
  }
}

function shuffleOperands(n: SelectorNode, seed: number): SelectorNode {
  switch (n.kind) {
    case 'not': return { kind: 'not', operand: shuffleOperands(n.operand, seed) };
    case 'in': case 'notIn': return { ...n, values: [...n.values].reverse() };
    case 'and': case 'or': {
      const ops = n.operands.map((o, i) => shuffleOperands(o, seed + i));
      const k = seed % ops.length;
      return { kind: n.kind, operands: [...ops.slice(k), ...ops.slice(0, k)].reverse() };
    }
    default: return n;
  }
}

describe('selector properties', () => {
  it('parse(print(tree)) is the same tree', () => {
    fc.assert(fc.property(nodeArb, (n) => {
      expect(parseSelectorAst(printSelector(n))).toEqual(n);
    }), RUNS);
  });

  it('parsing the printed tree gives the normalised tree; normal trees round-trip exactly', () => {
    fc.assert(fc.property(nodeArb, (n) => {
      const normal = normalizeSelector(n);
      const s = parseSelector(printSelector(n));
      expect(s.ast).toEqual(normal);
      expect(s.toString()).toBe(printSelector(normal));
      expect(parseSelectorAst(s.toString())).toEqual(normal);
      expect(parseSelector(s.toString()).ast).toEqual(s.ast);
    }), RUNS);
  });

  it('canonical form is idempotent and independent of spelling and operand order', () => {
    fc.assert(fc.property(nodeArb, fc.nat(), (n, seed) => {
      const canon = canonicalSelector(printSelector(n));
      expect(canonicalSelector(canon)).toBe(canon);
      expect(canonicalSelector(printLoose(n))).toBe(canon);
      expect(canonicalSelector(printSelector(shuffleOperands(n, seed)))).toBe(canon);
      expect(parseSelector(printLoose(n)).hash).toBe(parseSelector(canon).hash);
    }), RUNS);
  });

  it('evaluation agrees with the reference evaluator (and normalising keeps the meaning)', () => {
    fc.assert(fc.property(nodeArb, fc.array(fc.tuple(labelsArb, ctxArb), { minLength: 1, maxLength: 5 }), (n, inputs) => {
      const s = parseSelector(printSelector(n));
      for (const [labels, ctx] of inputs) {
        const want = ref(n, labels, ctx);
        expect(s.evaluate(labels, ctx)).toBe(want);
        expect(ref(s.ast, labels, ctx)).toBe(want);
      }
    }), { numRuns: 500 });
  });

  it('labelKeys are the keys the normalised tree reads', () => {
    const keysOf = (n: SelectorNode): string[] =>
      n.kind === 'not' ? keysOf(n.operand)
        : n.kind === 'and' || n.kind === 'or' ? n.operands.flatMap(keysOf)
          : 'key' in n ? [n.key] : [];
    fc.assert(fc.property(nodeArb, (n) => {
      const s = parseSelector(printSelector(n));
      expect([...s.labelKeys].sort()).toEqual([...new Set(keysOf(s.ast))].sort());
      for (const k of s.labelKeys) expect(keysOf(n)).toContain(k);
      expect(s.hash).toMatch(/^[0-9a-f]{16,}$/);
    }), RUNS);
  });
});
