// What the speaker keeps per configured neighbour.
import type { AdjRibOut } from '../rib/export.js';
import type { Source } from '../rib/path.js';
import type { Peer } from '../session/peer.js';
import type { ResolvedNeighbor } from './config.js';
import type { MaxPrefixesScope } from './types.js';

export interface PeerEntry {
  neighbor: ResolvedNeighbor;
  peer: Peer;
  /** The source of the current Established session (undefined otherwise); path id 0 with ADD-PATH. */
  source: Source | undefined;
  /** Every source of the current session by ADD-PATH path id (just `source` at 0 without ADD-PATH). */
  sources: Map<number, Source>;
  /** Graceful restart: sources of ended sessions whose routes are kept, stale, until the peer is back. */
  staleSources: Source[];
  /** Ends the stale period (restart time / stale path time). */
  staleTimer: NodeJS.Timeout | undefined;
  /** Families ('ipv4' | 'ipv6') of the current session whose End-of-RIB has not arrived yet. */
  eorPending: Set<string>;
  /** Why the session was stopped by a limit (maxPrefixes), for status. */
  limitError: string | undefined;
  limitTimer: NodeJS.Timeout | undefined;
  /** maxPrefixes scopes currently over their limit (reported once per crossing). */
  limitOver: Set<MaxPrefixesScope>;
  /** Times a maxPrefixes limit was crossed, and prefixes refused by action stop (life of the entry). */
  limitExceeded: number;
  limitRefused: number;
  /** What was sent on the current Established session (undefined otherwise). */
  out: AdjRibOut | undefined;
}
