// Interned path attribute sets: one shared object per distinct set of attributes, so a million
// prefixes announced with the same attributes cost one AttrSet. Received sets are keyed by their
// raw octets (plus what changes their meaning: the session's AS width and eBGP-ness, and the MP
// next hop); locally built sets by a canonical text form. The decision-process inputs are
// computed once per set.
import {
  AttrFlag,
  AttrType,
  SegmentType,
  asPathLength,
  type NextHop,
  type PathAttributes,
} from '../packet/index.js';

export class AttrSet {
  /** Paths referencing this set. */
  refs = 0;
  readonly localPref: number;
  readonly asPathLength: number;
  /** First AS of the path when it starts with an AS_SEQUENCE (RFC 4271 §9.1.2.2 c); else undefined. */
  readonly neighborAs: number | undefined;
  readonly origin: number;
  /** MULTI_EXIT_DISC, 0 when absent. */
  readonly med: number;
  /**
   * A loop: AS_PATH contains the local AS (RFC 4271 §9.1.2), ORIGINATOR_ID is our router id or
   * CLUSTER_LIST contains our cluster id (RFC 4456 §8).
   */
  readonly loop: boolean;
  /** Why `loop` is set, as a sentence. */
  readonly loopReason: string | undefined;
  /** CLUSTER_LIST length (RFC 4456 §9 tie-break). */
  readonly clusterListLength: number;

  constructor(
    readonly id: number,
    readonly key: string,
    readonly attrs: PathAttributes,
    localAs: number,
    loops: LoopCheck = {},
  ) {
    this.localPref = attrs.localPref ?? 100;
    const segs = attrs.asPath ?? [];
    this.asPathLength = asPathLength(segs);
    const first = segs[0];
    this.neighborAs = first && first.type === SegmentType.AS_SEQUENCE ? first.asns[0] : undefined;
    this.origin = attrs.origin ?? 2;
    this.med = attrs.med ?? 0;
    this.clusterListLength = attrs.clusterList?.length ?? 0;
    let why: string | undefined;
    if (containsAs(attrs, localAs)) why = `AS_PATH contains our AS ${localAs} (loop)`;
    else if (loops.localId !== undefined && attrs.originatorId !== undefined && attrs.originatorId >>> 0 === loops.localId >>> 0) why = 'ORIGINATOR_ID is our router id (reflected back to us)';
    else if (loops.clusterId !== undefined && attrs.clusterList?.some((c) => c >>> 0 === loops.clusterId! >>> 0)) why = 'CLUSTER_LIST contains our cluster id (reflection loop)';
    this.loop = why !== undefined;
    this.loopReason = why;
  }
}

/** What else makes a received route a loop besides our AS in its path (RFC 4456 §8). */
export interface LoopCheck {
  readonly localId?: number;
  readonly clusterId?: number | undefined;
}

export function containsAs(attrs: PathAttributes, asn: number): boolean {
  for (const s of attrs.asPath ?? []) {
    if (s.type !== SegmentType.AS_SEQUENCE && s.type !== SegmentType.AS_SET) continue;
    for (const a of s.asns) if (a === asn) return true;
  }
  return false;
}

export class AttrStore {
  private readonly byKey = new Map<string, AttrSet>();
  private nextId = 1;

  constructor(
    private readonly localAs: number,
    private readonly loops: LoopCheck = {},
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  /** The set for `key`, made with `make()` the first time. */
  intern(key: string, make: () => PathAttributes): AttrSet {
    let s = this.byKey.get(key);
    if (!s) {
      s = new AttrSet(this.nextId++, key, make(), this.localAs, this.loops);
      this.byKey.set(key, s);
    }
    return s;
  }

  /** Interns a set built locally (origination); the key is a canonical text of the attributes. */
  internAttrs(attrs: PathAttributes): AttrSet {
    return this.intern(`L${canonical(attrs)}`, () => attrs);
  }

  /** Called when the last path using `s` is gone. */
  release(s: AttrSet): void {
    if (s.refs <= 0 && this.byKey.get(s.key) === s) this.byKey.delete(s.key);
  }
}

/**
 * The intern key of a received attribute block: the raw octets without MP_REACH_NLRI /
 * MP_UNREACH_NLRI (which carry the prefixes), tagged with what changes their decoding and, for
 * prefixes carried in MP_REACH_NLRI, the MP next hop.
 */
export function receivedKey(raw: Buffer, tag: string, mpNextHop: NextHop | undefined): string {
  let body: string;
  if (!hasMpAttr(raw)) {
    body = raw.toString('latin1');
  } else {
    const parts: string[] = [];
    let i = 0;
    while (i + 3 <= raw.length) {
      const flags = raw[i]!;
      const type = raw[i + 1]!;
      const ext = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
      const hl = ext ? 4 : 3;
      if (i + hl > raw.length) break;
      const len = ext ? (raw[i + 2]! << 8) | raw[i + 3]! : raw[i + 2]!;
      const end = Math.min(raw.length, i + hl + len);
      if (type !== AttrType.MP_REACH_NLRI && type !== AttrType.MP_UNREACH_NLRI) parts.push(raw.toString('latin1', i, end));
      i = end;
    }
    body = parts.join('');
  }
  return mpNextHop ? `${tag}|${nextHopKey(mpNextHop)}|${body}` : `${tag}||${body}`;
}

function hasMpAttr(raw: Buffer): boolean {
  let i = 0;
  while (i + 3 <= raw.length) {
    const flags = raw[i]!;
    const type = raw[i + 1]!;
    if (type === AttrType.MP_REACH_NLRI || type === AttrType.MP_UNREACH_NLRI) return true;
    const ext = (flags & AttrFlag.EXTENDED_LENGTH) !== 0;
    if (ext && i + 4 > raw.length) return false;
    const len = ext ? (raw[i + 2]! << 8) | raw[i + 3]! : raw[i + 2]!;
    i += (ext ? 4 : 3) + len;
  }
  return false;
}

export function nextHopKey(nh: NextHop): string {
  if (nh.afi === 1) return `4:${nh.addr}`;
  return `6:${nh.addr.toString('hex')}${nh.linkLocal ? `%${nh.linkLocal.toString('hex')}` : ''}`;
}

/** A stable text form of path attributes (key order fixed, bigints and buffers spelled out). */
export function canonical(a: PathAttributes): string {
  const parts: string[] = [];
  if (a.origin !== undefined) parts.push(`o${a.origin}`);
  if (a.asPath) parts.push(`p${a.asPath.map((s) => `${s.type}:${s.asns.join(',')}`).join(';')}`);
  if (a.nextHop) parts.push(`n${nextHopKey(a.nextHop)}`);
  if (a.med !== undefined) parts.push(`m${a.med}`);
  if (a.localPref !== undefined) parts.push(`l${a.localPref}`);
  if (a.atomicAggregate) parts.push('A');
  if (a.aggregator) parts.push(`g${a.aggregator.as}:${a.aggregator.address}`);
  if (a.communities) parts.push(`c${a.communities.join(',')}`);
  if (a.extendedCommunities) parts.push(`e${a.extendedCommunities.map((x) => x.toString(16)).join(',')}`);
  if (a.largeCommunities) parts.push(`L${a.largeCommunities.map((x) => `${x.global}:${x.local1}:${x.local2}`).join(',')}`);
  if (a.originatorId !== undefined) parts.push(`i${a.originatorId}`);
  if (a.clusterList) parts.push(`k${a.clusterList.join(',')}`);
  if (a.unknown) parts.push(`u${a.unknown.map((u) => `${u.flags}:${u.type}:${u.value.toString('hex')}`).join(',')}`);
  return parts.join('|');
}
