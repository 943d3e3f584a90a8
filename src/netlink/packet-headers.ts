// The network and transport headers at the start of a packet (an NFLOG payload starts at the IP
// header): addresses, protocol, ports (TCP, UDP, UDP-Lite, SCTP) or ICMP type/code. Pure; a
// truncated or malformed packet gives what could be read (never throws).
import { formatIPv4, formatIPv6 } from '../lib/ip-text.js';

export interface PacketHeaders {
  family: 4 | 6;
  src: string;
  dst: string;
  /** IP protocol number of the transport header (after IPv6 extension headers). */
  protocol: number;
  /** "tcp", "udp", "icmp", "icmpv6", "sctp", "udplite", else the number as text. */
  protocolName: string;
  srcPort?: number;
  dstPort?: number;
  icmpType?: number;
  icmpCode?: number;
  /** TCP flags as tcpdump letters ("S", "SA", "FA", "R", …). */
  tcpFlags?: string;
  /** A non-first fragment: no transport header to read. */
  fragment?: boolean;
}

const NAMES: Record<number, string> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'icmpv6', 132: 'sctp', 136: 'udplite' };
const WITH_PORTS = new Set([6, 17, 132, 136]);
/** IPv6 extension headers walked past: hop-by-hop, routing, destination options (fragment apart). */
const EXTENSIONS = new Set([0, 43, 60]);
const FRAGMENT = 44;

export function protocolName(p: number): string {
  return NAMES[p] ?? String(p);
}

function tcpFlags(b: number): string {
  const letters: [number, string][] = [[0x02, 'S'], [0x10, 'A'], [0x01, 'F'], [0x04, 'R'], [0x08, 'P'], [0x20, 'U']];
  return letters.filter(([bit]) => (b & bit) !== 0).map(([, l]) => l).join('') || '.';
}

function transport(p: Buffer, off: number, h: PacketHeaders): PacketHeaders {
  if (WITH_PORTS.has(h.protocol) && p.length >= off + 4) {
    h.srcPort = p.readUInt16BE(off);
    h.dstPort = p.readUInt16BE(off + 2);
    if (h.protocol === 6 && p.length >= off + 14) h.tcpFlags = tcpFlags(p[off + 13]!);
  } else if ((h.protocol === 1 || h.protocol === 58) && p.length >= off + 2) {
    h.icmpType = p[off];
    h.icmpCode = p[off + 1];
  }
  return h;
}

/** Reads the IP (v4 or v6) header at the start of p and the transport header after it. */
export function parsePacketHeaders(p: Buffer): PacketHeaders | undefined {
  if (p.length < 1) return undefined;
  const version = p[0]! >> 4;
  if (version === 4) {
    if (p.length < 20) return undefined;
    const ihl = (p[0]! & 0x0f) * 4;
    if (ihl < 20) return undefined;
    const protocol = p[9]!;
    const h: PacketHeaders = { family: 4, src: formatIPv4(p, 12), dst: formatIPv4(p, 16), protocol, protocolName: protocolName(protocol) };
    if ((p.readUInt16BE(6) & 0x1fff) !== 0) {
      h.fragment = true;
      return h;
    }
    return transport(p, ihl, h);
  }
  if (version === 6) {
    if (p.length < 40) return undefined;
    let next = p[6]!;
    let off = 40;
    let fragment = false;
    // Extension headers: (next header, length in 8-octet units not counting the first 8).
    for (let i = 0; i < 8 && (EXTENSIONS.has(next) || next === FRAGMENT) && p.length >= off + 8; i++) {
      if (next === FRAGMENT) {
        if ((p.readUInt16BE(off + 2) & 0xfff8) !== 0) fragment = true;
        next = p[off]!;
        off += 8;
      } else {
        const n = p[off]!;
        off += (p[off + 1]! + 1) * 8;
        next = n;
      }
    }
    const h: PacketHeaders = { family: 6, src: formatIPv6(p, 8), dst: formatIPv6(p, 24), protocol: next, protocolName: protocolName(next) };
    if (fragment) {
      h.fragment = true;
      return h;
    }
    return transport(p, off, h);
  }
  return undefined;
}
