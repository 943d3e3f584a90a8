// Resource documents: reading multi-document YAML or JSON (an object, an array of objects, or a
// `kind: List` with items) into raw values with a source for messages ("pools.yaml#2"), and
// printing resources back as YAML or JSON that reads back to the same objects.

import { LineCounter, parseAllDocuments, Document, isMap, isSeq, type Node } from 'yaml';
import { TwillError } from '../errors.js';
import type { Resource } from './types.js';
import { canonicalForm } from './validate.js';
import { describeValue, isPlainObject } from './validate/problems.js';

export interface ParsedDocument {
  value: unknown;
  /** "<source>#<n>": the n-th resource (1-based) in the input, for messages. */
  source: string;
  /** 1-based line where the resource starts, when known (YAML input). */
  line?: number;
}

export class DocumentParseError extends TwillError {
  constructor(
    readonly source: string,
    message: string,
    readonly line?: number,
    readonly column?: number,
    hint?: string,
  ) {
    super('DocumentParse', message, hint !== undefined ? { hint } : undefined);
  }
}

// C0 control characters other than tab, line feed, carriage return: never in YAML or JSON text.
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

function decode(input: string | Buffer, source: string): string {
  const notText = (why: string, hint?: string) =>
    new DocumentParseError(source, `${source} does not look like YAML or JSON (${why})`, undefined, undefined, hint);
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    if (input.includes(0)) {
      const utf16 = input.length >= 2 && ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff));
      throw notText(
        'it contains NUL bytes',
        utf16 ? 'the file looks UTF-16 encoded; convert it to UTF-8' : 'is this a binary file?',
      );
    }
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw notText('it is not valid UTF-8 text', 'is this a binary file? Resource files must be UTF-8 text');
    }
  }
  const m = CONTROL.exec(text);
  if (m) {
    throw notText(
      `it contains the control character 0x${m[0].charCodeAt(0).toString(16).padStart(2, '0')}`,
      'is this a binary file?',
    );
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

interface RawValue {
  value: unknown;
  line?: number | undefined;
  /** Lines of the items of a top-level list, or of a List's items. */
  itemLines?: (number | undefined)[];
}

function firstLine(msg: string): string {
  return (msg.split('\n')[0] ?? msg).replace(/ at line \d+, column \d+:?$/, '');
}

function parseYaml(text: string, source: string): RawValue[] {
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(docs)) return []; // an empty stream
  const out: RawValue[] = [];
  for (const doc of docs) {
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const where = pos ? `${source}:${pos.line}:${pos.col}` : source;
      throw new DocumentParseError(source, `${where}: invalid YAML: ${firstLine(err.message)}`, pos?.line, pos?.col, err.message.trim());
    }
    const contents = doc.contents;
    if (contents === null) continue;
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) continue;
    const lineOf = (n: Node | null | undefined): number | undefined =>
      n?.range ? lc.linePos(n.range[0]).line : undefined;
    // Lines of the items of a top-level list or of a List's items, for precise sources.
    let items: (Node | null | undefined)[] | undefined;
    if (isSeq(contents)) items = contents.items as Node[];
    else if (isMap(contents)) {
      const it = contents.get('items', true);
      if (isSeq(it)) items = it.items as Node[];
    }
    out.push({ value, line: lineOf(contents as Node), ...(items ? { itemLines: items.map(lineOf) } : {}) });
  }
  return out;
}

function parseRaw(text: string, source: string): RawValue[] {
  const t = text.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      return [{ value: JSON.parse(text) as unknown }];
    } catch {
      // Not strict JSON: YAML (a superset) parses flow style too, and reports line:column.
    }
  }
  return parseYaml(text, source);
}

const RESOURCE_SHAPE = 'a resource (an object with apiVersion, kind, metadata and spec)';

/**
 * Splits `text` into raw resource values (not yet validated). Throws DocumentParseError for
 * input that is empty, binary, not valid YAML/JSON, or holds something other than objects.
 */
export function parseDocuments(text: string | Buffer, source: string): ParsedDocument[] {
  const raws = parseRaw(decode(text, source), source);
  const out: ParsedDocument[] = [];
  const push = (value: unknown, line: number | undefined, container?: string) => {
    const n = out.length + 1;
    const where = `${source}#${n}`;
    if (!isPlainObject(value)) {
      const at = line !== undefined ? ` (line ${line})` : '';
      throw new DocumentParseError(
        where,
        `${where}${at}: expected ${RESOURCE_SHAPE}${container ? ` in ${container}` : ''}, found ${describeValue(value)}`,
        line,
      );
    }
    out.push(line !== undefined ? { value, source: where, line } : { value, source: where });
  };
  for (const raw of raws) {
    const itemLines = raw.itemLines;
    const v = raw.value;
    if (Array.isArray(v)) {
      v.forEach((item, i) => push(item, itemLines?.[i], 'the list'));
    } else if (isPlainObject(v) && typeof v.kind === 'string' && /^[A-Za-z]*List$/.test(v.kind)) {
      // "List", or a typed list as calicoctl prints it ("NetworkPolicyList").
      if (!Array.isArray(v.items)) {
        throw new DocumentParseError(
          `${source}#${out.length + 1}`,
          `${source}: a kind: ${v.kind} needs items (a list of resources), found ${describeValue(v.items)}`,
          raw.line,
        );
      }
      v.items.forEach((item, i) => push(item, itemLines?.[i], `${v.kind} items`));
    } else {
      push(v, raw.line);
    }
  }
  if (out.length === 0) {
    throw new DocumentParseError(source, `no resources found in ${source}`, undefined, undefined, 'the input is empty or holds only comments');
  }
  return out;
}

/** Resources as YAML documents separated by "---", keys in canonical order. */
export function toYaml(resources: readonly Resource[]): string {
  return resources
    .map((r) =>
      // YAML 1.1 output rules quote strings that older (1.1) readers would take for something
      // else ("yes", "80:50"), and 1.2 readers read the quoted strings back unchanged.
      new Document(canonicalForm(r), { version: '1.1' }).toString({ lineWidth: 0 }),
    )
    .join('---\n');
}

/**
 * Resources as JSON: a single resource as an object; otherwise (or with `asList`) a
 * `kind: List` with items. Both read back through parseDocuments.
 */
export function toJson(resources: readonly Resource[], opts: { asList?: boolean } = {}): string {
  const items = resources.map((r) => canonicalForm(r));
  const asList = opts.asList ?? items.length !== 1;
  const value = asList ? { apiVersion: 'twill.io/v1', kind: 'List', items } : items[0];
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * A copy without the fields the datastore sets (resourceVersion, uid, creationTimestamp; with
 * `status: true` also status), for comparing what a user wrote with what is stored.
 */
export function stripServerFields<R extends Resource>(r: R, opts: { status?: boolean } = {}): R {
  const out = structuredClone(r);
  delete out.metadata.resourceVersion;
  delete out.metadata.uid;
  delete out.metadata.creationTimestamp;
  if (opts.status) delete (out as { status?: unknown }).status;
  return out;
}
