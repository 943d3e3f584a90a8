// Validation of resources as users write them: every problem, each with the path of the field
// at fault and the reason; defaults filled in on success.
//
//   validateResource(input)    one object
//   validateResources(inputs)  a batch (e.g. all documents of `twillctl apply -f`), which also
//                              rejects the same object twice
//   ValidationError            a TwillError carrying the problems
//
// The schemas live in ./validate/ (one module per group of kinds).

import { TwillError } from '../errors.js';
import { withDefaults } from './defaults.js';
import { formatKey, keyOf, type Resource } from './types.js';
import { describeValue, isPlainObject, Problems, type Problem } from './validate/problems.js';
import { exactPublicKind, resourceSchema } from './validate/resource.js';
import { walk } from './validate/schema.js';

export type { Problem } from './validate/problems.js';
export { formatPath } from './validate/problems.js';

export type ValidationResult = { ok: true; resource: Resource } | { ok: false; problems: Problem[] };

/** Checks one resource. On success returns a cleaned copy (canonical key order) with defaults. */
export function validateResource(input: unknown): ValidationResult {
  if (!isPlainObject(input)) {
    return {
      ok: false,
      problems: [
        {
          path: '',
          message: `a resource must be an object with apiVersion, kind, metadata and spec; found ${describeValue(input)}`,
        },
      ],
    };
  }
  const kind = exactPublicKind(input.kind);
  const problems = new Problems();
  // A missing spec is an empty one: kinds with required spec fields then report each of them.
  const value = kind !== undefined && (input.spec === undefined || input.spec === null) ? { ...input, spec: {} } : input;
  const cleaned = walk(resourceSchema(kind), value, [], problems);
  if (problems.count > 0) return { ok: false, problems: problems.list };
  // Defaults are appended; put every key back in canonical order.
  return { ok: true, resource: canonicalForm(withDefaults(cleaned as Resource)) };
}

/** "NetworkPolicy zones/web" from whatever identifying fields an (unvalidated) input has. */
export function describeInput(input: unknown): string | undefined {
  if (!isPlainObject(input)) return undefined;
  const kind = typeof input.kind === 'string' ? input.kind : undefined;
  const meta = isPlainObject(input.metadata) ? input.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : undefined;
  const ns = typeof meta.namespace === 'string' ? meta.namespace : undefined;
  if (kind === undefined && name === undefined) return undefined;
  return `${kind ?? 'resource'} ${ns !== undefined ? `${ns}/` : ''}${name ?? '(no name)'}`;
}

export interface SourcedProblem extends Problem {
  /** Where the object came from, e.g. "policies.yaml#2". */
  source: string;
}

export type ItemResult =
  | { source: string; ok: true; resource: Resource }
  | { source: string; ok: false; problems: Problem[] };

export interface BatchResult {
  /** True when every item is valid and no object appears twice. */
  ok: boolean;
  /** One entry per input, in order. */
  items: ItemResult[];
  /** The valid resources (defaults filled), in input order. */
  resources: Resource[];
  /** Every problem of every item, with its source. */
  problems: SourcedProblem[];
}

/**
 * Validates a batch. Besides each item's own problems, an object (same kind, namespace and name)
 * appearing a second time is a problem of the later item, naming where the first one is.
 */
export function validateResources(inputs: readonly { value: unknown; source: string }[]): BatchResult {
  const seen = new Map<string, string>();
  const items: ItemResult[] = inputs.map(({ value, source }) => {
    const r = validateResource(value);
    if (!r.ok) return { source, ok: false, problems: r.problems };
    const key = formatKey(keyOf(r.resource));
    const first = seen.get(key);
    if (first !== undefined) {
      return {
        source,
        ok: false,
        problems: [{ path: 'metadata.name', message: `${key} is defined twice: first in ${first}` }],
      };
    }
    seen.set(key, source);
    return { source, ok: true, resource: r.resource };
  });
  const problems = items.flatMap((it) => (it.ok ? [] : it.problems.map((p) => ({ ...p, source: it.source }))));
  const resources = items.flatMap((it) => (it.ok ? [it.resource] : []));
  return { ok: problems.length === 0, items, resources, problems };
}

function problemLine(p: Problem & { source?: string }): string {
  const where = [p.source, p.path].filter((s) => s !== undefined && s !== '').join(': ');
  return where ? `${where}: ${p.message}` : p.message;
}

/** Invalid input: carries every problem; the message lists them one per line. */
export class ValidationError extends TwillError {
  readonly problems: (Problem & { source?: string })[];

  /** `subject` names the object, e.g. "NetworkPolicy zones/web" or "policies.yaml#2". */
  constructor(problems: readonly (Problem & { source?: string })[], subject?: string) {
    const n = problems.length;
    const head = subject ? `${subject} is invalid` : `${n} problem${n === 1 ? '' : 's'} found`;
    super('Validation', `${head}:\n${problems.map((p) => `  ${problemLine(p)}`).join('\n')}`, {
      hint: 'fix the fields named above; `twillctl validate -f FILE` checks a file without writing anything',
    });
    this.problems = [...problems];
  }
}

/** Validates one resource or throws ValidationError naming it. */
export function assertValid(input: unknown, source?: string): Resource {
  const r = validateResource(input);
  if (r.ok) return r.resource;
  const what = describeInput(input);
  const subject = [source, what].filter((s) => s !== undefined).join(' ') || undefined;
  throw new ValidationError(r.problems, subject);
}

const TOP_ORDER = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const META_ORDER = ['name', 'namespace', 'labels', 'annotations', 'resourceVersion', 'uid', 'creationTimestamp'];

function ordered(o: Record<string, unknown>, order: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of order) if (o[k] !== undefined) out[k] = o[k];
  for (const k of Object.keys(o)) if (!(k in out) && o[k] !== undefined) out[k] = o[k];
  return out;
}

/**
 * The resource with its keys in canonical order (apiVersion, kind, metadata, spec, status; spec
 * fields in schema order; labels sorted), for printing. Never drops data: a resource that does
 * not pass validation (or an internal kind) only gets its top-level and metadata keys ordered.
 */
export function canonicalForm<R extends Resource>(r: R): R {
  const kind = exactPublicKind(r.kind);
  if (kind !== undefined) {
    const problems = new Problems();
    const cleaned = walk(resourceSchema(kind), r, [], problems);
    if (problems.count === 0) return cleaned as R;
  }
  const top = ordered(r as unknown as Record<string, unknown>, TOP_ORDER);
  if (isPlainObject(top.metadata)) top.metadata = ordered(top.metadata, META_ORDER);
  return top as unknown as R;
}
