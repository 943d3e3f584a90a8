// `twillctl ipam check`: reads all IPAM data and reports every inconsistency with its evidence,
// and for most a fix that `twillctl ipam release --from-report` can apply safely (each fix is
// guarded by a revision or sequence number, so a report that has gone stale changes nothing).
//
// The datastore is read twice and only problems present in both reads are reported, so writes that
// were in flight during the first read (an allocation between its block and handle being listed)
// do not show up as false alarms.

import { cidrContains, parseCidr, type Cidr } from '../src/api/cidr.js';
import type { Datastore } from '../src/datastore/types.js';
import { blockProblems } from './block.js';
import { affinityHost, affinityName } from './names.js';
import { allAllocations, endpointAddresses, readIpamState, type Allocation, type IpamState } from './state.js';

export type ProblemType =
  | 'leaked-allocation'
  | 'recent-allocation-without-endpoint'
  | 'orphan-handle'
  | 'handle-mismatch'
  | 'allocation-without-handle'
  | 'block-of-missing-node'
  | 'affinity-without-block'
  | 'affinity-mismatch'
  | 'block-without-affinity'
  | 'double-allocation'
  | 'endpoint-address-not-allocated'
  | 'corrupt-block'
  | 'block-outside-pools'
  | 'invalid-pool';

export type Fix =
  | { action: 'release-ip'; ip: string; handleID?: string; sequence: number }
  | { action: 'delete-handle'; handleID: string; name: string; revision: string }
  /** Rewrite (or, with revision "", create) a handle so its counts match the blocks. */
  | { action: 'fix-handle'; handleID: string; name: string; revision: string; block: Record<string, number> }
  | { action: 'release-block-affinity'; node: string; cidr: string; blockRevision: string }
  | { action: 'delete-affinity'; name: string; revision: string }
  | { action: 'create-affinity'; node: string; cidr: string };

export interface IpamProblem {
  /** Stable identity of the problem (same problem, same id, across runs). */
  id: string;
  type: ProblemType;
  /** Problems make `ipam check` exit 3; warnings are shown but do not. */
  severity: 'problem' | 'warning';
  message: string;
  evidence: Record<string, unknown>;
  fix?: Fix;
}

export interface IpamReport {
  kind: 'IpamCheckReport';
  version: 1;
  generatedAt: string;
  datastore: string;
  summary: {
    pools: number;
    blocks: number;
    allocations: number;
    handles: number;
    workloadEndpoints: number;
    problems: number;
    warnings: number;
  };
  problems: IpamProblem[];
}

export interface CheckOptions {
  /** ms since epoch (default: now). */
  now?: number;
  /**
   * Allocations younger than this without a workload endpoint are warnings (probably a CNI ADD in
   * progress), older ones are leaks. Default 60 s.
   */
  graceMs?: number;
  /** Read twice and keep only problems seen both times (default true). */
  confirm?: boolean;
}

export const DEFAULT_CHECK_GRACE_MS = 60_000;

function allocationAge(a: Allocation, now: number): number | undefined {
  const ts = a.attrs.timestamp;
  if (ts === undefined) return undefined;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? undefined : now - t;
}

function describeOwner(a: Allocation): string {
  const parts: string[] = [];
  if (a.attrs.namespace !== undefined && a.attrs.pod !== undefined) parts.push(`pod ${a.attrs.namespace}/${a.attrs.pod}`);
  if (a.attrs.node !== undefined) parts.push(`node ${a.attrs.node}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** All problems in one read of the IPAM state. Pure. */
export function checkState(state: IpamState, opts: { now: number; graceMs: number }): IpamProblem[] {
  const problems: IpamProblem[] = [];
  const add = (p: IpamProblem): void => {
    problems.push(p);
  };
  const allocs = allAllocations(state);
  const weps = endpointAddresses(state);
  const handleByID = new Map(state.handles.map((h) => [h.spec.handleID, h]));

  for (const bad of state.invalidPools) {
    add({ id: `invalid-pool:${bad.name}`, type: 'invalid-pool', severity: 'problem', message: `IPPool ${bad.name} is not valid: ${bad.reason}`, evidence: { pool: bad.name } });
  }

  // Blocks: structure, pool membership, owner.
  const parsedBlocks: { cidr: Cidr; text: string }[] = [];
  for (const b of state.blocks) {
    const issues = blockProblems(b.spec);
    if (issues.length > 0) {
      add({
        id: `corrupt-block:${b.spec.cidr}`,
        type: 'corrupt-block',
        severity: 'problem',
        message: `IPAMBlock ${b.metadata.name} is inconsistent: ${issues.slice(0, 5).join('; ')}`,
        evidence: { block: b.spec.cidr, issues },
      });
      continue;
    }
    const cidr = parseCidr(b.spec.cidr);
    parsedBlocks.push({ cidr, text: b.spec.cidr });
    if (!state.pools.some((p) => cidrContains(p.cidr, cidr))) {
      add({
        id: `block-outside-pools:${b.spec.cidr}`,
        type: 'block-outside-pools',
        severity: 'warning',
        message: `block ${b.spec.cidr} lies in no IPPool (was its pool deleted?); its addresses stay allocated until released`,
        evidence: { block: b.spec.cidr, inUse: b.spec.allocations.filter((x) => x !== null).length },
      });
    }
    const owner = affinityHost(b.spec.affinity);
    if (owner !== undefined && !state.nodes.has(owner)) {
      add({
        id: `block-of-missing-node:${b.spec.cidr}`,
        type: 'block-of-missing-node',
        severity: 'problem',
        message: `block ${b.spec.cidr} is claimed by node ${owner}, which has no Node resource`,
        evidence: { block: b.spec.cidr, node: owner, inUse: b.spec.allocations.filter((x) => x !== null).length },
        fix: { action: 'release-block-affinity', node: owner, cidr: b.spec.cidr, blockRevision: b.metadata.resourceVersion ?? '' },
      });
    }
    if (owner !== undefined && !state.affinities.some((a) => a.metadata.name === affinityName(owner, b.spec.cidr))) {
      add({
        id: `block-without-affinity:${b.spec.cidr}`,
        type: 'block-without-affinity',
        severity: 'problem',
        message: `block ${b.spec.cidr} says it belongs to node ${owner}, but there is no BlockAffinity ${affinityName(owner, b.spec.cidr)} (the node does not see it as its own)`,
        evidence: { block: b.spec.cidr, node: owner },
        fix: { action: 'create-affinity', node: owner, cidr: b.spec.cidr },
      });
    }
  }

  // Affinity objects that point nowhere.
  const blockByCidr = new Map(state.blocks.map((b) => [b.spec.cidr, b]));
  for (const a of state.affinities) {
    const b = blockByCidr.get(a.spec.cidr);
    if (!b) {
      add({
        id: `affinity-without-block:${a.metadata.name}`,
        type: 'affinity-without-block',
        severity: 'problem',
        message: `BlockAffinity ${a.metadata.name} gives node ${a.spec.node} block ${a.spec.cidr}, which does not exist`,
        evidence: { affinity: a.metadata.name, node: a.spec.node, block: a.spec.cidr },
        fix: { action: 'delete-affinity', name: a.metadata.name, revision: a.metadata.resourceVersion ?? '' },
      });
    } else if (affinityHost(b.spec.affinity) !== a.spec.node) {
      add({
        id: `affinity-mismatch:${a.metadata.name}`,
        type: 'affinity-mismatch',
        severity: 'problem',
        message: `BlockAffinity ${a.metadata.name} gives block ${a.spec.cidr} to node ${a.spec.node}, but the block says ${b.spec.affinity ?? 'it has no owner'}`,
        evidence: { affinity: a.metadata.name, node: a.spec.node, block: a.spec.cidr, blockAffinity: b.spec.affinity ?? null },
        fix: { action: 'delete-affinity', name: a.metadata.name, revision: a.metadata.resourceVersion ?? '' },
      });
    }
  }

  // Overlapping blocks: the same address could be handed out twice.
  const sorted = [...parsedBlocks].sort((x, y) => x.cidr.family - y.cidr.family || (x.cidr.addr < y.cidr.addr ? -1 : x.cidr.addr > y.cidr.addr ? 1 : 0));
  const allocatedIn = new Map<string, Allocation[]>();
  for (const a of allocs) {
    const l = allocatedIn.get(a.ip);
    if (l) l.push(a);
    else allocatedIn.set(a.ip, [a]);
  }
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as { cidr: Cidr; text: string };
    const cur = sorted[i] as { cidr: Cidr; text: string };
    if (prev.cidr.family === cur.cidr.family && (cidrContains(prev.cidr, cur.cidr) || cidrContains(cur.cidr, prev.cidr))) {
      add({
        id: `double-allocation:blocks:${prev.text}:${cur.text}`,
        type: 'double-allocation',
        severity: 'problem',
        message: `blocks ${prev.text} and ${cur.text} overlap: an address in both can be given out twice`,
        evidence: { blocks: [prev.text, cur.text] },
      });
    }
  }
  for (const [ip, list] of allocatedIn) {
    if (list.length < 2) continue;
    add({
      id: `double-allocation:${ip}`,
      type: 'double-allocation',
      severity: 'problem',
      message: `address ${ip} is allocated ${list.length} times: ${list.map((a) => `handle ${a.handleID ?? '?'} in block ${a.block}`).join(', ')}`,
      evidence: { ip, allocations: list.map((a) => ({ block: a.block, handleID: a.handleID, attrs: a.attrs, sequence: a.sequence })) },
    });
  }

  // Endpoints against allocations.
  for (const [ip, list] of weps) {
    const names = list.map((w) => `${w.metadata.namespace ?? 'default'}/${w.metadata.name}`);
    if (list.length > 1) {
      add({
        id: `double-allocation:endpoints:${ip}`,
        type: 'double-allocation',
        severity: 'problem',
        message: `address ${ip} is used by ${list.length} workload endpoints: ${names.join(', ')}`,
        evidence: { ip, workloadEndpoints: names, nodes: list.map((w) => w.spec.node) },
      });
    }
    const allocated = allocatedIn.get(ip);
    if (!allocated) {
      const inPool = state.pools.find((p) => {
        try {
          return cidrContains(p.cidr, parseCidr(ip, { allowBare: true }));
        } catch {
          return false;
        }
      });
      if (inPool) {
        add({
          id: `endpoint-address-not-allocated:${ip}`,
          type: 'endpoint-address-not-allocated',
          severity: 'problem',
          message: `workload endpoint ${names.join(', ')} uses ${ip} from pool ${inPool.name}, but IPAM has it free: it can be given to another workload`,
          evidence: { ip, workloadEndpoints: names, pool: inPool.name },
        });
      }
      continue;
    }
    for (const w of list) {
      const cid = w.spec.containerID;
      const a = allocated[0] as Allocation;
      if (cid && a.handleID !== undefined && !a.handleID.endsWith(`.${cid}`)) {
        add({
          id: `double-allocation:container:${ip}:${cid}`,
          type: 'double-allocation',
          severity: 'problem',
          message: `address ${ip} is used by workload endpoint ${w.metadata.namespace ?? 'default'}/${w.metadata.name} (container ${cid}) but is allocated to handle ${a.handleID}`,
          evidence: { ip, workloadEndpoint: `${w.metadata.namespace ?? 'default'}/${w.metadata.name}`, containerID: cid, handleID: a.handleID, attrs: a.attrs },
        });
      }
    }
  }

  // Allocations without an endpoint: leaks (or, when fresh, probably a CNI ADD in progress).
  for (const a of allocs) {
    if (weps.has(a.ip)) continue;
    const age = allocationAge(a, opts.now);
    const evidence = {
      ip: a.ip,
      block: a.block,
      handleID: a.handleID ?? null,
      sequence: a.sequence,
      attrs: a.attrs,
      ageSeconds: age === undefined ? null : Math.round(age / 1000),
      reason: 'no WorkloadEndpoint lists this address',
    };
    if (age !== undefined && age < opts.graceMs) {
      add({
        id: `recent-allocation-without-endpoint:${a.ip}:${a.sequence}`,
        type: 'recent-allocation-without-endpoint',
        severity: 'warning',
        message: `address ${a.ip} (handle ${a.handleID ?? '?'}${describeOwner(a)}) was allocated ${Math.round(age / 1000)} s ago and has no workload endpoint yet (in flight, or a leak once older than ${Math.round(opts.graceMs / 1000)} s)`,
        evidence,
      });
      continue;
    }
    const fix: Fix = { action: 'release-ip', ip: a.ip, sequence: a.sequence };
    if (a.handleID !== undefined) fix.handleID = a.handleID;
    add({
      id: `leaked-allocation:${a.ip}:${a.sequence}`,
      type: 'leaked-allocation',
      severity: 'problem',
      message: `address ${a.ip} is allocated to handle ${a.handleID ?? '(none)'}${describeOwner(a)} but no workload endpoint uses it`,
      evidence,
      fix,
    });
  }

  // Handles against allocations.
  const actual = new Map<string, Record<string, number>>();
  for (const a of allocs) {
    if (a.handleID === undefined) continue;
    const m = actual.get(a.handleID) ?? {};
    m[a.block] = (m[a.block] ?? 0) + 1;
    actual.set(a.handleID, m);
  }
  const same = (x: Record<string, number>, y: Record<string, number>): boolean => {
    const kx = Object.keys(x).filter((k) => (x[k] ?? 0) > 0);
    const ky = Object.keys(y).filter((k) => (y[k] ?? 0) > 0);
    return kx.length === ky.length && kx.every((k) => x[k] === y[k]);
  };
  for (const h of state.handles) {
    const got = actual.get(h.spec.handleID);
    if (!got) {
      add({
        id: `orphan-handle:${h.spec.handleID}`,
        type: 'orphan-handle',
        severity: 'problem',
        message: `IPAM handle ${h.spec.handleID} holds no address (it claims ${JSON.stringify(h.spec.block)})`,
        evidence: { handleID: h.spec.handleID, claims: h.spec.block },
        fix: { action: 'delete-handle', handleID: h.spec.handleID, name: h.metadata.name, revision: h.metadata.resourceVersion ?? '' },
      });
    } else if (!same(got, h.spec.block)) {
      add({
        id: `handle-mismatch:${h.spec.handleID}`,
        type: 'handle-mismatch',
        severity: 'problem',
        message: `IPAM handle ${h.spec.handleID} claims ${JSON.stringify(h.spec.block)} but the blocks hold ${JSON.stringify(got)}`,
        evidence: { handleID: h.spec.handleID, claims: h.spec.block, actual: got },
        fix: { action: 'fix-handle', handleID: h.spec.handleID, name: h.metadata.name, revision: h.metadata.resourceVersion ?? '', block: got },
      });
    }
  }
  for (const [hid, got] of actual) {
    if (handleByID.has(hid)) continue;
    add({
      id: `allocation-without-handle:${hid}`,
      type: 'allocation-without-handle',
      severity: 'problem',
      message: `addresses in ${Object.keys(got).join(', ')} are allocated to handle ${hid}, which does not exist (release by handle cannot free them)`,
      evidence: { handleID: hid, actual: got },
      fix: { action: 'fix-handle', handleID: hid, name: '', revision: '', block: got },
    });
  }
  return problems;
}

function addressKey(p: IpamProblem): bigint {
  const ip = p.evidence.ip;
  if (typeof ip !== 'string') return -1n;
  try {
    const c = parseCidr(ip, { allowBare: true });
    return (BigInt(c.family) << 128n) | c.addr;
  } catch {
    return -1n;
  }
}

/** Problems before warnings, then by type, then by address (numerically), then by id. */
export function compareProblems(a: IpamProblem, b: IpamProblem): number {
  const sev = (p: IpamProblem): number => (p.severity === 'problem' ? 0 : 1);
  if (sev(a) !== sev(b)) return sev(a) - sev(b);
  if (a.type !== b.type) return a.type < b.type ? -1 : 1;
  const ka = addressKey(a);
  const kb = addressKey(b);
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Runs the check against a datastore and builds the report. */
export async function checkIpam(ds: Datastore, opts: CheckOptions = {}): Promise<IpamReport> {
  const graceMs = opts.graceMs ?? DEFAULT_CHECK_GRACE_MS;
  let state = await readIpamState(ds);
  let problems = checkState(state, { now: opts.now ?? Date.now(), graceMs });
  if (opts.confirm !== false && problems.length > 0) {
    const first = new Set(problems.map((p) => p.id));
    state = await readIpamState(ds);
    problems = checkState(state, { now: opts.now ?? Date.now(), graceMs }).filter((p) => first.has(p.id));
  }
  problems.sort(compareProblems);
  return {
    kind: 'IpamCheckReport',
    version: 1,
    generatedAt: new Date(opts.now ?? Date.now()).toISOString(),
    datastore: ds.location,
    summary: {
      pools: state.pools.length,
      blocks: state.blocks.length,
      allocations: allAllocations(state).length,
      handles: state.handles.length,
      workloadEndpoints: state.workloadEndpoints.length,
      problems: problems.filter((p) => p.severity === 'problem').length,
      warnings: problems.filter((p) => p.severity === 'warning').length,
    },
    problems,
  };
}
