// IPAM garbage collection: one pass, run periodically by twill-kube-controllers, and by twill-node
// for its own host's leaked addresses (`node`; src/node/ipam-gc.ts). Tests drive it with their own clock.
//
// - An allocation no workload endpoint uses is released once it has been seen unused for the grace
//   period (the first sighting is remembered in `state`; a restarted collector starts the grace
//   period again, which only delays collection). The release is guarded by the allocation's
//   sequence number, so an address handed out again in the meantime is left alone.
// - An empty block loses its affinity (and is deleted) only after two passes in a row saw it
//   empty; the delete is a compare-and-swap on the revision seen, so an allocation that slipped in
//   wins. A host that exists keeps its last block of each IP family.
// - A BlockAffinity whose block is gone (or belongs to someone else) is deleted after two passes.

import type { IpFamily } from '../src/api/cidr.js';
import { parseCidr } from '../src/api/cidr.js';
import type { IPAMBlockResource } from '../src/api/types.js';
import type { Datastore, TxnOp } from '../src/datastore/types.js';
import { inUseCount } from './block.js';
import { ALLOCATION_NODE_ATTR } from './host-routes.js';
import { affinityHost, affinityName } from './names.js';
import { releaseIps } from './release.js';
import { isCasFailure } from './retry.js';
import { allAllocations, endpointAddresses, readIpamState } from './state.js';

export interface GcState {
  /** Allocation key (ip#handle#sequence) → when it was first seen without an endpoint (ms). */
  unusedSince: Map<string, number>;
  /** Block name → revision at which the previous pass saw it empty and releasable. */
  emptySeen: Map<string, string>;
  /** BlockAffinity name → revision at which the previous pass saw it dangling. */
  danglingSeen: Map<string, string>;
}

export function newGcState(): GcState {
  return { unusedSince: new Map(), emptySeen: new Map(), danglingSeen: new Map() };
}

export interface GcOptions {
  /** How long an allocation must stay without a workload endpoint before it is released (default 15 min). */
  graceMs?: number;
  /**
   * Only this host's leaked addresses (allocations made for it, attribute `node`): what twill-node
   * collects for itself. Blocks and affinities are then left alone (the cluster-wide pass does them).
   */
  node?: string;
}

export const DEFAULT_GC_GRACE_MS = 15 * 60_000;

export interface GcResult {
  /** Addresses released this pass. */
  released: { ip: string; handleID: string | undefined; block: string }[];
  /** Allocations without an endpoint still inside their grace period. */
  waiting: number;
  /** Empty blocks deleted (with the host that held them). */
  blocksReleased: { cidr: string; node: string | undefined }[];
  /** Dangling BlockAffinity objects deleted. */
  affinitiesDeleted: string[];
  /** Writes that lost a race (they are retried on the next pass). */
  conflicts: number;
}

export async function gcPass(ds: Datastore, state: GcState, now: number, opts: GcOptions = {}): Promise<GcResult> {
  const graceMs = opts.graceMs ?? DEFAULT_GC_GRACE_MS;
  const result: GcResult = { released: [], waiting: 0, blocksReleased: [], affinitiesDeleted: [], conflicts: 0 };
  const s = await readIpamState(ds);

  // 1. Allocations without a workload endpoint.
  const used = endpointAddresses(s);
  const seen = new Set<string>();
  const due: { ip: string; handleID: string | undefined; sequence: number; block: string }[] = [];
  for (const a of allAllocations(s)) {
    if (used.has(a.ip)) continue;
    if (opts.node !== undefined && a.attrs[ALLOCATION_NODE_ATTR] !== opts.node) continue;
    const key = `${a.ip}#${a.handleID ?? ''}#${a.sequence}`;
    seen.add(key);
    const since = state.unusedSince.get(key) ?? now;
    state.unusedSince.set(key, since);
    if (now - since >= graceMs) due.push({ ip: a.ip, handleID: a.handleID, sequence: a.sequence, block: a.block });
    else result.waiting++;
  }
  for (const k of [...state.unusedSince.keys()]) if (!seen.has(k)) state.unusedSince.delete(k);
  for (let i = 0; i < due.length; i += 32) {
    const chunk = due.slice(i, i + 32);
    const out = await releaseIps(
      ds,
      chunk.map((d) => ({ ip: d.ip, sequence: d.sequence, ...(d.handleID !== undefined ? { handleID: d.handleID } : {}) })),
    );
    out.forEach((o, j) => {
      const d = chunk[j] as (typeof chunk)[number];
      if (o.status === 'released') {
        result.released.push({ ip: d.ip, handleID: d.handleID, block: d.block });
        state.unusedSince.delete(`${d.ip}#${d.handleID ?? ''}#${d.sequence}`);
      }
    });
  }

  if (opts.node !== undefined) return result;

  // 2. Empty blocks. A host that exists keeps one block per family (its lowest one when all are empty).
  const keep = new Set<string>();
  const byHostFamily = new Map<string, IPAMBlockResource[]>();
  for (const b of s.blocks) {
    const host = affinityHost(b.spec.affinity);
    if (host === undefined || !s.nodes.has(host)) continue;
    let fam: IpFamily;
    try {
      fam = parseCidr(b.spec.cidr).family;
    } catch {
      continue;
    }
    const k = `${host}|${fam}`;
    const l = byHostFamily.get(k);
    if (l) l.push(b);
    else byHostFamily.set(k, [b]);
  }
  for (const list of byHostFamily.values()) {
    if (list.some((b) => inUseCount(b.spec) > 0)) continue;
    const lowest = [...list].sort((x, y) => {
      const cx = parseCidr(x.spec.cidr).addr;
      const cy = parseCidr(y.spec.cidr).addr;
      return cx < cy ? -1 : cx > cy ? 1 : 0;
    })[0];
    if (lowest) keep.add(lowest.metadata.name);
  }
  const emptyNow = new Map<string, string>();
  const affByName = new Map(s.affinities.map((a) => [a.metadata.name, a]));
  for (const b of s.blocks) {
    if (inUseCount(b.spec) > 0 || keep.has(b.metadata.name)) continue;
    const rev = b.metadata.resourceVersion ?? '';
    emptyNow.set(b.metadata.name, rev);
    if (!state.emptySeen.has(b.metadata.name)) continue;
    // Seen empty by the previous pass too: release it, unless it changed since this pass read it.
    const host = affinityHost(b.spec.affinity);
    const ops: TxnOp[] = [{ op: 'delete', key: { kind: 'IPAMBlock', name: b.metadata.name }, revision: rev }];
    const aff = host !== undefined ? affByName.get(affinityName(host, b.spec.cidr)) : undefined;
    if (aff) ops.push({ op: 'delete', key: { kind: 'BlockAffinity', name: aff.metadata.name }, revision: aff.metadata.resourceVersion ?? '' });
    try {
      await ds.txn(ops);
      result.blocksReleased.push({ cidr: b.spec.cidr, node: host });
      emptyNow.delete(b.metadata.name);
      if (aff) affByName.delete(aff.metadata.name);
    } catch (e) {
      if (!isCasFailure(e)) throw e;
      result.conflicts++;
    }
  }
  state.emptySeen = emptyNow;

  // 3. Affinity objects whose block is gone or belongs to another host.
  const blockByCidr = new Map(s.blocks.map((b) => [b.spec.cidr, b]));
  const danglingNow = new Map<string, string>();
  for (const a of affByName.values()) {
    const b = blockByCidr.get(a.spec.cidr);
    if (b && affinityHost(b.spec.affinity) === a.spec.node) continue;
    const rev = a.metadata.resourceVersion ?? '';
    if (state.danglingSeen.get(a.metadata.name) !== rev) {
      danglingNow.set(a.metadata.name, rev);
      continue;
    }
    try {
      await ds.delete({ kind: 'BlockAffinity', name: a.metadata.name }, { revision: rev });
      result.affinitiesDeleted.push(a.metadata.name);
    } catch (e) {
      if (!isCasFailure(e)) throw e;
      result.conflicts++;
    }
  }
  state.danglingSeen = danglingNow;
  return result;
}
