// The speaker's state as the plain data of the public API: peer status, route listings with
// the decision's reasons, best-path changes. Strings are made here, only when asked for.
import { AFI_IPV4, formatIpv4, formatNextHop, formatPrefix, type PathAttributes, type Prefix } from '../packet/index.js';
import { explain, selectBest } from '../rib/decision.js';
import { bestOf } from '../rib/loc-rib.js';
import type { Path } from '../rib/path.js';
import { PrefixTable } from '../rib/prefix-table.js';
import type { Rib } from '../rib/rib.js';
import { attrsView, pathView } from '../rib/view.js';
import { parsePrefixText, SpeakerConfigError } from './config.js';
import type { PeerEntry } from './entry.js';
import type { BestChange, PeerStatus, RouteQuery, RouteView } from './types.js';

export function peerStatus(e: PeerEntry): PeerStatus {
  const p = e.peer;
  const n = e.neighbor;
  const s: PeerStatus = {
    address: n.address,
    asn: n.asn,
    type: p.ebgp ? 'ebgp' : 'ibgp',
    state: p.state,
    since: p.since,
    receivedPrefixes: e.source?.received ?? 0,
    acceptedPrefixes: e.source?.accepted ?? 0,
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
  const err = p.lastError ?? p.data.lastError;
  if (err !== undefined) s.lastError = err;
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
      out.push(pathView(p, best, true, bestWhy));
      if (q.all) {
        for (const other of others) {
          const why = explain(best, other, o);
          out.push(pathView(p, other, false, `lost to ${describeSource(best)}: ${why?.text ?? 'tie'}`));
        }
      }
    });
    return out.slice(0, limit);
  }
  if (!q.peer) throw new SpeakerConfigError(`listing table "${q.table}" needs a peer`, 'pass peer: the neighbour address');
  const e = entryOf(q.peer);
  if (q.table === 'in') {
    const src = e.source;
    if (!src) return [];
    const one = (p: Prefix, path: Path): void => {
      let reason: string | undefined;
      if (!path.accepted) reason = path.attrs.loop ? `rejected: AS_PATH contains our AS ${rib.options.localAs} (loop)` : e.neighbor.importPolicy.reason(p);
      out.push(pathView(p, path, path.accepted, reason));
    };
    if (exact) {
      const path = rib.loc.pathOf(exact, src);
      if (path && famOk(exact)) one(exact, path);
    } else {
      for (const [p, path] of rib.pathsOf(src, q.family)) {
        if (out.length >= limit) break;
        one(p, path);
      }
    }
    return out.slice(0, limit);
  }
  const ro = e.out;
  if (!ro) return [];
  const one = (p: Prefix, a: { attrs: PathAttributes }): void => void out.push(attrsView(p, a.attrs, { peer: e.neighbor.address, best: true }));
  if (exact) {
    const a = ro.sentFor(exact);
    if (a && famOk(exact)) one(exact, a);
  } else {
    for (const [p, a] of ro.advertised(q.family)) {
      if (out.length >= limit) break;
      one(p, a);
    }
  }
  return out.slice(0, limit);
}

/** Best-path changes for `prefixes` (duplicates dropped); the full RouteView only on demand. */
export function bestChanges(rib: Rib, prefixes: readonly Prefix[]): BestChange[] {
  const seen = new PrefixTable<true>();
  const out: BestChange[] = [];
  const nh = new Map<Path, string>();
  for (const p of prefixes) {
    if (seen.set(p, true)) continue;
    const best = rib.loc.best(p);
    let nextHop: string | undefined;
    if (best) {
      nextHop = nh.get(best);
      if (nextHop === undefined) {
        const a = best.attrs.attrs.nextHop;
        nextHop = a ? formatNextHop(a) : 'self';
        nh.set(best, nextHop);
      }
    }
    out.push({
      prefix: formatPrefix(p),
      family: p.afi === AFI_IPV4 ? 4 : 6,
      reachable: best !== undefined,
      nextHop,
      peer: best?.source.peer?.address,
      route: () => (best ? pathView(p, best, true) : undefined),
    });
  }
  return out;
}
