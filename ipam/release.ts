// Releasing addresses: by handle (CNI DEL), by address (twillctl ipam release, GC), and giving up
// a host's blocks when the host goes away. Every write is one transaction with compare-and-swap on
// each object it changes, retried a bounded number of times.

import { API_VERSION } from '../src/api/types.js';
import type { BlockAffinityResource, IPAMBlockResource, IPAMHandleResource } from '../src/api/types.js';
import { cidrContains, formatIp, parseCidr, parseIp, type Cidr, type IpAddr } from '../src/api/cidr.js';
import type { Datastore, TxnOp } from '../src/datastore/types.js';
import { cloneSpec, compactAttributes, inUseCount, ipAt, ordinalsOfHandle, releaseOrdinal } from './block.js';
import { IpamRequestError, NotAllocatedError, UnknownHandleError } from './errors.js';
import { affinityHost, affinityName, blockName, handleName, hostAffinity } from './names.js';
import { poolOfCidr, type IpamPool } from './pools.js';
import { withCasRetry } from './retry.js';
import type { Assigned, ReleaseOutcome, ReleaseRequest } from './types.js';

export interface ReleaseOptions {
  maxRetries?: number;
}

function blockKey(cidr: string): { kind: 'IPAMBlock'; name: string } {
  return { kind: 'IPAMBlock', name: blockName(cidr) };
}

/** The addresses a handle holds now (empty when the handle does not exist). */
export async function handleAssignments(ds: Datastore, handleID: string, pools: IpamPool[] = []): Promise<Assigned[]> {
  const h = await ds.get<IPAMHandleResource>({ kind: 'IPAMHandle', name: handleName(handleID) });
  if (!h || h.spec.handleID !== handleID) return [];
  const blocks = await Promise.all(Object.keys(h.spec.block).map((c) => ds.get<IPAMBlockResource>(blockKey(c))));
  const out: Assigned[] = [];
  for (const b of blocks) {
    if (!b) continue;
    const cidr = parseCidr(b.spec.cidr);
    const owner = affinityHost(b.spec.affinity);
    for (const o of ordinalsOfHandle(b.spec, handleID)) {
      const ip = ipAt(b.spec, o, cidr);
      const node = b.spec.attributes[b.spec.allocations[o] ?? -1]?.secondary?.node;
      out.push({
        ip,
        family: cidr.family,
        cidr: `${ip}/${cidr.family === 4 ? 32 : 128}`,
        pool: poolOfCidr(pools, cidr)?.name ?? '',
        block: b.spec.cidr,
        blockOwner: owner,
        borrowed: node !== undefined ? owner !== node : false,
        handleID,
        sequence: b.spec.sequenceNumbers[o] ?? 0,
      });
    }
  }
  return out;
}

/**
 * Releases every address of a handle and deletes the handle, in one transaction.
 * Throws UnknownHandleError when the handle does not exist (nothing changed).
 */
export async function releaseByHandle(ds: Datastore, handleID: string, opts: ReleaseOptions = {}): Promise<ReleaseOutcome[]> {
  const name = handleName(handleID);
  return withCasRetry(`releasing handle ${handleID}`, opts.maxRetries ?? 100, async () => {
    const h = await ds.get<IPAMHandleResource>({ kind: 'IPAMHandle', name });
    if (!h || h.spec.handleID !== handleID) throw new UnknownHandleError(handleID);
    const blocks = await Promise.all(Object.keys(h.spec.block).map((c) => ds.get<IPAMBlockResource>(blockKey(c))));
    const ops: TxnOp[] = [];
    const out: ReleaseOutcome[] = [];
    for (const b of blocks) {
      if (!b) continue;
      const spec = cloneSpec(b.spec);
      const cidr = parseCidr(spec.cidr);
      const ords = ordinalsOfHandle(spec, handleID);
      if (ords.length === 0) continue;
      for (const o of ords) {
        releaseOrdinal(spec, o);
        out.push({ ip: ipAt(spec, o, cidr), status: 'released', handleID, block: spec.cidr });
      }
      compactAttributes(spec);
      ops.push({ op: 'update', resource: { ...b, spec }, revision: b.metadata.resourceVersion ?? '' });
    }
    ops.push({ op: 'delete', key: { kind: 'IPAMHandle', name }, revision: h.metadata.resourceVersion ?? '' });
    await ds.txn(ops);
    return out;
  });
}

function parseAddress(ip: string): IpAddr {
  try {
    return parseIp(ip);
  } catch (e) {
    throw new IpamRequestError(`cannot release "${ip}": ${(e as Error).message}`, 'give a single address such as 10.65.0.5 (no prefix length)');
  }
}

/**
 * Releases addresses, each only if it is allocated and (when given) still belongs to `handleID`
 * with sequence number `sequence`. All in one transaction (keep calls under ~40 addresses).
 * With `strict`, an address that cannot be released throws NotAllocatedError and nothing changes.
 */
export async function releaseIps(
  ds: Datastore,
  reqs: ReleaseRequest[],
  opts: ReleaseOptions & { strict?: boolean } = {},
): Promise<ReleaseOutcome[]> {
  const addrs = reqs.map((r) => parseAddress(r.ip));
  if (reqs.length === 0) return [];
  return withCasRetry('releasing addresses', opts.maxRetries ?? 100, async () => {
    const { items } = await ds.list<IPAMBlockResource>({ kind: 'IPAMBlock' });
    const parsed: { b: IPAMBlockResource; cidr: Cidr }[] = [];
    for (const b of items) {
      try {
        parsed.push({ b, cidr: parseCidr(b.spec.cidr) });
      } catch {
        // a corrupt block is reported by ipam check
      }
    }
    const touched = new Map<string, { b: IPAMBlockResource; spec: IPAMBlockResource['spec']; cidr: Cidr }>();
    const delta = new Map<string, Map<string, number>>(); // handle id → block cidr → released
    const out: ReleaseOutcome[] = [];
    reqs.forEach((r, i) => {
      const a = addrs[i] as IpAddr;
      const ip = formatIp(a);
      const hit = parsed.find((x) => cidrContains(x.cidr, a));
      if (!hit) {
        out.push({ ip, status: 'no-block' });
        return;
      }
      let t = touched.get(hit.b.metadata.name);
      if (!t) {
        t = { b: hit.b, spec: cloneSpec(hit.b.spec), cidr: hit.cidr };
        touched.set(hit.b.metadata.name, t);
      }
      const ord = Number(a.addr - t.cidr.addr);
      const res = releaseOrdinal(t.spec, ord, { handleID: r.handleID, sequence: r.sequence });
      out.push({ ip, status: res.status, handleID: res.handleID, block: t.spec.cidr });
      if (res.status === 'released' && res.handleID !== undefined) {
        let m = delta.get(res.handleID);
        if (!m) delta.set(res.handleID, (m = new Map()));
        m.set(t.spec.cidr, (m.get(t.spec.cidr) ?? 0) + 1);
      }
    });
    if (opts.strict) {
      const bad = out.find((o) => o.status !== 'released');
      if (bad) throw notReleasedError(bad);
    }
    const ops: TxnOp[] = [];
    for (const t of touched.values()) {
      if (!out.some((o) => o.status === 'released' && o.block === t.spec.cidr)) continue;
      compactAttributes(t.spec);
      ops.push({ op: 'update', resource: { ...t.b, spec: t.spec }, revision: t.b.metadata.resourceVersion ?? '' });
    }
    const handles = await Promise.all(
      [...delta.keys()].map((id) => ds.get<IPAMHandleResource>({ kind: 'IPAMHandle', name: handleName(id) })),
    );
    for (const h of handles) {
      if (!h) continue;
      const d = delta.get(h.spec.handleID);
      if (!d) continue;
      const counts: Record<string, number> = {};
      for (const [c, n] of Object.entries(h.spec.block)) {
        const left = n - (d.get(c) ?? 0);
        if (left > 0) counts[c] = left;
      }
      if (Object.keys(counts).length === 0) {
        ops.push({ op: 'delete', key: { kind: 'IPAMHandle', name: h.metadata.name }, revision: h.metadata.resourceVersion ?? '' });
      } else {
        ops.push({ op: 'update', resource: { ...h, spec: { handleID: h.spec.handleID, block: counts } }, revision: h.metadata.resourceVersion ?? '' });
      }
    }
    if (ops.length > 0) await ds.txn(ops);
    return out;
  });
}

export function notReleasedError(o: ReleaseOutcome): NotAllocatedError {
  switch (o.status) {
    case 'no-block':
      return new NotAllocatedError(o.ip, 'no IPAM block holds it');
    case 'handle-mismatch':
      return new NotAllocatedError(o.ip, `it belongs to handle ${o.handleID ?? '?'}, not the one given`);
    case 'reallocated':
      return new NotAllocatedError(o.ip, `it was given out again since (now held by handle ${o.handleID ?? '?'})`);
    default:
      return new NotAllocatedError(o.ip, `block ${o.block ?? '?'} has it free`);
  }
}

export interface RemoveHostResult {
  /** Empty blocks of the host that were deleted. */
  deletedBlocks: string[];
  /** Blocks that still hold addresses: their affinity was removed; other hosts may borrow from them. */
  releasedBlocks: string[];
  /** Stale BlockAffinity objects of the host that were deleted. */
  deletedAffinities: string[];
}

/**
 * Gives up every block of a host that is gone: empty blocks are deleted, blocks still holding
 * addresses lose their affinity (the addresses stay allocated until released or collected).
 */
export async function removeHost(ds: Datastore, node: string, opts: ReleaseOptions = {}): Promise<RemoveHostResult> {
  const result: RemoveHostResult = { deletedBlocks: [], releasedBlocks: [], deletedAffinities: [] };
  const [{ items: blocks }, { items: affs }] = await Promise.all([
    ds.list<IPAMBlockResource>({ kind: 'IPAMBlock' }),
    ds.list<BlockAffinityResource>({ kind: 'BlockAffinity', namePrefix: `${node}-` }),
  ]);
  const mine = blocks.filter((b) => b.spec.affinity === hostAffinity(node));
  for (const first of mine) {
    await withCasRetry(`releasing block ${first.spec.cidr} of node ${node}`, opts.maxRetries ?? 100, async (n) => {
      const b = n === 0 ? first : await ds.get<IPAMBlockResource>(blockKey(first.spec.cidr));
      if (!b || b.spec.affinity !== hostAffinity(node)) return;
      const affKey = { kind: 'BlockAffinity' as const, name: affinityName(node, b.spec.cidr) };
      const aff = await ds.get<BlockAffinityResource>(affKey);
      const ops: TxnOp[] = [];
      if (inUseCount(b.spec) === 0) {
        ops.push({ op: 'delete', key: blockKey(b.spec.cidr), revision: b.metadata.resourceVersion ?? '' });
      } else {
        const spec = cloneSpec(b.spec);
        delete spec.affinity;
        ops.push({ op: 'update', resource: { ...b, spec }, revision: b.metadata.resourceVersion ?? '' });
      }
      if (aff) ops.push({ op: 'delete', key: affKey, revision: aff.metadata.resourceVersion ?? '' });
      await ds.txn(ops);
      (inUseCount(b.spec) === 0 ? result.deletedBlocks : result.releasedBlocks).push(b.spec.cidr);
    });
  }
  const handled = new Set(mine.map((b) => affinityName(node, b.spec.cidr)));
  for (const a of affs) {
    if (a.spec.node !== node || handled.has(a.metadata.name)) continue;
    try {
      await ds.delete({ kind: 'BlockAffinity', name: a.metadata.name }, { revision: a.metadata.resourceVersion ?? '' });
      result.deletedAffinities.push(a.metadata.name);
    } catch {
      // changed or gone since we read it: leave it to the next GC pass
    }
  }
  return result;
}

/** A BlockAffinity object for a block (used when repairing). */
export function affinityResource(node: string, cidr: string): BlockAffinityResource {
  return {
    apiVersion: API_VERSION,
    kind: 'BlockAffinity',
    metadata: { name: affinityName(node, cidr) },
    spec: { node, cidr, state: 'confirmed' },
  };
}
