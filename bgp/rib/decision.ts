// The BGP decision process (RFC 4271 §9.1.2.2, RFC 4456 §9), in the order Twill applies it:
//   1. highest LOCAL_PREF            2. shortest AS_PATH        3. lowest ORIGIN
//   4. lowest MED among paths from the same neighbour AS (or all, with alwaysCompareMed)
//   5. local over eBGP over iBGP     6. lowest router id (ORIGINATOR_ID when present)
//   7. lowest peer address
// selectBest() runs it over a candidate list the RFC way (MED eliminates within neighbour-AS
// groups, so the result does not depend on candidate order); explain() says why one path is
// preferred to another, for `twill-bgp` route listings.
import { formatIpv4 } from '../packet/index.js';
import type { Path } from './path.js';

export interface DecisionOptions {
  readonly alwaysCompareMed: boolean;
  readonly localAs: number;
  /** Our BGP identifier: the router id of locally originated paths. */
  readonly localId: number;
  /** RFC 4456 cluster id when we reflect (loop check). */
  readonly clusterId?: number | undefined;
  /** ECMP: equal paths (up to the router id) per prefix; 1 or absent = no multipath. */
  readonly maxPaths?: number;
}

export type DecisionStep = 'local-pref' | 'as-path' | 'origin' | 'med' | 'source' | 'router-id' | 'cluster-list' | 'peer-address';

const SOURCE_RANK = { local: 0, ebgp: 1, ibgp: 2 } as const;

function neighborAs(p: Path, o: DecisionOptions): number {
  return p.attrs.neighborAs ?? o.localAs;
}

function routerId(p: Path, o: DecisionOptions): number {
  const oid = p.attrs.attrs.originatorId;
  if (oid !== undefined) return oid >>> 0;
  return (p.source.peer?.bgpId ?? o.localId) >>> 0;
}

function addressKey(p: Path): string {
  return p.source.peer?.addressKey ?? '';
}

/** The best of `paths` (non-empty). */
export function selectBest(paths: readonly Path[], o: DecisionOptions): Path {
  if (paths.length === 1) return paths[0]!;
  let c = paths.slice();
  c = keepMax(c, (p) => p.attrs.localPref);
  if (c.length > 1) c = keepMax(c, (p) => -p.attrs.asPathLength);
  if (c.length > 1) c = keepMax(c, (p) => -p.attrs.origin);
  if (c.length > 1) {
    if (o.alwaysCompareMed) {
      c = keepMax(c, (p) => -p.attrs.med);
    } else {
      // A path is out if another path from the same neighbour AS has a lower MED.
      const minMed = new Map<number, number>();
      for (const p of c) {
        const n = neighborAs(p, o);
        const m = minMed.get(n);
        if (m === undefined || p.attrs.med < m) minMed.set(n, p.attrs.med);
      }
      c = c.filter((p) => p.attrs.med === minMed.get(neighborAs(p, o)));
    }
  }
  if (c.length > 1) c = keepMax(c, (p) => -SOURCE_RANK[p.source.kind]);
  if (c.length > 1) c = keepMax(c, (p) => -routerId(p, o));
  if (c.length > 1) c = keepMax(c, (p) => -p.attrs.clusterListLength);
  if (c.length > 1) {
    let best = c[0]!;
    for (const p of c) if (addressKey(p) < addressKey(best)) best = p;
    return best;
  }
  return c[0]!;
}

function keepMax(c: Path[], score: (p: Path) => number): Path[] {
  let max = -Infinity;
  for (const p of c) {
    const s = score(p);
    if (s > max) max = s;
  }
  return c.filter((p) => score(p) === max);
}

/** The step at which `a` beats `b` and a sentence saying so; undefined when they tie throughout. */
export function explain(a: Path, b: Path, o: DecisionOptions): { step: DecisionStep; text: string } | undefined {
  const A = a.attrs;
  const B = b.attrs;
  if (A.localPref !== B.localPref) {
    return { step: 'local-pref', text: `${A.localPref > B.localPref ? 'higher' : 'lower'} LOCAL_PREF (${A.localPref} vs ${B.localPref})` };
  }
  if (A.asPathLength !== B.asPathLength) {
    return { step: 'as-path', text: `${A.asPathLength < B.asPathLength ? 'shorter' : 'longer'} AS_PATH (${A.asPathLength} vs ${B.asPathLength})` };
  }
  if (A.origin !== B.origin) {
    return { step: 'origin', text: `${A.origin < B.origin ? 'lower' : 'higher'} ORIGIN (${originName(A.origin)} vs ${originName(B.origin)})` };
  }
  if (A.med !== B.med && (o.alwaysCompareMed || neighborAs(a, o) === neighborAs(b, o))) {
    return { step: 'med', text: `${A.med < B.med ? 'lower' : 'higher'} MED (${A.med} vs ${B.med})` };
  }
  const ra = SOURCE_RANK[a.source.kind];
  const rb = SOURCE_RANK[b.source.kind];
  if (ra !== rb) return { step: 'source', text: `${a.source.kind === 'local' ? 'locally originated' : a.source.kind} vs ${b.source.kind === 'local' ? 'locally originated' : b.source.kind}` };
  const ia = routerId(a, o);
  const ib = routerId(b, o);
  if (ia !== ib) return { step: 'router-id', text: `${ia < ib ? 'lower' : 'higher'} router id (${formatIpv4(ia)} vs ${formatIpv4(ib)})` };
  const ca = a.attrs.clusterListLength;
  const cb = b.attrs.clusterListLength;
  if (ca !== cb) return { step: 'cluster-list', text: `${ca < cb ? 'shorter' : 'longer'} CLUSTER_LIST (${ca} vs ${cb})` };
  const ka = addressKey(a);
  const kb = addressKey(b);
  if (ka !== kb) {
    return { step: 'peer-address', text: `${ka < kb ? 'lower' : 'higher'} peer address (${a.source.peer?.address ?? 'local'} vs ${b.source.peer?.address ?? 'local'})` };
  }
  return undefined;
}

/**
 * ECMP: `other` may share the forwarding of `best` — the decision process finds them equal up to
 * the router id (LOCAL_PREF, AS_PATH length, ORIGIN, MED, source kind all equal).
 */
export function multipathEqual(best: Path, other: Path, o: DecisionOptions): boolean {
  const why = explain(best, other, o);
  return why === undefined || why.step === 'router-id' || why.step === 'cluster-list' || why.step === 'peer-address';
}

function originName(o: number): string {
  return o === 0 ? 'IGP' : o === 1 ? 'EGP' : 'INCOMPLETE';
}
