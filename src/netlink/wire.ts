// Netlink wire format: a reusable writer that appends messages and attributes into one buffer
// (a batch is many messages back to back, sent with one send()), and readers for messages and
// attributes. Host byte order (little-endian on every platform Twill runs on) except where the
// kernel says otherwise (addresses are network order bytes).
import { NLMSG_HDRLEN } from './constants.js';

export const align4 = (n: number): number => (n + 3) & ~3;

export class Writer {
  buf: Buffer;
  len = 0;

  constructor(initial = 65536) {
    this.buf = Buffer.alloc(initial);
  }

  reset(): void {
    this.len = 0;
  }

  /** Makes room for n more bytes (zeroed). */
  ensure(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const nb = Buffer.alloc(size);
    this.buf.copy(nb, 0, 0, this.len);
    this.buf = nb;
  }

  /** Starts a message; returns its offset for end(). The fixed family header follows via u8/u16/u32. */
  begin(type: number, flags: number, seq: number): number {
    this.ensure(NLMSG_HDRLEN + 64);
    const o = this.len;
    const b = this.buf;
    b.writeUInt32LE(0, o);
    b.writeUInt16LE(type, o + 4);
    b.writeUInt16LE(flags, o + 6);
    b.writeUInt32LE(seq >>> 0, o + 8);
    b.writeUInt32LE(0, o + 12);
    this.len = o + NLMSG_HDRLEN;
    return o;
  }

  /** Finishes the message started at `start` (writes its length, pads to 4). */
  end(start: number): void {
    this.buf.writeUInt32LE(this.len - start, start);
    this.pad();
  }

  /** Drops everything written since `start` (a message that failed validation half way). */
  truncate(start: number): void {
    this.buf.fill(0, start, this.len);
    this.len = start;
  }

  pad(): void {
    const n = align4(this.len);
    if (n !== this.len) {
      this.ensure(n - this.len);
      this.buf.fill(0, this.len, n);
      this.len = n;
    }
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v & 0xffff, this.len);
    this.len += 2;
  }

  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
  }

  i32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32LE(v | 0, this.len);
    this.len += 4;
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** Zero bytes (struct padding/reserved fields). */
  zeros(n: number): void {
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
  }

  attrU32(type: number, v: number): void {
    this.ensure(8);
    const b = this.buf;
    const o = this.len;
    b.writeUInt16LE(8, o);
    b.writeUInt16LE(type, o + 2);
    b.writeUInt32LE(v >>> 0, o + 4);
    this.len = o + 8;
  }

  attrI32(type: number, v: number): void {
    this.ensure(8);
    const o = this.len;
    this.buf.writeUInt16LE(8, o);
    this.buf.writeUInt16LE(type, o + 2);
    this.buf.writeInt32LE(v | 0, o + 4);
    this.len = o + 8;
  }

  /** An attribute holding an IPv4 address given as a host-order 32-bit number (written big-endian). */
  attrIPv4(type: number, v: number): void {
    this.ensure(8);
    const o = this.len;
    this.buf.writeUInt16LE(8, o);
    this.buf.writeUInt16LE(type, o + 2);
    this.buf.writeUInt32BE(v >>> 0, o + 4);
    this.len = o + 8;
  }

  attrBytes(type: number, v: Uint8Array): void {
    this.ensure(4 + v.length + 3);
    const o = this.len;
    this.buf.writeUInt16LE(4 + v.length, o);
    this.buf.writeUInt16LE(type, o + 2);
    this.buf.set(v, o + 4);
    this.len = o + 4 + v.length;
    this.pad();
  }

  /** NUL-terminated string attribute. */
  attrString(type: number, s: string): void {
    const n = Buffer.byteLength(s);
    this.ensure(4 + n + 1 + 3);
    const o = this.len;
    this.buf.writeUInt16LE(4 + n + 1, o);
    this.buf.writeUInt16LE(type, o + 2);
    this.buf.write(s, o + 4);
    this.buf[o + 4 + n] = 0;
    this.len = o + 4 + n + 1;
    this.pad();
  }

  /** Starts a nested attribute; returns its offset for endNested(). */
  beginNested(type: number): number {
    this.ensure(4);
    const o = this.len;
    this.buf.writeUInt16LE(0, o);
    this.buf.writeUInt16LE(type, o + 2);
    this.len = o + 4;
    return o;
  }

  endNested(start: number): void {
    this.buf.writeUInt16LE(this.len - start, start);
    this.pad();
  }
}

/** One received message (a view into the receive buffer: copy what you keep). */
export interface RawMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Offset of the payload (after the 16-byte header) in buf. */
  off: number;
  /** Payload length. */
  len: number;
}

/**
 * Calls fn for every message in buf[0..n). Returns false (and stops) when a header is malformed.
 */
export function forEachMessage(buf: Buffer, n: number, fn: (m: RawMessage) => void): boolean {
  let o = 0;
  const m: RawMessage = { type: 0, flags: 0, seq: 0, pid: 0, off: 0, len: 0 };
  while (o + NLMSG_HDRLEN <= n) {
    const len = buf.readUInt32LE(o);
    if (len < NLMSG_HDRLEN || o + len > n) return false;
    m.type = buf.readUInt16LE(o + 4);
    m.flags = buf.readUInt16LE(o + 6);
    m.seq = buf.readUInt32LE(o + 8);
    m.pid = buf.readUInt32LE(o + 12);
    m.off = o + NLMSG_HDRLEN;
    m.len = len - NLMSG_HDRLEN;
    fn(m);
    o += align4(len);
  }
  return true;
}

/**
 * Calls fn(type, valueOffset, valueLength) for every attribute in buf[off..end). The nested flag
 * (NLA_F_NESTED) and byte-order flag are masked off the type.
 */
export function forEachAttr(buf: Buffer, off: number, end: number, fn: (type: number, voff: number, vlen: number) => void): void {
  let o = off;
  while (o + 4 <= end) {
    const len = buf.readUInt16LE(o);
    if (len < 4 || o + len > end) return;
    fn(buf.readUInt16LE(o + 2) & 0x3fff, o + 4, len - 4);
    o += align4(len);
  }
}

/** A NUL-terminated string attribute value. */
export function attrString(buf: Buffer, voff: number, vlen: number): string {
  let e = voff + vlen;
  while (e > voff && buf[e - 1] === 0) e--;
  return buf.toString('utf8', voff, e);
}
