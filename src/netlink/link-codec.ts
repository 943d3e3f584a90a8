// RTM_*LINK encoding (veth creation, set, delete, get) and link message decoding.
import * as C from './constants.js';
import { formatMac } from './ip.js';
import type { Link } from './types.js';
import { attrString, forEachAttr, type RawMessage, type Writer } from './wire.js';

/** struct ifinfomsg: family, pad, type, index, flags, change. */
function ifinfomsg(w: Writer, index: number, flags: number, change: number): void {
  w.u8(C.AF_UNSPEC);
  w.u8(0);
  w.u16(0);
  w.i32(index);
  w.u32(flags);
  w.u32(change);
}

export interface LinkSet {
  /** ifindex, or 0 to select by name. */
  index: number;
  /** Select by this name when index is 0. */
  name?: string;
  up?: boolean;
  mtu?: number;
  mac?: Uint8Array;
  newName?: string;
}

/** RTM_NEWLINK on an existing link (no NLM_F_CREATE): up/down, MTU, MAC, rename. */
export function encodeLinkSet(w: Writer, seq: number, s: LinkSet): void {
  const start = w.begin(C.RTM_NEWLINK, C.NLM_F_REQUEST | C.NLM_F_ACK, seq);
  ifinfomsg(w, s.index, s.up ? C.IFF_UP : 0, s.up !== undefined ? C.IFF_UP : 0);
  if (s.newName !== undefined) w.attrString(C.IFLA_IFNAME, s.newName);
  else if (!s.index && s.name !== undefined) w.attrString(C.IFLA_IFNAME, s.name);
  if (s.mtu !== undefined) w.attrU32(C.IFLA_MTU, s.mtu);
  if (s.mac) w.attrBytes(C.IFLA_ADDRESS, s.mac);
  w.end(start);
}

export interface VethSpec {
  name: string;
  peerName: string;
  /** fd of the peer's namespace, or -1 for the same namespace. */
  peerNsFd: number;
  mtu?: number;
  mac?: Uint8Array;
  peerMac?: Uint8Array;
}

export function encodeVethAdd(w: Writer, seq: number, s: VethSpec): void {
  const start = w.begin(C.RTM_NEWLINK, C.NLM_F_REQUEST | C.NLM_F_ACK | C.NLM_F_CREATE | C.NLM_F_EXCL, seq);
  ifinfomsg(w, 0, 0, 0);
  w.attrString(C.IFLA_IFNAME, s.name);
  if (s.mtu !== undefined) w.attrU32(C.IFLA_MTU, s.mtu);
  if (s.mac) w.attrBytes(C.IFLA_ADDRESS, s.mac);
  const li = w.beginNested(C.IFLA_LINKINFO);
  w.attrString(C.IFLA_INFO_KIND, 'veth');
  const data = w.beginNested(C.IFLA_INFO_DATA);
  const peer = w.beginNested(C.VETH_INFO_PEER);
  ifinfomsg(w, 0, 0, 0);
  w.attrString(C.IFLA_IFNAME, s.peerName);
  if (s.peerNsFd >= 0) w.attrU32(C.IFLA_NET_NS_FD, s.peerNsFd);
  if (s.mtu !== undefined) w.attrU32(C.IFLA_MTU, s.mtu);
  if (s.peerMac) w.attrBytes(C.IFLA_ADDRESS, s.peerMac);
  w.endNested(peer);
  w.endNested(data);
  w.endNested(li);
  w.end(start);
}

export function encodeLinkDel(w: Writer, seq: number, index: number, name?: string): void {
  const start = w.begin(C.RTM_DELLINK, C.NLM_F_REQUEST | C.NLM_F_ACK, seq);
  ifinfomsg(w, index, 0, 0);
  if (!index && name !== undefined) w.attrString(C.IFLA_IFNAME, name);
  w.end(start);
}

/** RTM_GETLINK: a dump (index 0, no name) or one link by index or name. */
export function encodeLinkGet(w: Writer, seq: number, index: number, name?: string): void {
  const dump = !index && name === undefined;
  const start = w.begin(C.RTM_GETLINK, C.NLM_F_REQUEST | (dump ? C.NLM_F_DUMP : C.NLM_F_ACK), seq);
  ifinfomsg(w, index, 0, 0);
  if (!index && name !== undefined) w.attrString(C.IFLA_IFNAME, name);
  w.attrU32(C.IFLA_EXT_MASK, C.RTEXT_FILTER_SKIP_STATS);
  w.end(start);
}

export function decodeLink(buf: Buffer, m: RawMessage): Link | undefined {
  if (m.len < C.IFINFOMSG_LEN) return undefined;
  const o = m.off;
  const index = buf.readInt32LE(o + 4);
  const flags = buf.readUInt32LE(o + 8);
  const l: Link = { index, name: '', mtu: 0, up: (flags & C.IFF_UP) !== 0 };
  forEachAttr(buf, o + C.IFINFOMSG_LEN, o + m.len, (t, vo, vl) => {
    switch (t) {
      case C.IFLA_IFNAME:
        l.name = attrString(buf, vo, vl);
        break;
      case C.IFLA_MTU:
        l.mtu = buf.readUInt32LE(vo);
        break;
      case C.IFLA_ADDRESS:
        if (vl > 0) l.mac = formatMac(buf, vo, vl);
        break;
      case C.IFLA_OPERSTATE:
        l.operState = C.OPERSTATES[buf[vo]!] ?? 'unknown';
        break;
      case C.IFLA_MASTER:
        l.master = buf.readUInt32LE(vo);
        break;
      case C.IFLA_LINK:
        // Sent only when it differs from the link's own index (for a veth: the peer).
        l.peerIndex = buf.readInt32LE(vo);
        break;
      case C.IFLA_LINK_NETNSID:
        l.netnsId = buf.readInt32LE(vo);
        break;
      case C.IFLA_LINKINFO:
        forEachAttr(buf, vo, vo + vl, (it, ivo, ivl) => {
          if (it === C.IFLA_INFO_KIND) l.kind = attrString(buf, ivo, ivl);
        });
        break;
    }
  });
  return l;
}
