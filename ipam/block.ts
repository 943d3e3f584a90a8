// Pure operations on an IPAM block's spec. Nothing here does I/O; callers clone a stored block,
// change the clone with these functions and write it back with a compare-and-swap.
//
// allocations[o] is an index into attributes (or null when ordinal o is free); unallocated is the
// list of free ordinals in hand-out order (a released ordinal goes to the back, so a just-freed
// address is reused last); sequenceNumbers[o] is bumped on every allocation of ordinal o.

import type { IPAMBlockSpec } from '../src/api/types.js';
import { addrAt, cidrSize, formatIp, parseCidr, type Cidr } from '../src/api/cidr.js';

export type Secondary = Record<string, string>;

export interface AllocatedOrdinal {
  ordinal: number;
  sequence: number;
}

export function newBlockSpec(cidr: Cidr, affinity: string | undefined, strictAffinity: boolean): IPAMBlockSpec {
  const size = Number(cidrSize(cidr));
  const spec: IPAMBlockSpec = {
    cidr: `${formatIp(cidr)}/${cidr.prefixLength}`,
    allocations: new Array<number | null>(size).fill(null),
    unallocated: Array.from({ length: size }, (_, i) => i),
    attributes: [],
    sequenceNumbers: new Array<number>(size).fill(0),
  };
  if (affinity !== undefined) spec.affinity = affinity;
  if (strictAffinity) spec.strictAffinity = true;
  return spec;
}

export function cloneSpec(spec: IPAMBlockSpec): IPAMBlockSpec {
  return structuredClone(spec);
}

export function blockSize(spec: IPAMBlockSpec): number {
  return spec.allocations.length;
}

export function freeCount(spec: IPAMBlockSpec): number {
  return spec.unallocated.length;
}

export function inUseCount(spec: IPAMBlockSpec): number {
  let n = 0;
  for (const a of spec.allocations) if (a !== null) n++;
  return n;
}

function sameSecondary(a: Secondary | undefined, b: Secondary | undefined): boolean {
  const ka = Object.keys(a ?? {});
  const kb = Object.keys(b ?? {});
  if (ka.length !== kb.length) return false;
  for (const k of ka) if ((a ?? {})[k] !== (b ?? {})[k]) return false;
  return true;
}

function attributeIndex(spec: IPAMBlockSpec, handleID: string, secondary: Secondary | undefined): number {
  const i = spec.attributes.findIndex((a) => a.handleID === handleID && sameSecondary(a.secondary, secondary));
  if (i >= 0) return i;
  const attr: IPAMBlockSpec['attributes'][number] = { handleID };
  if (secondary && Object.keys(secondary).length > 0) attr.secondary = { ...secondary };
  spec.attributes.push(attr);
  return spec.attributes.length - 1;
}

/**
 * Takes up to `n` free ordinals for a handle (mutates `spec`). Returns what it took, with the
 * new sequence number of each ordinal.
 */
export function allocateOrdinals(
  spec: IPAMBlockSpec,
  n: number,
  handleID: string,
  secondary: Secondary | undefined,
): AllocatedOrdinal[] {
  const out: AllocatedOrdinal[] = [];
  if (n <= 0 || spec.unallocated.length === 0) return out;
  const attr = attributeIndex(spec, handleID, secondary);
  while (out.length < n && spec.unallocated.length > 0) {
    const ordinal = spec.unallocated.shift() as number;
    spec.allocations[ordinal] = attr;
    const seq = (spec.sequenceNumbers[ordinal] ?? 0) + 1;
    spec.sequenceNumbers[ordinal] = seq;
    out.push({ ordinal, sequence: seq });
  }
  return out;
}

export type ReleaseStatus = 'released' | 'not-allocated' | 'handle-mismatch' | 'reallocated';

/**
 * Frees one ordinal (mutates `spec`) when it is allocated and, if given, still belongs to
 * `handleID` with sequence number `sequence`. Call compactAttributes() after a batch of releases.
 */
export function releaseOrdinal(
  spec: IPAMBlockSpec,
  ordinal: number,
  expect: { handleID?: string | undefined; sequence?: number | undefined } = {},
): { status: ReleaseStatus; handleID?: string | undefined } {
  const a = spec.allocations[ordinal];
  if (a === null || a === undefined) return { status: 'not-allocated' };
  const handleID = spec.attributes[a]?.handleID;
  if (expect.handleID !== undefined && handleID !== expect.handleID) return { status: 'handle-mismatch', handleID };
  if (expect.sequence !== undefined && spec.sequenceNumbers[ordinal] !== expect.sequence) {
    return { status: 'reallocated', handleID };
  }
  spec.allocations[ordinal] = null;
  spec.unallocated.push(ordinal);
  return { status: 'released', handleID };
}

/** Ordinals held by a handle. */
export function ordinalsOfHandle(spec: IPAMBlockSpec, handleID: string): number[] {
  const out: number[] = [];
  spec.allocations.forEach((a, o) => {
    if (a !== null && spec.attributes[a]?.handleID === handleID) out.push(o);
  });
  return out;
}

/** Drops attributes no ordinal refers to and renumbers the rest (mutates `spec`). */
export function compactAttributes(spec: IPAMBlockSpec): void {
  const used = new Map<number, number>();
  const kept: IPAMBlockSpec['attributes'] = [];
  spec.allocations.forEach((a, o) => {
    if (a === null) return;
    let n = used.get(a);
    if (n === undefined) {
      n = kept.length;
      used.set(a, n);
      kept.push(spec.attributes[a] ?? {});
    }
    spec.allocations[o] = n;
  });
  spec.attributes = kept;
}

export function parseBlockCidr(spec: IPAMBlockSpec): Cidr {
  return parseCidr(spec.cidr);
}

export function ipAt(spec: IPAMBlockSpec, ordinal: number, cidr: Cidr = parseBlockCidr(spec)): string {
  return formatIp(addrAt(cidr, ordinal));
}

/** Every allocated ordinal with its address, handle and attributes. */
export function allocationsOf(
  spec: IPAMBlockSpec,
): { ordinal: number; ip: string; handleID: string | undefined; secondary: Secondary | undefined; sequence: number }[] {
  const cidr = parseBlockCidr(spec);
  const out: ReturnType<typeof allocationsOf> = [];
  spec.allocations.forEach((a, o) => {
    if (a === null) return;
    const attr = spec.attributes[a];
    out.push({
      ordinal: o,
      ip: formatIp(addrAt(cidr, o)),
      handleID: attr?.handleID,
      secondary: attr?.secondary,
      sequence: spec.sequenceNumbers[o] ?? 0,
    });
  });
  return out;
}

/** Structural problems of a block (used by ipam check). Empty when consistent. */
export function blockProblems(spec: IPAMBlockSpec): string[] {
  const problems: string[] = [];
  let size: number;
  try {
    size = Number(cidrSize(parseCidr(spec.cidr)));
  } catch {
    return [`cidr "${spec.cidr}" is not a valid prefix`];
  }
  if (spec.allocations.length !== size) problems.push(`has ${spec.allocations.length} allocation slots, expected ${size}`);
  if (spec.sequenceNumbers.length !== size) problems.push(`has ${spec.sequenceNumbers.length} sequence numbers, expected ${size}`);
  const free = new Set<number>();
  for (const o of spec.unallocated) {
    if (free.has(o)) problems.push(`ordinal ${o} is listed twice as free`);
    free.add(o);
    if (spec.allocations[o] !== null) problems.push(`ordinal ${o} is listed as free but is allocated`);
  }
  spec.allocations.forEach((a, o) => {
    if (a === null && !free.has(o)) problems.push(`ordinal ${o} is neither allocated nor free`);
    if (a !== null && (a < 0 || a >= spec.attributes.length)) problems.push(`ordinal ${o} points at missing attribute ${a}`);
  });
  return problems;
}
