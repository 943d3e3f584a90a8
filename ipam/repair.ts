// Applies the fixes of an `ipam check` report (twillctl ipam release --from-report). Every fix is
// guarded: an address is released only if it still has the sequence number (and handle) the
// report saw; handles and affinities are changed only at the revision the report saw. A fix whose
// object moved on is skipped, never forced.

import { API_VERSION } from '../src/api/types.js';
import type { BlockAffinityResource, IPAMBlockResource, IPAMHandleResource, NodeResource } from '../src/api/types.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../src/datastore/errors.js';
import type { Datastore } from '../src/datastore/types.js';
import { cloneSpec, inUseCount } from './block.js';
import type { Fix, IpamProblem, IpamReport } from './check.js';
import { IpamRequestError } from './errors.js';
import { affinityName, blockName, handleName, hostAffinity } from './names.js';
import { affinityResource, releaseIps } from './release.js';

export interface FixOutcome {
  problem: string;
  action: Fix['action'];
  /** done: applied; skipped: the object changed since the report (nothing done). */
  result: 'done' | 'skipped';
  detail: string;
}

const ORDER: Record<Fix['action'], number> = {
  'fix-handle': 0,
  'release-ip': 1,
  'delete-handle': 2,
  'delete-affinity': 3,
  'create-affinity': 4,
  'release-block-affinity': 5,
};

/** Checks that `value` looks like a report written by `ipam check -o`. */
export function parseReport(value: unknown, source: string): IpamReport {
  const r = value as Partial<IpamReport> | null;
  if (!r || typeof r !== 'object' || r.kind !== 'IpamCheckReport' || !Array.isArray(r.problems)) {
    throw new IpamRequestError(`${source} is not an IPAM check report`, 'write one with: twillctl ipam check -o report.json');
  }
  return r as IpamReport;
}

function stale(e: unknown): boolean {
  return e instanceof ConflictError || e instanceof NotFoundError || e instanceof AlreadyExistsError;
}

export async function applyFixes(ds: Datastore, problems: IpamProblem[]): Promise<FixOutcome[]> {
  const withFix = problems.filter((p): p is IpamProblem & { fix: Fix } => p.fix !== undefined && p.severity === 'problem');
  withFix.sort((a, b) => ORDER[a.fix.action] - ORDER[b.fix.action]);
  const out: FixOutcome[] = [];
  // Handles are repaired first, so releasing their addresses afterwards keeps them consistent.
  for (const p of withFix) if (p.fix.action === 'fix-handle') out.push(await applyOne(ds, p.id, p.fix));
  out.push(...(await releaseBatch(ds, withFix.filter((p) => p.fix.action === 'release-ip'))));
  for (const p of withFix) {
    if (p.fix.action !== 'fix-handle' && p.fix.action !== 'release-ip') out.push(await applyOne(ds, p.id, p.fix));
  }
  return out;
}

async function releaseBatch(ds: Datastore, probs: (IpamProblem & { fix: Fix })[]): Promise<FixOutcome[]> {
  const out: FixOutcome[] = [];
  for (let i = 0; i < probs.length; i += 32) {
    const chunk = probs.slice(i, i + 32);
    const reqs = chunk.map((p) => {
      const f = p.fix as Extract<Fix, { action: 'release-ip' }>;
      return { ip: f.ip, sequence: f.sequence, ...(f.handleID !== undefined ? { handleID: f.handleID } : {}) };
    });
    const res = await releaseIps(ds, reqs);
    res.forEach((r, j) => {
      const p = chunk[j] as IpamProblem;
      out.push({
        problem: p.id,
        action: 'release-ip',
        result: r.status === 'released' ? 'done' : 'skipped',
        detail:
          r.status === 'released'
            ? `released ${r.ip} (handle ${r.handleID ?? '-'})`
            : r.status === 'reallocated'
              ? `${r.ip} was given out again since the report: left alone`
              : r.status === 'handle-mismatch'
                ? `${r.ip} now belongs to handle ${r.handleID ?? '?'}: left alone`
                : `${r.ip} is no longer allocated`,
      });
    });
  }
  return out;
}

async function applyOne(ds: Datastore, problem: string, f: Fix): Promise<FixOutcome> {
  const done = (detail: string): FixOutcome => ({ problem, action: f.action, result: 'done', detail });
  const skipped = (detail: string): FixOutcome => ({ problem, action: f.action, result: 'skipped', detail });
  try {
    switch (f.action) {
      case 'release-ip':
        return skipped('handled in a batch');
      case 'delete-handle':
        await ds.delete({ kind: 'IPAMHandle', name: f.name }, { revision: f.revision });
        return done(`deleted handle ${f.handleID}`);
      case 'fix-handle': {
        const res: IPAMHandleResource = {
          apiVersion: API_VERSION,
          kind: 'IPAMHandle',
          metadata: { name: f.name || handleName(f.handleID) },
          spec: { handleID: f.handleID, block: f.block },
        };
        if (f.revision === '') await ds.create(res);
        else await ds.update(res, { revision: f.revision });
        return done(`${f.revision === '' ? 'created' : 'rewrote'} handle ${f.handleID} with ${JSON.stringify(f.block)}`);
      }
      case 'delete-affinity':
        await ds.delete({ kind: 'BlockAffinity', name: f.name }, { revision: f.revision });
        return done(`deleted BlockAffinity ${f.name}`);
      case 'create-affinity': {
        const b = await ds.get<IPAMBlockResource>({ kind: 'IPAMBlock', name: blockName(f.cidr) });
        if (!b || b.spec.affinity !== hostAffinity(f.node)) return skipped(`block ${f.cidr} no longer belongs to ${f.node}`);
        await ds.create(affinityResource(f.node, f.cidr));
        return done(`created BlockAffinity ${affinityName(f.node, f.cidr)}`);
      }
      case 'release-block-affinity': {
        const node = await ds.get<NodeResource>({ kind: 'Node', name: f.node });
        if (node) return skipped(`node ${f.node} exists again: its block ${f.cidr} is kept`);
        const b = await ds.get<IPAMBlockResource>({ kind: 'IPAMBlock', name: blockName(f.cidr) });
        // Guarded by ownership rather than by the report's revision: releasing the report's leaked
        // addresses (done just before) changes the block, and that must not stop this fix.
        if (!b || b.spec.affinity !== hostAffinity(f.node)) return skipped(`block ${f.cidr} no longer belongs to ${f.node}`);
        const rev = b.metadata.resourceVersion ?? '';
        const aff = await ds.get<BlockAffinityResource>({ kind: 'BlockAffinity', name: affinityName(f.node, f.cidr) });
        const affOp = aff ? [{ op: 'delete' as const, key: { kind: 'BlockAffinity' as const, name: aff.metadata.name }, revision: aff.metadata.resourceVersion ?? '' }] : [];
        if (inUseCount(b.spec) === 0) {
          await ds.txn([{ op: 'delete', key: { kind: 'IPAMBlock', name: b.metadata.name }, revision: rev }, ...affOp]);
          return done(`deleted empty block ${f.cidr} of missing node ${f.node}`);
        }
        const spec = cloneSpec(b.spec);
        delete spec.affinity;
        await ds.txn([{ op: 'update', resource: { ...b, spec }, revision: rev }, ...affOp]);
        return done(`block ${f.cidr} no longer belongs to missing node ${f.node} (its ${inUseCount(b.spec)} address(es) stay allocated)`);
      }
    }
  } catch (e) {
    if (stale(e)) return skipped(`changed since the report (${(e as Error).message})`);
    throw e;
  }
}
