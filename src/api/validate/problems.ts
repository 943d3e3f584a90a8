// Problems found while validating: each with the path of the offending field
// ("spec.ingress[0].destination.ports[1]") and a reason.

export interface Problem {
  path: string;
  message: string;
}

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `spec.ingress[0].destination`, with keys that are not identifiers as `labels["a.b/c"]`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENT.test(seg)) out += out.length === 0 ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** Collects problems during one validation. */
export class Problems {
  readonly list: Problem[] = [];

  add(path: Path, message: string): void {
    this.list.push({ path: formatPath(path), message });
  }

  get count(): number {
    return this.list.length;
  }
}

/** "a string (\"x\")", "a number (5)", "a list", "an object", "null" — for type mismatch messages. */
export function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  switch (typeof v) {
    case 'string':
      return `a string (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)})`;
    case 'number':
      return `a number (${v})`;
    case 'boolean':
      return `a boolean (${v})`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}
