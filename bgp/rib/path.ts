// Where routes come from (a Source: the speaker itself, or one Established session of a peer)
// and the route a source gives for a prefix (a Path: source + attribute set + whether import
// policy accepted it). Paths are interned per source, so a peer announcing a million prefixes
// with one attribute set gives one Path, and its Adj-RIB-In is one pointer per prefix in the
// route table (./loc-rib.ts).
import type { AttrSet, AttrStore } from './attr-set.js';

export type SourceKind = 'local' | 'ebgp' | 'ibgp';

/** Identity of the peer behind a source, for the decision process and views. */
export interface SourcePeer {
  /** Text form of the peer address (as configured). */
  readonly address: string;
  /** A key that sorts like the address (IPv4 before IPv6, then numerically). */
  readonly addressKey: string;
  readonly asn: number;
  /** The peer's BGP identifier (unsigned 32-bit). */
  readonly bgpId: number;
}

export class Path {
  constructor(
    readonly source: Source,
    readonly attrs: AttrSet,
    readonly accepted: boolean,
  ) {}
  /** Route table entries pointing here. */
  refs = 0;
}

export class Source {
  /** Prefixes this source currently offers (its Adj-RIB-In), accepted or not. */
  received = 0;
  /** Of those, IPv6 ones (the rest are IPv4). */
  receivedV6 = 0;
  /** Of those, accepted by import policy. */
  accepted = 0;
  /** False once the session is gone (its routes are being flushed, or kept stale). */
  alive = true;
  /** Graceful restart: the session ended and its routes are kept until the peer is back (RFC 4724). */
  stale = false;
  /** The peer is our route-reflector client (RFC 4456). */
  rrClient = false;
  /** ADD-PATH receive: the path identifier this source stands for (0 without ADD-PATH). */
  pathId = 0;
  private readonly paths = new Map<number, Path>();

  constructor(
    /** Unique for the life of the speaker; a new session of the same peer is a new source. */
    readonly id: number,
    readonly kind: SourceKind,
    readonly peer: SourcePeer | undefined,
    private readonly store: AttrStore,
  ) {}

  /** The interned path for an attribute set. */
  path(attrs: AttrSet, accepted: boolean): Path {
    const k = attrs.id * 2 + (accepted ? 1 : 0);
    let p = this.paths.get(k);
    if (!p) {
      p = new Path(this, attrs, accepted);
      attrs.refs++;
      this.paths.set(k, p);
    }
    return p;
  }

  /** Records that one more prefix (IPv6 when `v6`) points at `p`. */
  retain(p: Path, v6: boolean): void {
    p.refs++;
    this.received++;
    if (v6) this.receivedV6++;
    if (p.accepted) this.accepted++;
  }

  /** Records that one prefix (IPv6 when `v6`) no longer points at `p`. */
  release(p: Path, v6: boolean): void {
    p.refs--;
    this.received--;
    if (v6) this.receivedV6--;
    if (p.accepted) this.accepted--;
    this.discardIfUnused(p);
  }

  /** Forgets an interned path no Adj-RIB-In entry points at. */
  discardIfUnused(p: Path): void {
    if (p.refs > 0) return;
    const k = p.attrs.id * 2 + (p.accepted ? 1 : 0);
    if (this.paths.get(k) !== p) return;
    this.paths.delete(k);
    p.attrs.refs--;
    this.store.release(p.attrs);
  }

  get pathCount(): number {
    return this.paths.size;
  }
}
