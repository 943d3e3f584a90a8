// Connection collision detection (RFC 4271 §6.8): when two connections to the same peer both
// reach the point where the peer's BGP identifier is known, one must go.

/**
 * Which connection survives. The BGP identifiers are compared as unsigned 32-bit integers: if
 * ours is lower, the connection we initiated is closed and the one the peer initiated is kept;
 * otherwise the peer's is closed.
 */
export function collisionSurvivor(localId: number, remoteId: number): 'ours' | 'theirs' {
  return localId >>> 0 < remoteId >>> 0 ? 'theirs' : 'ours';
}
