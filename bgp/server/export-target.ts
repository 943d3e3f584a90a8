// The export facts of an Established session: who the peer is, and our next hops towards it.
import { AFI_IPV4, AFI_IPV6, parseIpv4, parseIpv6, type NextHop } from '../packet/index.js';
import type { ExportTarget } from '../rib/export.js';
import type { ResolvedConfig } from './config.js';
import type { PeerEntry } from './entry.js';

/**
 * Next hop self: the session's local address for its own family; for the other family the
 * neighbour's `nextHop`, else the speaker's, else (IPv4) the router id or (IPv6) the IPv4-mapped
 * local address. Over an IPv6 link-local session the global next hop comes from configuration and
 * the link-local address rides along (RFC 2545). A configured next hop always wins.
 */
export function exportTarget(e: PeerEntry, r: ResolvedConfig): ExportTarget | undefined {
  const peer = e.peer;
  const neg = peer.negotiated;
  const conn = peer.conn;
  if (!neg || !conn) return undefined;
  const n = e.neighbor;
  const cfg = r.config;
  const local = conn.localAddress;
  const v4session = !local.includes(':');
  const nh4 = n.config.nextHop?.ipv4 ?? (v4session ? local : (cfg.nextHop?.ipv4 ?? cfg.routerId));
  const conf6 = n.config.nextHop?.ipv6 ?? cfg.nextHop?.ipv6;
  let selfV6: NextHop;
  if (v4session) {
    selfV6 = { afi: AFI_IPV6, addr: parseIpv6(conf6 ?? `::ffff:${local}`) };
  } else if (/^fe[89ab]/.test(local)) {
    selfV6 = conf6 ? { afi: AFI_IPV6, addr: parseIpv6(conf6), linkLocal: parseIpv6(local) } : { afi: AFI_IPV6, addr: parseIpv6(local) };
  } else {
    selfV6 = { afi: AFI_IPV6, addr: parseIpv6(conf6 ?? local) };
  }
  return {
    address: n.address,
    localAs: r.asn,
    ebgp: peer.ebgp,
    nextHopSelf: !!n.config.nextHopSelf,
    selfV4: { afi: AFI_IPV4, addr: parseIpv4(nh4) },
    selfV6,
    families: neg.families,
    policy: n.exportPolicy,
    ctx: conn.ctx,
    clusterId: r.clusterId,
    rrClient: n.rrClient,
    addPathSend: n.addPathSend,
    ...(peer.data.peer ? { peerId: peer.data.peer.bgpId } : {}),
  };
}
