// Cross-object checks run before a write, on the state the write would leave behind (so a batch
// that moves a pool is judged as a whole, not object by object).
//
// IP pools must not overlap: two pools claiming the same addresses would let two hosts be handed
// the same address.

import { cidrsOverlap, formatCidr, parseCidr, type Cidr } from '../api/cidr.js';
import type { IPPoolResource, Resource } from '../api/types.js';

export interface PlanProblem {
  /** The document at fault (file.yaml#2), when the object came from input. */
  source?: string;
  /** "IPPool b" */
  object: string;
  path: string;
  message: string;
}

function tryCidr(s: string): Cidr | undefined {
  try {
    return parseCidr(s);
  } catch {
    return undefined; // validation reports malformed CIDRs
  }
}

/**
 * Problems with the IP pools after a write. `stored` is every IPPool in the datastore now;
 * `written` the pools the write creates or replaces (with the input document that holds each),
 * `deleted` the names the write removes.
 */
export function poolOverlapProblems(
  stored: readonly IPPoolResource[],
  written: readonly { resource: IPPoolResource; source?: string }[],
  deleted: ReadonlySet<string> = new Set(),
): PlanProblem[] {
  const writtenNames = new Set(written.map((w) => w.resource.metadata.name));
  const after: { pool: IPPoolResource; cidr: Cidr; source?: string; fromInput: boolean }[] = [];
  for (const p of stored) {
    if (writtenNames.has(p.metadata.name) || deleted.has(p.metadata.name)) continue;
    const cidr = tryCidr(p.spec.cidr);
    if (cidr) after.push({ pool: p, cidr, fromInput: false });
  }
  for (const w of written) {
    const cidr = tryCidr(w.resource.spec.cidr);
    if (cidr) after.push({ pool: w.resource, cidr, fromInput: true, ...(w.source !== undefined ? { source: w.source } : {}) });
  }
  const problems: PlanProblem[] = [];
  for (let i = 0; i < after.length; i++) {
    const a = after[i]!;
    if (!a.fromInput) continue;
    for (let j = 0; j < after.length; j++) {
      const b = after[j]!;
      if (i === j || (b.fromInput && j < i)) continue; // report each pair of input pools once
      if (!cidrsOverlap(a.cidr, b.cidr)) continue;
      problems.push({
        ...(a.source !== undefined ? { source: a.source } : {}),
        object: `IPPool ${a.pool.metadata.name}`,
        path: 'spec.cidr',
        message: `${formatCidr(a.cidr)} overlaps IPPool ${b.pool.metadata.name} (${formatCidr(b.cidr)}${
          b.fromInput ? (b.source !== undefined ? `, in ${b.source}` : '') : ', already in the datastore'
        }); pools must not share addresses`,
      });
    }
  }
  return problems;
}

export function isPool(r: Resource): r is IPPoolResource {
  return r.kind === 'IPPool';
}
