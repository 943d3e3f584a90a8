// maxPrefixes: how many prefixes a peer offers per family, whether a new one may enter (action
// stop), and which limits were crossed or left by the last UPDATE (pure; the speaker logs, counts
// and resets).
import { AFI_IPV4, type Prefix } from '../packet/index.js';
import type { Admit } from '../rib/rib.js';
import type { ResolvedMaxPrefixes } from './config.js';
import type { PeerEntry } from './entry.js';
import type { MaxPrefixesScope } from './types.js';

export interface PrefixCounts {
  ipv4: number;
  ipv6: number;
  total: number;
}

/** Prefixes in the peer's Adj-RIB-In (every ADD-PATH source of the current session). */
export function prefixCounts(e: PeerEntry): PrefixCounts {
  let total = 0;
  let ipv6 = 0;
  for (const s of e.sources.values()) {
    total += s.received;
    ipv6 += s.receivedV6;
  }
  return { ipv4: total - ipv6, ipv6, total };
}

function countOf(c: PrefixCounts, scope: MaxPrefixesScope): number {
  return c[scope];
}

/** Action stop: a prefix new to the peer enters only while every limit covering its family has room. */
export function admitUnderLimits(e: PeerEntry, mp: ResolvedMaxPrefixes): Admit {
  return (p: Prefix) => {
    const fam: MaxPrefixesScope = p.afi === AFI_IPV4 ? 'ipv4' : 'ipv6';
    const c = prefixCounts(e);
    for (const l of mp.limits) if ((l.scope === 'total' || l.scope === fam) && countOf(c, l.scope) >= l.limit) return false;
    return true;
  };
}

export interface LimitChange {
  scope: MaxPrefixesScope;
  limit: number;
  received: number;
}

/**
 * Compares the counts with the limits after an UPDATE. `over` holds the scopes already reported
 * (it is updated): `crossed` are newly over (warn/reset: more than the limit; stop: at the limit
 * with prefixes refused), `cleared` are back under (stop: below the limit, so new ones fit again).
 */
export function limitChanges(e: PeerEntry, mp: ResolvedMaxPrefixes, refused: number, over: Set<MaxPrefixesScope>): { crossed: LimitChange[]; cleared: LimitChange[] } {
  const c = prefixCounts(e);
  const crossed: LimitChange[] = [];
  const cleared: LimitChange[] = [];
  for (const l of mp.limits) {
    const n = countOf(c, l.scope);
    const isOver = mp.action === 'stop' ? n >= l.limit && (refused > 0 || over.has(l.scope)) : n > l.limit;
    if (isOver && !over.has(l.scope)) {
      over.add(l.scope);
      crossed.push({ scope: l.scope, limit: l.limit, received: n });
    } else if (!isOver && over.delete(l.scope)) {
      cleared.push({ scope: l.scope, limit: l.limit, received: n });
    }
  }
  return { crossed, cleared };
}

/** "IPv4 prefixes", "IPv6 prefixes", "prefixes" (both families together). */
export function scopeText(scope: MaxPrefixesScope): string {
  return scope === 'total' ? 'prefixes' : `${scope === 'ipv4' ? 'IPv4' : 'IPv6'} prefixes`;
}
