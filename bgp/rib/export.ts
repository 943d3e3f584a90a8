// What we send to one peer: the export rules (RFC 4271 §5, §9.2) applied to the Loc-RIB's best
// paths, and the Adj-RIB-Out kept as "which outgoing attribute set was last sent for each
// prefix". The Adj-RIB-Out is never materialised as routes: outgoing attribute sets are derived
// once per (best path, family) and interned per peer, so a million prefixes sent with one set
// cost one pointer each. build() turns a list of changed prefixes into packed UPDATEs.
import {
  AFI_IPV4,
  AFI_IPV6,
  SegmentType,
  encodeAttributeSet,
  fitsOneUpdate,
  maxSendLength,
  packUpdates,
  packWithdrawals,
  type AsPathSegment,
  type CodecContext,
  type EncodedAttributeSet,
  type NextHop,
  type PathAttributes,
  type Prefix,
} from '../packet/index.js';
import { canonical } from './attr-set.js';
import { selectBest } from './decision.js';
import type { LocRib } from './loc-rib.js';
import type { Path } from './path.js';
import type { CompiledPolicy } from './policy.js';
import { PrefixIdTable } from './prefix-ids.js';
import { PrefixTable } from './prefix-table.js';

/** decide(): the export policy rejected the prefix (explain() says which rule). */
const REJECTED = 'rejected by export policy';
const NO_EXPORT = 0xffffff01;
const NO_ADVERTISE = 0xffffff02;
const NO_EXPORT_SUBCONFED = 0xffffff03;

/** The facts about a peer session the export rules need. */
export interface ExportTarget {
  /** The peer address (split horizon: never send a peer its own routes back). */
  readonly address: string;
  readonly localAs: number;
  readonly ebgp: boolean;
  readonly nextHopSelf: boolean;
  /** Our next hop towards this peer for IPv4 / IPv6 prefixes; undefined when we have none. */
  readonly selfV4: NextHop | undefined;
  readonly selfV6: NextHop | undefined;
  readonly families: { readonly ipv4: boolean; readonly ipv6: boolean };
  readonly policy: CompiledPolicy;
  readonly ctx: CodecContext;
  /** Route reflection (RFC 4456): our cluster id when we reflect, and whether this peer is a client. */
  readonly clusterId?: number | undefined;
  readonly rrClient?: boolean;
  /** The peer's BGP identifier (a route is not reflected back to its originator). */
  readonly peerId?: number;
  /**
   * ADD-PATH send (RFC 7911): how many paths per prefix to send where send was negotiated for the
   * family (Infinity = every path). 0, 1 or absent: one path (the best), path id 1.
   */
  readonly addPathSend?: number;
}

/** The ADD-PATH path identifier we send for the paths of a source: stable while the source lives. */
export function outPathId(p: Path): number {
  return (p.source.id + 1) >>> 0;
}

/** One outgoing attribute set, encoded once for this session. */
export class OutAttr {
  constructor(
    /** Index in AdjRibOut's list of sets (> 0); what the sent table stores. */
    readonly id: number,
    readonly key: string,
    readonly attrs: PathAttributes,
    readonly encoded: EncodedAttributeSet,
  ) {}
}

export class AdjRibOut {
  /** The id of the attribute set last sent for each prefix (absent: not advertised). */
  readonly sent = new PrefixIdTable();
  /** Outgoing attribute sets by id (index 0 unused). Kept for the session's life. */
  private readonly outs: (OutAttr | undefined)[] = [undefined];
  private readonly cache4 = new Map<Path, OutAttr | string>();
  private readonly cache6 = new Map<Path, OutAttr | string>();
  private readonly interned = new Map<string, OutAttr>();
  /**
   * ADD-PATH send with several paths: per prefix, the paths sent as flat pairs
   * [path id, OutAttr id, ...]. `sent` then holds the first pair's OutAttr id (so counts and
   * single-path views keep working). Only prefixes of multi-path families are here.
   */
  readonly multi = new PrefixTable<number[]>();
  private multi4 = false;
  private multi6 = false;

  constructor(public target: ExportTarget) {
    this.setMulti();
  }

  private setMulti(): void {
    const t = this.target;
    const n = t.addPathSend ?? 0;
    this.multi4 = n > 1 && t.ctx.addPath.ipv4.send;
    this.multi6 = n > 1 && t.ctx.addPath.ipv6.send;
  }

  /** Whether several paths per prefix go to this peer for the family of `p`. */
  multiPath(p: Prefix): boolean {
    return p.afi === AFI_IPV4 ? this.multi4 : this.multi6;
  }

  /** New export facts (policy, next hops): later build() calls send only what differs. */
  retarget(t: ExportTarget): void {
    this.target = t;
    this.setMulti();
    this.invalidate();
    this.interned.clear();
  }

  /** The attribute set sent for `p`, if any. */
  sentFor(p: Prefix): OutAttr | undefined {
    return this.outs[this.sent.get(p)];
  }

  /** What is advertised, prefix by prefix (with ADD-PATH send: path by path, `pathId` set). */
  *advertised(family?: 4 | 6): Generator<[Prefix, OutAttr]> {
    for (const [p, id] of this.sent.entries(family)) {
      const m = this.multiPath(p) ? this.multi.get(p) : undefined;
      if (!m) {
        yield [p, this.outs[id]!];
        continue;
      }
      for (let i = 0; i < m.length; i += 2) yield [{ ...p, pathId: m[i]! }, this.outs[m[i + 1]!]!];
    }
  }

  /** ADD-PATH send: every path sent for `p` (path id set), or undefined when not sending several. */
  sentPaths(p: Prefix): [Prefix, OutAttr][] | undefined {
    if (!this.multiPath(p)) return undefined;
    const m = this.multi.get(p) ?? [];
    const r: [Prefix, OutAttr][] = [];
    for (let i = 0; i < m.length; i += 2) r.push([{ ...p, pathId: m[i]! }, this.outs[m[i + 1]!]!]);
    return r;
  }

  /** What this peer should have for `p` given the best path: an attribute set, or why nothing. */
  decide(p: Prefix, best: Path | undefined): OutAttr | string {
    if (!best) return 'no best path';
    if (!this.target.policy.accepts(p)) return REJECTED;
    return this.transformCached(best, p.afi === AFI_IPV4 ? 4 : 6);
  }

  /** Why decide() said no, as a sentence. */
  explain(p: Prefix, best: Path | undefined): string | undefined {
    const d = this.decide(p, best);
    if (typeof d !== 'string') return undefined;
    return d === REJECTED ? this.target.policy.reason(p) : d;
  }

  private transformCached(best: Path, family: 4 | 6): OutAttr | string {
    const cache = family === 4 ? this.cache4 : this.cache6;
    let r = cache.get(best);
    if (r === undefined) {
      r = this.transform(best, family);
      if (cache.size > 100_000) cache.clear();
      cache.set(best, r);
    }
    return r;
  }

  /**
   * Brings the peer up to date for `prefixes` (duplicates are fine): records what is now sent
   * and returns the UPDATEs to write, withdrawals first. `force` re-sends announcements that
   * are already in place (route refresh).
   */
  build(prefixes: Iterable<Prefix>, loc: LocRib, force = false): Buffer[] {
    const groups = new Map<OutAttr, Prefix[]>();
    const withdrawn: Prefix[] = [];
    const policy = this.target.policy;
    const sent = this.sent;
    // Consecutive prefixes mostly share their best path: remember the last answers.
    let lastPath: Path | undefined;
    let lastFamily = 0;
    let lastOut: OutAttr | string = '';
    let lastGroupOut: OutAttr | undefined;
    let lastGroup: Prefix[] = [];
    // ADD-PATH send negotiated with one path per prefix (send: 1): path identifier 1. With
    // several paths per prefix (send: N > 1 or all), buildMulti() does that family.
    const ap4 = this.target.ctx.addPath.ipv4.send;
    const ap6 = this.target.ctx.addPath.ipv6.send;
    const withId = ap4 || ap6 ? (p: Prefix): Prefix => ((p.afi === AFI_IPV4 ? ap4 : ap6) && p.pathId !== 1 ? { ...p, pathId: 1 } : p) : undefined;
    const anyMulti = this.multi4 || this.multi6;
    for (const p0 of prefixes) {
      if (anyMulti && this.multiPath(p0)) {
        this.buildMulti(p0, loc, force, groups, withdrawn);
        continue;
      }
      const p = withId ? withId(p0) : p0;
      const best = loc.best(p);
      let out: OutAttr | undefined;
      if (best && (policy.constant ? policy.defaultAccept : policy.accepts(p))) {
        if (best !== lastPath || p.afi !== lastFamily) {
          lastPath = best;
          lastFamily = p.afi;
          lastOut = this.transformCached(best, p.afi === AFI_IPV4 ? 4 : 6);
        }
        if (typeof lastOut !== 'string') out = lastOut;
      }
      if (out) {
        const prevId = sent.set(p, out.id);
        if (!force && prevId !== 0 && (prevId === out.id || this.outs[prevId]!.key === out.key)) {
          if (prevId !== out.id) sent.set(p, prevId);
          continue;
        }
        if (out !== lastGroupOut) {
          lastGroupOut = out;
          let g = groups.get(out);
          if (!g) groups.set(out, (g = []));
          lastGroup = g;
        }
        lastGroup.push(p);
      } else if (sent.delete(p) !== 0) {
        withdrawn.push(p);
      }
    }
    const bufs: Buffer[] = [];
    const ctx = this.target.ctx;
    if (withdrawn.length > 0) for (const b of packWithdrawals(withdrawn, ctx)) bufs.push(b);
    for (const [out, list] of groups) for (const b of packUpdates(out.encoded, list, ctx)) bufs.push(b);
    return bufs;
  }

  /**
   * ADD-PATH send for one prefix: every accepted path the export rules let through (the best N
   * when limited), each with its own path id; path ids no longer wanted are withdrawn.
   */
  private buildMulti(p0: Prefix, loc: LocRib, force: boolean, groups: Map<OutAttr, Prefix[]>, withdrawn: Prefix[]): void {
    const base: Prefix = p0.pathId === 0 ? p0 : { ...p0, pathId: 0 };
    const family = base.afi === AFI_IPV4 ? 4 : 6;
    // Candidates: accepted paths with an outgoing attribute set (export rules apply per path).
    let cand: { path: Path; out: OutAttr }[] = [];
    if (this.target.policy.accepts(base)) {
      for (const path of loc.paths(base)) {
        if (!path.accepted) continue;
        const out = this.transformCached(path, family);
        if (typeof out !== 'string') cand.push({ path, out });
      }
    }
    const limit = this.target.addPathSend ?? Infinity;
    if (cand.length > limit) {
      // The best `limit` of them, in decision order.
      const left = cand.slice();
      const pick: typeof cand = [];
      while (pick.length < limit && left.length > 0) {
        const best = selectBest(left.map((c) => c.path), loc.options);
        const i = left.findIndex((c) => c.path === best);
        pick.push(left[i]!);
        left.splice(i, 1);
      }
      cand = pick;
    }
    const prev = this.multi.get(base);
    const next: number[] = [];
    for (const { path, out } of cand) {
      const id = outPathId(path);
      next.push(id, out.id);
      let prevOut = 0;
      if (prev) for (let i = 0; i < prev.length; i += 2) if (prev[i] === id) prevOut = prev[i + 1]!;
      if (!force && prevOut !== 0 && (prevOut === out.id || this.outs[prevOut]!.key === out.key)) {
        next[next.length - 1] = prevOut;
        continue;
      }
      let g = groups.get(out);
      if (!g) groups.set(out, (g = []));
      g.push({ ...base, pathId: id });
    }
    if (prev) {
      for (let i = 0; i < prev.length; i += 2) {
        const id = prev[i]!;
        let kept = false;
        for (let j = 0; j < next.length; j += 2) if (next[j] === id) kept = true;
        if (!kept) withdrawn.push({ ...base, pathId: id });
      }
    }
    if (next.length > 0) {
      this.multi.set(base, next);
      this.sent.set(base, next[1]!);
    } else if (prev) {
      this.multi.delete(base);
      this.sent.delete(base);
    }
  }

  /** Forgets cached transformations (after a policy or next-hop change). */
  invalidate(): void {
    this.cache4.clear();
    this.cache6.clear();
  }

  private transform(path: Path, family: 4 | 6): OutAttr | string {
    const t = this.target;
    const src = path.source;
    if (family === 4 ? !t.families.ipv4 : !t.families.ipv6) return `IPv${family} unicast was not negotiated with this peer`;
    if (src.peer && src.peer.address === t.address) return 'learned from this peer';
    const a = path.attrs.attrs;
    let reflect = false;
    if (src.kind === 'ibgp' && !t.ebgp) {
      // RFC 4456 §6: from a client to everyone; from a non-client to clients only.
      if (t.clusterId === undefined) return 'learned over iBGP; not sent to iBGP peers (not a route reflector)';
      if (!src.rrClient && !t.rrClient) return 'learned from a non-client iBGP peer; reflected to clients only';
      if (t.peerId !== undefined && a.originatorId !== undefined && a.originatorId >>> 0 === t.peerId >>> 0) return 'this peer is its ORIGINATOR_ID';
      reflect = true;
    }
    const comms = a.communities;
    if (comms) {
      // RFC 1997 well-known communities.
      if (comms.includes(NO_ADVERTISE)) return 'carries NO_ADVERTISE';
      if (t.ebgp && (comms.includes(NO_EXPORT) || comms.includes(NO_EXPORT_SUBCONFED))) return 'carries NO_EXPORT; not sent to eBGP peers';
    }
    const self = family === 4 ? t.selfV4 : t.selfV6;
    const out: PathAttributes = { ...a };
    const own = a.nextHop && (family === 4 ? a.nextHop.afi === AFI_IPV4 || t.ctx.extendedNextHop : a.nextHop.afi !== AFI_IPV4) ? a.nextHop : undefined;
    let nextHop: NextHop | undefined;
    if (t.ebgp) {
      out.asPath = prepend(a.asPath ?? [], t.localAs);
      delete out.localPref;
      // RFC 4271 §5.1.4: a MED received from a neighbouring AS is not passed to other ASes.
      const ourMed = src.kind === 'local' || (src.kind === 'ibgp' && path.attrs.neighborAs === undefined);
      if (!ourMed) delete out.med;
      delete out.originatorId;
      delete out.clusterList;
      // Next hop self, except a next hop the operator gave a locally originated route.
      nextHop = src.kind === 'local' && own ? own : self;
    } else {
      out.localPref = a.localPref ?? 100;
      if (reflect) {
        out.originatorId = a.originatorId ?? src.peer?.bgpId;
        out.clusterList = [t.clusterId!, ...(a.clusterList ?? [])];
      } else if (src.kind !== 'ibgp') {
        delete out.originatorId;
        delete out.clusterList;
      }
      if (t.nextHopSelf || !own) nextHop = self;
      else nextHop = own.afi === AFI_IPV4 ? own : { afi: own.afi, addr: own.addr };
    }
    if (!nextHop) return `no IPv${family} next hop towards this peer (configure nextHop.ipv${family})`;
    out.nextHop = nextHop;
    const key = canonical(out);
    let o = this.interned.get(key);
    if (!o) {
      o = new OutAttr(this.outs.length, key, out, encodeAttributeSet(out, t.ctx.fourOctetAs));
      this.outs.push(o);
      this.interned.set(key, o);
    }
    // RFC 8654 §4: attributes too long for this session's messages (learned from a peer with
    // Extended Message, sent to one without) — the route is not sent (RFC 4271 §9.2).
    if (!fitsOneUpdate(o.encoded, family === 4 ? AFI_IPV4 : AFI_IPV6, t.ctx)) {
      const max = maxSendLength(t.ctx);
      return `path attributes of ${o.encoded.bytes.length} octets do not fit in a ${max}-octet UPDATE${t.ctx.extendedMessage.send ? '' : ' (Extended Message, RFC 8654, is not negotiated both ways with this peer)'}`;
    }
    return o;
  }
}

/** Our AS in front of the path (RFC 4271 §5.1.2); confederation segments are dropped (RFC 5065). */
export function prepend(path: readonly AsPathSegment[], asn: number): AsPathSegment[] {
  const segs = path.filter((s) => s.type === SegmentType.AS_SEQUENCE || s.type === SegmentType.AS_SET);
  const first = segs[0];
  if (first && first.type === SegmentType.AS_SEQUENCE && first.asns.length < 255) {
    return [{ type: SegmentType.AS_SEQUENCE, asns: [asn, ...first.asns] }, ...segs.slice(1)];
  }
  return [{ type: SegmentType.AS_SEQUENCE, asns: [asn] }, ...segs];
}
