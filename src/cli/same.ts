// Deciding whether an apply would change anything: compares what a user controls (name,
// namespace, labels, annotations, spec), ignoring server-set fields and key order.

import type { Resource } from '../api/types.js';

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = canonical(x);
    }
    return out;
  }
  return v;
}

const nonEmpty = (m: Record<string, string> | undefined): Record<string, string> | undefined =>
  m && Object.keys(m).length > 0 ? m : undefined;

function userView(r: Resource): unknown {
  return canonical({
    kind: r.kind,
    name: r.metadata.name,
    namespace: r.metadata.namespace,
    labels: nonEmpty(r.metadata.labels),
    annotations: nonEmpty(r.metadata.annotations),
    spec: r.spec,
  });
}

/** True when writing `next` over `current` would change nothing a user can set. */
export function sameUserContent(current: Resource, next: Resource): boolean {
  return JSON.stringify(userView(current)) === JSON.stringify(userView(next));
}
