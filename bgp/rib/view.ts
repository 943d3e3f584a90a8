// Routes as the plain, string-based RouteView of the public API (made only on demand).
import {
  SegmentType,
  formatIpv4,
  formatNextHop,
  formatPrefix,
  type AsPathSegment,
  type PathAttributes,
  type Prefix,
} from '../packet/index.js';
import type { OriginName, RouteView } from '../server/types.js';
import type { Path } from './path.js';

export function asPathText(segs: readonly AsPathSegment[]): string {
  return segs
    .map((s) => {
      const t = s.asns.join(' ');
      switch (s.type) {
        case SegmentType.AS_SET:
          return `{${t}}`;
        case SegmentType.AS_CONFED_SEQUENCE:
          return `(${t})`;
        case SegmentType.AS_CONFED_SET:
          return `[${t}]`;
        default:
          return t;
      }
    })
    .join(' ');
}

const ORIGINS: readonly OriginName[] = ['igp', 'egp', 'incomplete'];

export function communityText(c: number): string {
  return `${c >>> 16}:${c & 0xffff}`;
}

/** A RouteView of attributes for a prefix. `selfText` is shown when there is no next hop (local routes). */
export function attrsView(prefix: Prefix, a: PathAttributes, extra: { peer?: string; best: boolean; reason?: string }, selfText = 'self'): RouteView {
  const segs = a.asPath ?? [];
  const v: RouteView = {
    prefix: formatPrefix({ ...prefix, pathId: 0 }),
    family: prefix.afi === 1 ? 4 : 6,
    nextHop: a.nextHop ? formatNextHop(a.nextHop) : selfText,
    asPath: segs.flatMap((s) => s.asns as number[]),
    asPathText: asPathText(segs),
    origin: ORIGINS[a.origin ?? 2] ?? 'incomplete',
    best: extra.best,
  };
  if (a.med !== undefined) v.med = a.med;
  if (a.localPref !== undefined) v.localPref = a.localPref;
  if (a.communities?.length) v.communities = a.communities.map(communityText);
  if (a.largeCommunities?.length) v.largeCommunities = a.largeCommunities.map((l) => `${l.global}:${l.local1}:${l.local2}`);
  if (a.originatorId !== undefined) v.originatorId = formatIpv4(a.originatorId);
  if (a.clusterList?.length) v.clusterList = a.clusterList.map(formatIpv4);
  if (extra.peer !== undefined) v.peer = extra.peer;
  if (extra.reason !== undefined) v.reason = extra.reason;
  return v;
}

export function pathView(prefix: Prefix, path: Path, best: boolean, reason?: string): RouteView {
  const extra: { peer?: string; best: boolean; reason?: string } = { best };
  if (path.source.peer) extra.peer = path.source.peer.address;
  if (reason !== undefined) extra.reason = reason;
  const v = attrsView(prefix, path.attrs.attrs, extra);
  if (path.source.stale) v.stale = true;
  if (path.source.pathId !== 0) v.pathId = path.source.pathId;
  return v;
}
