// A short, stable hash of a WorkloadEndpoint spec: the status records which spec was programmed,
// so a status left over from an older spec is recognisable (the CNI plugin compares it).
import { createHash } from 'node:crypto';
import type { WorkloadEndpointSpec } from './types.js';

function stable(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(stable);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = stable(x);
    }
    return out;
  }
  return v;
}

/** 16 hex digits of sha256 over the spec's canonical JSON (keys sorted, undefined dropped). */
export function workloadSpecHash(spec: WorkloadEndpointSpec): string {
  return createHash('sha256').update(JSON.stringify(stable(spec))).digest('hex').slice(0, 16);
}
