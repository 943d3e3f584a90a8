// The one text form of an IP address, used at every boundary (netlink, iptables, the datastore
// and API values, BGP), so two modules that print the same address print the same string and a
// reconciler comparing strings never sees a difference that is not there.
//
//   IPv4: dotted quad, no leading zeros ("10.0.0.1").
//   IPv6: RFC 5952: lower-case hex, no leading zeros in a group, the longest run of two or more
//         all-zero groups written "::" (the first run on a tie; a single zero group stays "0"),
//         and an IPv4-mapped address (::ffff:0:0/96) with its last 32 bits dotted:
//         "::ffff:10.0.0.1" (RFC 5952 section 5; what inet_ntop, iproute2 and iptables print).

/** Dotted quad of the 4 octets at b[off..off+4). */
export function formatIPv4(b: Uint8Array, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** Dotted quad of an unsigned 32-bit number. */
export function formatIPv4Number(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** RFC 5952 text of the 16 octets at b[off..off+16). */
export function formatIPv6(b: Uint8Array, off = 0): string {
  const g: number[] = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = ((b[off + 2 * i] ?? 0) << 8) | (b[off + 2 * i + 1] ?? 0);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatIPv4(b, off + 12)}`;
  }
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (x: number): string => x.toString(16);
  if (bestStart === -1) return g.map(hex).join(':');
  return `${g.slice(0, bestStart).map(hex).join(':')}::${g.slice(bestStart + bestLen).map(hex).join(':')}`;
}

/** RFC 5952 text of a 128-bit address held as a bigint. */
export function formatIPv6BigInt(v: bigint): string {
  const b = new Uint8Array(16);
  for (let i = 15, x = v; i >= 0; i--, x >>= 8n) b[i] = Number(x & 0xffn);
  return formatIPv6(b);
}
