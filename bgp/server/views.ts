// The speaker's state as the plain data of the public API: peer status, route listings with
// the decision's reasons, best-path changes. Strings are made here, only when asked for.
import { AFI_IPV4, formatIpv4, formatIpv6, formatNextHop, formatPrefix, type NextHop, type PathAttributes, type Prefix } from '../packet/index.js';
import { explain, multipathEqual, selectBest } from '../rib/decision.js';
import { bestOf } from '../rib/loc-rib.js';
import type { Path, Source } from '../rib/path.js';
import { PrefixTable } from '../rib/prefix-table.js';
import type { Rib } from '../rib/rib.js';
import { attrsView, pathView } from '../rib/view.js';
import { parsePrefixText, SpeakerConfigError } from './config.js';
import type { PeerEntry } from './entry.js';
import { prefixCounts } from './limits.js';
import type { BestChange, BestNextHop, PeerStatus, RouteQuery, RouteView } from './types.js';

function sum(e: PeerEntry, f: (s: Source) => number): number {
  let n = 0;
  for (const s of e.sources.values()) n += f(s);
  return n;
}

export function peerStatus(e: PeerEntry): PeerStatus {
  const p = e.peer;
  const n = e.neighbor;
  const s: PeerStatus = {
    address: n.address,
    asn: n.asn,
    type: p.ebgp ? 'ebgp' : 'ibgp',
    state: p.state,
    since: p.since,
    receivedPrefixes: sum(e, (x) => x.received),
    acceptedPrefixes: sum(e, (x) => x.accepted),
    advertisedPrefixes: e.out?.sent.size ?? 0,
    establishedCount: p.establishedCount,
    flaps: p.data.flaps,
    messages: { sent: { ...p.sent }, received: { ...p.received } },
  };
  if (n.config.description !== undefined) s.description = n.config.description;
  if (p.data.peer) s.routerId = formatIpv4(p.data.peer.bgpId);
  if (p.state === 'Established') {
    s.holdTime = p.data.holdTime;
    s.keepalive = p.data.keepalive;
    if (p.negotiated) s.capabilities = p.negotiated.capabilities;
  }
  if (p.conn) {
    s.localAddress = p.conn.localAddress;
    s.localPort = p.conn.localPort;
    s.remotePort = p.conn.remotePort;
  }
  const err = e.limitError ?? p.lastError ?? p.data.lastError;
  if (err !== undefined) s.lastError = err;
  if (n.password !== undefined) s.md5 = true;
  if (n.rrClient) s.routeReflectorClient = true;
  if (e.staleSources.length > 0) s.staleRoutes = true;
  if (p.state === 'Established' && e.eorPending.size === 0) s.endOfRibReceived = true;
  const mp = n.maxPrefixes;
  if (mp) {
    const c = prefixCounts(e);
    s.maxPrefixes = { action: mp.action, received: { ipv4: c.ipv4, ipv6: c.ipv6 }, exceeded: e.limitExceeded, refused: e.limitRefused, over: [...e.limitOver] };
  }
  return s;
}

function describeSource(p: Path): string {
  return p.source.peer ? `the path from ${p.source.peer.address}` : 'the local path';
}

/** Route listings; `entryOf` finds a configured neighbour (throws when there is none). */
export function listRoutes(q: RouteQuery, rib: Rib, entryOf: (address: string) => PeerEntry): RouteView[] {
  const limit = q.limit === undefined ? 1000 : q.limit === 0 ? Infinity : q.limit;
  const out: RouteView[] = [];
  const exact = q.prefix !== undefined ? parsePrefixText(q.prefix, 'prefix') : undefined;
  const famOk = (p: Prefix): boolean => q.family === undefined || (q.family === 4) === (p.afi === AFI_IPV4);
  const each = <V>(t: PrefixTable<V>, fn: (p: Prefix, v: V) => void): void => {
    if (exact) {
      const v = t.get(exact);
      if (v !== undefined && famOk(exact)) fn(exact, v);
      return;
    }
    for (const [p, v] of t.entries(q.family)) {
      if (out.length >= limit) return;
      fn(p, v);
    }
  };
  if (q.table === 'loc') {
    const o = rib.options;
    each(rib.loc.table, (p, c) => {
      const best = bestOf(c);
      if (!best) return;
      const others = (Array.isArray(c) ? c : [c]).filter((x) => x.accepted && x !== best);
      const second = others.length > 0 ? selectBest(others, o) : undefined;
      const bestWhy = second ? `preferred to ${describeSource(second)}: ${explain(best, second, o)?.text ?? 'tie'}` : 'only path';
      const multi = multipathSet(best, c, o);
      const bv = pathView(p, best, true, bestWhy);
      if (multi.length > 1) bv.multipath = true;
      out.push(bv);
      if (q.all) {
        for (const other of others) {
          const why = explain(best, other, o);
          const v = pathView(p, other, false, `lost to ${describeSource(best)}: ${why?.text ?? 'tie'}${multi.includes(other) ? ' (multipath)' : ''}`);
          if (multi.includes(other)) v.multipath = true;
          out.push(v);
        }
      }
    });
    return out.slice(0, limit);
  }
  if (!q.peer) throw new SpeakerConfigError(`listing table "${q.table}" needs a peer`, 'pass peer: the neighbour address');
  const e = entryOf(q.peer);
  if (q.table === 'in') {
    const one = (p: Prefix, path: Path): void => {
      let reason: string | undefined;
      if (!path.accepted) reason = path.attrs.loop ? `rejected: ${path.attrs.loopReason ?? 'loop'}` : e.neighbor.importPolicy.reason(p);
      out.push(pathView(p, path, path.accepted, reason));
    };
    // The current session's sources (one per ADD-PATH path id), then routes kept stale (GR).
    for (const src of [...e.sources.values(), ...e.staleSources]) {
      if (exact) {
        const path = rib.loc.pathOf(exact, src);
        if (path && famOk(exact)) one(exact, path);
        continue;
      }
      for (const [p, path] of rib.pathsOf(src, q.family)) {
        if (out.length >= limit) break;
        one(p, path);
      }
    }
    return out.slice(0, limit);
  }
  const ro = e.out;
  if (!ro) return [];
  const one = (p: Prefix, a: { attrs: PathAttributes }): void => {
    const v = attrsView(p, a.attrs, { peer: e.neighbor.address, best: true });
    // ADD-PATH send: the path id we gave this path.
    if (p.pathId !== 0) v.pathId = p.pathId;
    out.push(v);
  };
  if (exact) {
    const several = ro.sentPaths(exact);
    if (several) {
      if (famOk(exact)) for (const [p, a] of several) one(p, a);
    } else {
      const a = ro.sentFor(exact);
      if (a && famOk(exact)) one(exact, a);
    }
  } else {
    for (const [p, a] of ro.advertised(q.family)) {
      if (out.length >= limit) break;
      one(p, a);
    }
  }
  return out.slice(0, limit);
}

/** The ECMP set of a prefix: the best path and the accepted paths equal to it up to the router id (at most maxPaths). */
export function multipathSet(best: Path, entry: Path | readonly Path[], o: Rib['options']): Path[] {
  const max = o.maxPaths ?? 1;
  if (max <= 1 || !Array.isArray(entry)) return [best];
  const out = [best];
  for (const x of entry as readonly Path[]) {
    if (out.length >= max) break;
    if (x !== best && x.accepted && multipathEqual(best, x, o)) out.push(x);
  }
  return out;
}

function structuredNextHop(a: NextHop, peer: string | undefined): BestNextHop {
  if (a.afi === AFI_IPV4) return { address: formatIpv4(a.addr), peer };
  const h: BestNextHop = { address: formatIpv6(a.addr), peer };
  if (a.linkLocal) h.linkLocal = formatIpv6(a.linkLocal);
  return h;
}

const NONE: BestNextHop[] = [];

/** Best-path changes for `prefixes` (duplicates dropped); the full RouteView only on demand. Lists in `nextHops` are shared: do not mutate. */
export function bestChanges(rib: Rib, prefixes: readonly Prefix[]): BestChange[] {
  const seen = new PrefixTable<true>();
  const out: BestChange[] = [];
  const nh = new Map<Path, string>();
  const hops = new Map<Path, BestNextHop | null>();
  const hopOf = (x: Path): BestNextHop | null => {
    let h = hops.get(x);
    if (h === undefined) {
      const a = x.attrs.attrs.nextHop;
      h = a ? structuredNextHop(a, x.source.peer?.address) : null;
      hops.set(x, h);
    }
    return h;
  };
  const multi = (rib.options.maxPaths ?? 1) > 1;
  const single = new Map<Path, BestNextHop[]>();
  for (const p of prefixes) {
    if (seen.set(p, true)) continue;
    const entry = rib.loc.table.get(p);
    const best = entry === undefined ? undefined : bestOf(entry);
    let nextHop: string | undefined;
    let nextHops: BestNextHop[] = NONE;
    if (best) {
      nextHop = nh.get(best);
      if (nextHop === undefined) {
        const a = best.attrs.attrs.nextHop;
        nextHop = a ? formatNextHop(a) : 'self';
        nh.set(best, nextHop);
      }
      if (!multi || !Array.isArray(entry)) {
        // One path: one shared list per best path (a million changes, a handful of lists).
        let l = single.get(best);
        if (!l) {
          const h = hopOf(best);
          l = h ? [h] : NONE;
          single.set(best, l);
        }
        nextHops = l;
      } else {
        nextHops = [];
        for (const x of multipathSet(best, entry, rib.options)) {
          const h = hopOf(x);
          if (h && !nextHops.some((y) => y.address === h.address)) nextHops.push(h);
        }
      }
    }
    out.push({
      // The Loc-RIB is per prefix: a change that arrived with an ADD-PATH path id names the prefix.
      prefix: formatPrefix(p.pathId === 0 ? p : { ...p, pathId: 0 }),
      family: p.afi === AFI_IPV4 ? 4 : 6,
      reachable: best !== undefined,
      nextHop,
      nextHops,
      peer: best?.source.peer?.address,
      route: () => (best ? pathView(p, best, true) : undefined),
    });
  }
  return out;
}
