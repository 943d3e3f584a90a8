// Reads a YAML document field by field, remembering where each value came from, so that every
// problem can be reported as "FILE:LINE: path.to.field: what is wrong". Problems are collected
// (not thrown) so one run of the daemon reports all of them.
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import type { ConfigProblem } from './errors.js';

/** A value in the document with its path ("neighbors[0].asn") and source node (for the line). */
export interface Field {
  readonly node: Node | null;
  readonly path: string;
  /** Line of the key that introduced the field (used when the value itself is empty). */
  readonly keyLine: number;
}

export class YamlReader {
  readonly problems: ConfigProblem[] = [];
  readonly root: Field;
  private readonly lines = new LineCounter();

  constructor(text: string) {
    const doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
    for (const e of doc.errors) {
      const line = this.lines.linePos(e.pos[0]).line;
      const msg = e.code === 'DUPLICATE_KEY' ? 'a key appears twice in the same map' : e.message.split('\n')[0] ?? e.message;
      this.problems.push({ line, path: '', message: `YAML: ${msg}` });
    }
    this.root = { node: (doc.contents as Node | null) ?? null, path: '', keyLine: 1 };
  }

  /** True when the YAML itself could not be parsed (no point validating fields then). */
  get broken(): boolean {
    return this.problems.length > 0;
  }

  lineOf(f: Field): number {
    const r = f.node?.range;
    return r ? this.lines.linePos(r[0]).line : f.keyLine;
  }

  problem(f: Field, message: string): undefined {
    this.problems.push({ line: this.lineOf(f), path: f.path, message });
    return undefined;
  }

  isNull(f: Field): boolean {
    return f.node === null || (isScalar(f.node) && f.node.value === null);
  }

  /** The scalar value (number, string, boolean, null) or undefined for maps and lists. */
  scalar(f: Field): unknown {
    return isScalar(f.node) ? f.node.value : undefined;
  }

  /** The value as written in the file (for scalars), e.g. "1.10" where the value is 1.1. */
  source(f: Field): string | undefined {
    return isScalar(f.node) && typeof f.node.source === 'string' ? f.node.source : undefined;
  }

  describe(f: Field): string {
    if (isMap(f.node)) return 'a map';
    if (isSeq(f.node)) return 'a list';
    const v = this.scalar(f);
    if (v === null || v === undefined) return 'empty';
    return typeof v === 'string' ? JSON.stringify(v) : String(v);
  }

  /**
   * The entries of a map, keyed by name. Keys not in `known` are reported (with a suggestion when
   * one is close), as is a value that is not a map. Returns undefined when it is not a map.
   */
  map(f: Field, known: readonly string[]): Map<string, Field> | undefined {
    if (!isMap(f.node)) return this.problem(f, `must be a map (key: value lines), got ${this.describe(f)}`);
    const out = new Map<string, Field>();
    for (const pair of f.node.items) {
      const keyNode = pair.key as Node | null;
      const key = isScalar(keyNode) ? keyNode.value : undefined;
      const keyLine = keyNode?.range ? this.lines.linePos(keyNode.range[0]).line : this.lineOf(f);
      const path = f.path ? `${f.path}.${String(key)}` : String(key);
      if (typeof key !== 'string') {
        this.problems.push({ line: keyLine, path: f.path, message: `key ${String(key)} is not a name` });
        continue;
      }
      if (!known.includes(key)) {
        const near = closest(key, known);
        this.problems.push({
          line: keyLine,
          path,
          message: `unknown key${near ? ` (did you mean "${near}"?)` : ''}; known keys here: ${known.join(', ')}`,
        });
        continue;
      }
      out.set(key, { node: (pair.value as Node | null) ?? null, path, keyLine });
    }
    return out;
  }

  /** The items of a list (a single non-list value is reported). */
  list(f: Field): Field[] | undefined {
    if (!isSeq(f.node)) return this.problem(f, `must be a list, got ${this.describe(f)}`);
    return f.node.items.map((n, i) => ({ node: (n as Node | null) ?? null, path: `${f.path}[${i}]`, keyLine: this.lineOf(f) }));
  }

  string(f: Field, what = 'a string'): string | undefined {
    const v = this.scalar(f);
    if (typeof v === 'string' && v !== '') return v;
    return this.problem(f, `must be ${what}, got ${this.describe(f)}`);
  }

  bool(f: Field): boolean | undefined {
    const v = this.scalar(f);
    if (typeof v === 'boolean') return v;
    return this.problem(f, `must be true or false, got ${this.describe(f)}`);
  }

  /** An integer in [min, max]. */
  integer(f: Field, min: number, max: number): number | undefined {
    const v = this.scalar(f);
    if (typeof v !== 'number' || !Number.isInteger(v)) return this.problem(f, `must be a whole number ${min}..${max}, got ${this.describe(f)}`);
    if (v < min || v > max) return this.problem(f, `${v} is out of range ${min}..${max}`);
    return v;
  }

  /** A number of seconds in [min, max] (fractions allowed). */
  seconds(f: Field, min: number, max: number): number | undefined {
    const v = this.scalar(f);
    if (typeof v !== 'number' || !Number.isFinite(v)) return this.problem(f, `must be a number of seconds, got ${this.describe(f)}`);
    if (v < min || v > max) return this.problem(f, `${v} is out of range ${min}..${max} seconds`);
    return v;
  }
}

/** The known name closest to `s` (edit distance <= 2, or a case-insensitive match). */
function closest(s: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    if (k.toLowerCase() === s.toLowerCase()) return k;
    const d = distance(s.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}
