// apply / create / replace / delete as one plan: read what is stored, decide each object's
// outcome, check the state the plan would leave (e.g. overlapping pools), then write everything
// in ONE datastore transaction (all or nothing). Every update and delete is a compare-and-swap on
// the revision read while planning, so a concurrent writer makes the transaction fail (and apply
// plans again) rather than being overwritten blindly.

import { formatKey, type IPPoolResource, type Resource, type ResourceKey } from '../api/types.js';
import { AlreadyExistsError, ConflictError, GuardConflictError, NotFoundError } from '../datastore/errors.js';
import type { Datastore, TxnGuard, TxnOp } from '../datastore/types.js';
import { checkPoolOverlap } from '../../ipam/pools.js';
import { backoff } from '../../ipam/retry.js';
import { TwillError } from '../errors.js';
import { isPool, poolOverlapProblems } from './checks.js';
import { InputProblemsError, type InputProblem } from './problems.js';
import { sameUserContent } from './same.js';

export type WriteMode = 'apply' | 'create' | 'replace' | 'delete';
export type Outcome = 'created' | 'configured' | 'unchanged' | 'replaced' | 'deleted' | 'not found (skipped)';

export interface WriteItem {
  key: ResourceKey;
  /** The object to write (absent for delete). */
  resource?: Resource;
  /** Where it came from (file.yaml#2), for messages. */
  source?: string;
}

export interface PlannedWrite {
  key: ResourceKey;
  source?: string;
  outcome: Outcome;
  op?: TxnOp;
  /** What a check of this write read (IPPool overlap): the write fails if it changed meanwhile. */
  guard?: TxnGuard;
}

export interface PlanOptions {
  /** delete: a missing object is skipped instead of failing the whole plan. */
  skipMissing?: boolean;
}

const MAX_PARALLEL_READS = 32;
/**
 * Attempts of a write whose read went stale. Each lost race means another write landed, so N
 * writers racing for the same objects (or the same pool guard) all finish within N attempts;
 * the jittered backoff between attempts spreads them out.
 */
const APPLY_ATTEMPTS = 30;

function keyString(k: ResourceKey): string {
  return `${k.kind}\u0000${k.namespace ?? ''}\u0000${k.name}`;
}

async function readAll(ds: Datastore, keys: readonly ResourceKey[]): Promise<(Resource | undefined)[]> {
  const out: (Resource | undefined)[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i += MAX_PARALLEL_READS) {
    const chunk = keys.slice(i, i + MAX_PARALLEL_READS);
    const got = await Promise.all(chunk.map((k) => ds.get(k)));
    got.forEach((r, j) => (out[i + j] = r));
  }
  return out;
}

/** The object to store when `input` replaces `current`: server fields and status are kept. */
function overCurrent(input: Resource, current: Resource): Resource {
  const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, ...userMeta } = input.metadata;
  const metadata = { ...userMeta };
  if (current.metadata.uid !== undefined) Object.assign(metadata, { uid: current.metadata.uid });
  if (current.metadata.creationTimestamp !== undefined) {
    Object.assign(metadata, { creationTimestamp: current.metadata.creationTimestamp });
  }
  const next = { ...input, metadata } as Resource;
  if (current.status !== undefined) (next as { status?: unknown }).status = current.status;
  else delete (next as { status?: unknown }).status;
  return next;
}

/** A new object as the user wrote it, without server fields or status. */
function fresh(input: Resource): Resource {
  const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, ...metadata } = input.metadata;
  const next = { ...input, metadata } as Resource;
  delete (next as { status?: unknown }).status;
  return next;
}

function problemFor(item: WriteItem, message: string, path?: string): InputProblem {
  return {
    ...(item.source !== undefined ? { source: item.source } : {}),
    object: formatKey(item.key),
    ...(path !== undefined ? { path } : {}),
    message,
  };
}

const HINTS: Record<WriteMode, string> = {
  apply: 'nothing was written; fix the input and run apply again',
  create: 'nothing was created; use "twillctl apply" to create or update, or remove the existing objects from the input',
  replace: 'nothing was replaced; use "twillctl create" or "twillctl apply" for objects that do not exist yet',
  delete: 'nothing was deleted; add --skip-not-exists to ignore objects that are already gone',
};

/** Decides what each item does. Throws InputProblemsError (listing every problem) and writes nothing. */
export async function planWrites(
  ds: Datastore,
  mode: WriteMode,
  items: readonly WriteItem[],
  opts: PlanOptions = {},
): Promise<PlannedWrite[]> {
  const problems: InputProblem[] = [];
  const seen = new Map<string, WriteItem>();
  for (const item of items) {
    const ks = keyString(item.key);
    const first = seen.get(ks);
    if (first) {
      problems.push(
        item.source !== undefined
          ? problemFor(item, `defined twice: first in ${first.source ?? 'the arguments'}`, 'metadata.name')
          : problemFor(item, 'is named twice'),
      );
    } else {
      seen.set(ks, item);
    }
  }
  if (problems.length > 0) throw new InputProblemsError(problems, HINTS[mode]);

  const current = await readAll(ds, items.map((i) => i.key));
  const plan: PlannedWrite[] = [];
  items.forEach((item, i) => {
    const cur = current[i];
    const base = { key: item.key, ...(item.source !== undefined ? { source: item.source } : {}) };
    const input = item.resource;
    switch (mode) {
      case 'apply': {
        if (!input) throw new Error('apply without a resource');
        if (!cur) plan.push({ ...base, outcome: 'created', op: { op: 'create', resource: fresh(input) } });
        else if (sameUserContent(cur, input)) plan.push({ ...base, outcome: 'unchanged' });
        else {
          const op: TxnOp = { op: 'update', resource: overCurrent(input, cur) };
          if (cur.metadata.resourceVersion !== undefined) op.revision = cur.metadata.resourceVersion;
          plan.push({ ...base, outcome: 'configured', op });
        }
        break;
      }
      case 'create': {
        if (!input) throw new Error('create without a resource');
        if (cur) problems.push(problemFor(item, 'already exists'));
        else plan.push({ ...base, outcome: 'created', op: { op: 'create', resource: fresh(input) } });
        break;
      }
      case 'replace': {
        if (!input) throw new Error('replace without a resource');
        if (!cur) {
          problems.push(problemFor(item, 'not found'));
          break;
        }
        const wanted = input.metadata.resourceVersion;
        if (sameUserContent(cur, input) && (wanted === undefined || wanted === cur.metadata.resourceVersion)) {
          plan.push({ ...base, outcome: 'unchanged' });
          break;
        }
        // A resourceVersion in the input (e.g. from `get -o yaml`) means "only if nobody changed it since".
        const revision = wanted ?? cur.metadata.resourceVersion;
        const op: TxnOp = { op: 'update', resource: overCurrent(input, cur) };
        if (revision !== undefined) op.revision = revision;
        plan.push({ ...base, outcome: 'replaced', op });
        break;
      }
      case 'delete': {
        if (!cur) {
          if (opts.skipMissing) plan.push({ ...base, outcome: 'not found (skipped)' });
          else problems.push(problemFor(item, 'not found'));
          break;
        }
        const op: TxnOp = { op: 'delete', key: item.key };
        if (cur.metadata.resourceVersion !== undefined) op.revision = cur.metadata.resourceVersion;
        plan.push({ ...base, outcome: 'deleted', op });
        break;
      }
    }
  });
  if (problems.length === 0) problems.push(...(await crossObjectProblems(ds, plan)));
  if (problems.length > 0) throw new InputProblemsError(problems, HINTS[mode]);
  return plan;
}

async function crossObjectProblems(ds: Datastore, plan: readonly PlannedWrite[]): Promise<InputProblem[]> {
  const written: { resource: IPPoolResource; source?: string }[] = [];
  const deleted = new Set<string>();
  for (const p of plan) {
    if (p.op?.op === 'create' || p.op?.op === 'update') {
      if (isPool(p.op.resource)) written.push({ resource: p.op.resource, ...(p.source !== undefined ? { source: p.source } : {}) });
    } else if (p.op?.op === 'delete' && p.key.kind === 'IPPool') {
      deleted.add(p.key.name);
    }
  }
  if (written.length === 0) return [];
  const { items: stored, revision } = await ds.list<IPPoolResource>({ kind: 'IPPool' });
  // The overlap check holds only for the pools read here: a pool created or changed before our
  // transaction fails it (GuardConflictError), and apply plans again from a fresh read.
  for (const p of plan) if ((p.op?.op === 'create' || p.op?.op === 'update') && isPool(p.op.resource)) p.guard = { kind: 'IPPool', revision };
  const problems: InputProblem[] = poolOverlapProblems(stored, written, deleted);
  if (problems.length > 0) return problems;
  // IPAM's own rules for a pool that changes (e.g. no new CIDR or block size while blocks of it
  // are in use).
  const storedNames = new Set(stored.map((p) => p.metadata.name));
  for (const w of written) {
    if (!storedNames.has(w.resource.metadata.name)) continue;
    try {
      await checkPoolOverlap(ds, w.resource, { alsoApplying: written.map((x) => x.resource) });
    } catch (e) {
      if (!(e instanceof TwillError)) throw e;
      problems.push({
        ...(w.source !== undefined ? { source: w.source } : {}),
        message: e.hint ? `${e.message} (${e.hint})` : e.message,
      });
    }
  }
  return problems;
}

/** Writes the plan in one transaction (nothing when every object is unchanged). */
export async function executePlan(ds: Datastore, plan: readonly PlannedWrite[]): Promise<void> {
  const ops = plan.flatMap((p) => (p.op ? [p.op] : []));
  const guards = plan.flatMap((p) => (p.guard ? [p.guard] : [])).slice(0, 1);
  if (ops.length > 0) await ds.txn(ops, guards.length > 0 ? { guards } : {});
}

/**
 * Plans and writes. When a concurrent writer changed, created or deleted an object between the
 * read and the transaction (the transaction then fails as a whole), `apply`, `delete` and a
 * `replace` without resourceVersions plan again from a fresh read; create fails as it should.
 */
export async function planAndWrite(
  ds: Datastore,
  mode: WriteMode,
  items: readonly WriteItem[],
  opts: PlanOptions & { dryRun?: boolean } = {},
): Promise<PlannedWrite[]> {
  const retryable = mode === 'apply' || mode === 'delete' || (mode === 'replace' && items.every((i) => i.resource?.metadata.resourceVersion === undefined));
  for (let attempt = 1; ; attempt++) {
    const plan = await planWrites(ds, mode, items, opts);
    if (opts.dryRun) return plan;
    try {
      await executePlan(ds, plan);
      return plan;
    } catch (e) {
      // A guard (a pool check's read went stale) is re-checked in every mode, create too.
      const raced = e instanceof ConflictError || e instanceof AlreadyExistsError || e instanceof NotFoundError;
      if (!raced || !(retryable || e instanceof GuardConflictError) || attempt >= APPLY_ATTEMPTS) throw e;
      await backoff(attempt);
    }
  }
}

