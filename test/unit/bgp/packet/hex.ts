// Test vectors are written as commented hex: `#` starts a comment, whitespace is ignored.
export function hex(text: string): Buffer {
  const clean = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('')
    .replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(clean)) throw new Error(`bad hex vector: ${clean}`);
  return Buffer.from(clean, 'hex');
}

export const MARKER = 'ffffffffffffffffffffffffffffffff';

/**
 * An UPDATE from commented hex parts; the helper fills in the header and the two length fields
 * (the hand-written vectors in vectors.test.ts spell those out instead).
 */
export function update(attrs: string, nlri = '', withdrawn = ''): Buffer {
  const a = hex(attrs);
  const n = hex(nlri);
  const w = hex(withdrawn);
  const total = 19 + 2 + w.length + 2 + a.length + n.length;
  const head = Buffer.alloc(19, 0xff);
  head.writeUInt16BE(total, 16);
  head[18] = 2;
  const wl = Buffer.alloc(2);
  wl.writeUInt16BE(w.length);
  const al = Buffer.alloc(2);
  al.writeUInt16BE(a.length);
  return Buffer.concat([head, wl, w, al, a, n]);
}

/** ORIGIN IGP, AS_PATH [65001] (4-octet), NEXT_HOP 192.0.2.2: a valid base for IPv4 NLRI. */
export const BASE_ATTRS = `
  40 01 01 00                # ORIGIN IGP
  40 02 06 02 01 0000fde9    # AS_PATH: AS_SEQUENCE 65001
  40 03 04 c0000202          # NEXT_HOP 192.0.2.2
`;
