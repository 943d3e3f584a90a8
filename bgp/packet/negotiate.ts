// From the OPEN we sent and the OPEN we received to the CodecContext of the session
// (RFC 5492: a capability applies when both sides need it to; direction-specific ones per side).
import { AFI_IPV4, AFI_IPV6, AS_TRANS, SAFI_UNICAST } from './constants.js';
import type { AddPathFamily, Capability } from './capabilities.js';
import type { CodecContext, DirectionFlags } from './context.js';
import type { OpenMessage } from './open.js';

type CapOf<K extends Capability['kind']> = Extract<Capability, { kind: K }>;

/** The first capability of a kind in an OPEN. */
export function findCapability<K extends Capability['kind']>(open: OpenMessage, kind: K): CapOf<K> | undefined {
  return open.capabilities.find((c): c is CapOf<K> => c.kind === kind);
}

/** The speaker's real AS: the 4-octet AS capability when present, else My AS. */
export function speakerAs(open: OpenMessage): number {
  return findCapability(open, 'four-octet-as')?.as ?? open.myAs;
}

/** The 2-octet My AS field for an AS (AS_TRANS when it needs 4 octets). */
export function myAsField(as: number): number {
  return as > 0xffff ? AS_TRANS : as;
}

function addPathEntry(open: OpenMessage, afi: number): AddPathFamily | undefined {
  for (const c of open.capabilities) {
    if (c.kind !== 'add-path') continue;
    const f = c.families.find((x) => x.afi === afi && x.safi === SAFI_UNICAST);
    if (f) return f;
  }
  return undefined;
}

function addPathDir(local: OpenMessage, remote: OpenMessage, afi: number): DirectionFlags {
  const l = addPathEntry(local, afi);
  const r = addPathEntry(remote, afi);
  return { send: !!(l?.send && r?.receive), receive: !!(l?.receive && r?.send) };
}

/** The unicast families both sides enabled (RFC 4760 §8: no Multiprotocol capability = IPv4 unicast). */
export function commonFamilies(local: OpenMessage, remote: OpenMessage): { ipv4: boolean; ipv6: boolean } {
  const fams = (o: OpenMessage): Set<number> => {
    const mp = o.capabilities.filter((c): c is CapOf<'multiprotocol'> => c.kind === 'multiprotocol');
    if (mp.length === 0) return new Set([AFI_IPV4]);
    return new Set(mp.filter((c) => c.safi === SAFI_UNICAST).map((c) => c.afi));
  };
  const l = fams(local);
  const r = fams(remote);
  return { ipv4: l.has(AFI_IPV4) && r.has(AFI_IPV4), ipv6: l.has(AFI_IPV6) && r.has(AFI_IPV6) };
}

/** The codec context for a session, given the OPEN we sent and the one we received. */
export function negotiateContext(local: OpenMessage, remote: OpenMessage, opts: { ebgp?: boolean } = {}): CodecContext {
  const has = (o: OpenMessage, k: Capability['kind']): boolean => o.capabilities.some((c) => c.kind === k);
  const extNh = findCapability(remote, 'extended-next-hop');
  return {
    fourOctetAs: has(local, 'four-octet-as') && has(remote, 'four-octet-as'),
    addPath: { ipv4: addPathDir(local, remote, AFI_IPV4), ipv6: addPathDir(local, remote, AFI_IPV6) },
    // RFC 8654 §4: accept up to 65535 octets when we advertised the capability; send more than
    // 4096 only when it was advertised both ways. The RFC would let us send as soon as the peer
    // advertised it, but FRR and BIRD accept long messages only when they also received the
    // capability from us (FRR 8.4 always advertises it and resets the session otherwise).
    extendedMessage: { send: has(remote, 'extended-message') && has(local, 'extended-message'), receive: has(local, 'extended-message') },
    // RFC 8950 §4: we may send IPv4 unicast with an IPv6 next hop if the peer said it accepts it.
    extendedNextHop: !!extNh?.entries.some((e) => e.afi === AFI_IPV4 && e.safi === SAFI_UNICAST && e.nextHopAfi === AFI_IPV6),
    ebgp: opts.ebgp ?? speakerAs(local) !== speakerAs(remote),
  };
}
