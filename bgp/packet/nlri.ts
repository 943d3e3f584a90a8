// NLRI lists (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3): <path id?> <length> <prefix octets>.
// Decoders return an error sentence instead of throwing, so the caller picks the NOTIFICATION
// code and the RFC 7606 handling that fits where the list was found.
import { AFI_IPV4, AFI_IPV6 } from './constants.js';
import type { Ipv4Prefix, Ipv6Prefix, Prefix } from './address.js';
import { BgpEncodeError } from './errors.js';

/**
 * Appends the IPv4 prefixes in buf[start..end) to `out`. Returns undefined on success, or what is
 * wrong (the prefixes before the fault stay appended).
 */
export function decodeIpv4Nlri(
  buf: Buffer,
  start: number,
  end: number,
  addPath: boolean,
  out: Ipv4Prefix[],
): string | undefined {
  let i = start;
  while (i < end) {
    let pathId = 0;
    if (addPath) {
      if (i + 5 > end) return `path identifier and length at offset ${i - start} run past the end of the list`;
      pathId = (buf[i]! * 0x1000000 + ((buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!)) >>> 0;
      i += 4;
    }
    const len = buf[i]!;
    i++;
    if (len > 32) return `IPv4 prefix length ${len} is more than 32`;
    const nb = (len + 7) >> 3;
    if (i + nb > end) return `IPv4 prefix of length ${len} runs past the end of the list`;
    let addr = 0;
    switch (nb) {
      case 4:
        addr = (buf[i]! * 0x1000000 + ((buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!)) >>> 0;
        break;
      case 3:
        addr = (buf[i]! * 0x1000000 + ((buf[i + 1]! << 16) | (buf[i + 2]! << 8))) >>> 0;
        break;
      case 2:
        addr = (buf[i]! * 0x1000000 + (buf[i + 1]! << 16)) >>> 0;
        break;
      case 1:
        addr = buf[i]! * 0x1000000;
        break;
      default:
        addr = 0;
    }
    i += nb;
    if (len < 32) addr = len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0;
    out.push({ afi: AFI_IPV4, addr, len, pathId });
  }
  return undefined;
}

/**
 * Appends the IPv6 prefixes in buf[start..end) to `out`. The addresses are copied into one
 * buffer per list (each prefix holds a 16-octet view of it), so they never pin the message.
 */
export function decodeIpv6Nlri(
  buf: Buffer,
  start: number,
  end: number,
  addPath: boolean,
  out: Ipv6Prefix[],
): string | undefined {
  // Pass 1: validate and count.
  let i = start;
  let count = 0;
  while (i < end) {
    if (addPath) {
      if (i + 5 > end) return `path identifier and length at offset ${i - start} run past the end of the list`;
      i += 4;
    }
    const len = buf[i]!;
    i++;
    if (len > 128) return `IPv6 prefix length ${len} is more than 128`;
    const nb = (len + 7) >> 3;
    if (i + nb > end) return `IPv6 prefix of length ${len} runs past the end of the list`;
    i += nb;
    count++;
  }
  if (count === 0) return undefined;
  // Pass 2: copy.
  const pool = Buffer.alloc(count * 16);
  i = start;
  for (let k = 0; k < count; k++) {
    let pathId = 0;
    if (addPath) {
      pathId = (buf[i]! * 0x1000000 + ((buf[i + 1]! << 16) | (buf[i + 2]! << 8) | buf[i + 3]!)) >>> 0;
      i += 4;
    }
    const len = buf[i]!;
    i++;
    const nb = (len + 7) >> 3;
    const off = k * 16;
    buf.copy(pool, off, i, i + nb);
    const rem = len & 7;
    if (rem !== 0) pool[off + nb - 1] = pool[off + nb - 1]! & ((0xff << (8 - rem)) & 0xff);
    i += nb;
    out.push({ afi: AFI_IPV6, addr: pool.subarray(off, off + 16), len, pathId });
  }
  return undefined;
}

/** Octets one prefix takes on the wire. */
export function prefixWireSize(p: Prefix, addPath: boolean): number {
  return (addPath ? 5 : 1) + ((p.len + 7) >> 3);
}

/** Writes one prefix at buf[off]; returns the offset after it. */
export function writePrefix(buf: Buffer, off: number, p: Prefix, addPath: boolean): number {
  if (addPath) {
    const id = p.pathId >>> 0;
    buf[off] = id >>> 24;
    buf[off + 1] = (id >>> 16) & 255;
    buf[off + 2] = (id >>> 8) & 255;
    buf[off + 3] = id & 255;
    off += 4;
  }
  const len = p.len;
  buf[off++] = len;
  const nb = (len + 7) >> 3;
  if (p.afi === AFI_IPV4) {
    const a = p.addr;
    if (nb > 0) buf[off] = a >>> 24;
    if (nb > 1) buf[off + 1] = (a >>> 16) & 255;
    if (nb > 2) buf[off + 2] = (a >>> 8) & 255;
    if (nb > 3) buf[off + 3] = a & 255;
    // Host bits in the last octet must not leak even if the caller built an unmasked prefix.
    const rem = len & 7;
    if (rem !== 0) buf[off + nb - 1] = buf[off + nb - 1]! & ((0xff << (8 - rem)) & 0xff);
  } else {
    p.addr.copy(buf, off, 0, nb);
    const rem = len & 7;
    if (rem !== 0) buf[off + nb - 1] = buf[off + nb - 1]! & ((0xff << (8 - rem)) & 0xff);
  }
  return off + nb;
}

/** Throws when a prefix cannot be encoded (bad length or afi); a bug on the sending side. */
export function assertEncodablePrefix(p: Prefix): void {
  const max = p.afi === AFI_IPV4 ? 32 : p.afi === AFI_IPV6 ? 128 : -1;
  if (max < 0 || !Number.isInteger(p.len) || p.len < 0 || p.len > max) {
    throw new EncodablePrefixError(p);
  }
  if (!Number.isInteger(p.pathId) || p.pathId < 0 || p.pathId > 0xffffffff) throw new EncodablePrefixError(p);
  if (p.afi === AFI_IPV6 && p.addr.length < 16) throw new EncodablePrefixError(p);
}

class EncodablePrefixError extends BgpEncodeError {
  constructor(p: Prefix) {
    super(
      `cannot encode prefix with afi ${String(p.afi)}, length ${String(p.len)}, path id ${String(p.pathId)}: out of range`,
      'build prefixes with ipv4Prefix()/ipv6Prefix()/parsePrefix()',
    );
  }
}
