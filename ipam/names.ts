// Datastore names of the IPAM bookkeeping objects, and the "host:<node>" affinity string.
//
//   IPAMBlock      "10-65-0-0-26"            (the block CIDR with . : / turned into -)
//   BlockAffinity  "<node>-<block name>"
//   IPAMHandle     the handle id made DNS-safe (the real id is kept in spec.handleID)

import { createHash } from 'node:crypto';

export function blockName(cidr: string): string {
  return cidr.replace(/[.:/]/g, '-');
}

export function affinityName(node: string, cidr: string): string {
  return `${node}-${blockName(cidr)}`;
}

/** The block's `affinity` value for a host. */
export function hostAffinity(node: string): string {
  return `host:${node}`;
}

/** The host named by an affinity value, or undefined when it is absent or not a host affinity. */
export function affinityHost(affinity: string | undefined): string | undefined {
  return affinity !== undefined && affinity.startsWith('host:') ? affinity.slice('host:'.length) : undefined;
}

const MAX_HANDLE_NAME = 200;

/**
 * A DNS-safe object name for a handle id. Ids that already are lowercase DNS labels separated by
 * dots keep their text; anything else is cleaned up and gets a short hash of the original id, so
 * two different ids never share a name.
 */
export function handleName(handleID: string): string {
  let s = handleID.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
  s = s.replace(/^[^a-z0-9]+/, '').replace(/[^a-z0-9]+$/, '');
  if (s === handleID && s.length > 0 && s.length <= MAX_HANDLE_NAME && !s.includes('..')) return s;
  const hash = createHash('sha256').update(handleID).digest('hex').slice(0, 12);
  const base = s.replace(/\.\.+/g, '.').slice(0, MAX_HANDLE_NAME - hash.length - 1).replace(/[^a-z0-9]+$/, '');
  return base ? `${base}-${hash}` : `h-${hash}`;
}
