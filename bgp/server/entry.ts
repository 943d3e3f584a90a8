// What the speaker keeps per configured neighbour.
import type { AdjRibOut } from '../rib/export.js';
import type { Source } from '../rib/path.js';
import type { Peer } from '../session/peer.js';
import type { ResolvedNeighbor } from './config.js';

export interface PeerEntry {
  neighbor: ResolvedNeighbor;
  peer: Peer;
  /** The source of the current Established session (undefined otherwise). */
  source: Source | undefined;
  /** What was sent on the current Established session (undefined otherwise). */
  out: AdjRibOut | undefined;
}
