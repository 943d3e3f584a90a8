// Cuts a TCP byte stream into whole BGP messages. `next()` returns undefined while more bytes are
// needed and throws a session-reset BgpError (Message Header Error) when the header is bad, so
// "wait" and "malformed" are never confused. A message that lies within one pushed chunk is
// returned as a view of that chunk (no copy); only messages spanning chunks are copied.
import { HEADER_LENGTH, MAX_EXTENDED_MESSAGE_LENGTH, MAX_MESSAGE_LENGTH } from './constants.js';
import { checkHeader } from './header.js';
import type { BgpError } from './errors.js';

export class Framer {
  private chunks: Buffer[] = [];
  private head = 0;
  private offset = 0;
  private buffered = 0;
  private failed: BgpError | undefined;
  private readonly scratch = Buffer.alloc(HEADER_LENGTH);
  /** Limit for UPDATE / NOTIFICATION / ROUTE-REFRESH; see setExtendedMessage(). */
  private maxLength: number;

  constructor(opts: { extendedMessage?: boolean } = {}) {
    this.maxLength = opts.extendedMessage ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  }

  /** RFC 8654: once we have advertised Extended Message, accept messages up to 65535 octets. */
  setExtendedMessage(receive: boolean): void {
    this.maxLength = receive ? MAX_EXTENDED_MESSAGE_LENGTH : MAX_MESSAGE_LENGTH;
  }

  /** Octets received but not yet returned as messages. */
  get pending(): number {
    return this.buffered;
  }

  /** Adds received bytes. The chunk must not be modified afterwards (messages may be views of it). */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next whole message (header included), or undefined if more bytes are needed. After it
   * has thrown once, it throws the same error again until reset().
   */
  next(): Buffer | undefined {
    if (this.failed) throw this.failed;
    if (this.buffered < HEADER_LENGTH) return undefined;
    const first = this.chunks[this.head]!;
    const avail = first.length - this.offset;
    let length: number;
    try {
      if (avail >= HEADER_LENGTH) {
        length = checkHeader(first, this.offset, this.maxLength);
      } else {
        this.copyOut(this.scratch, HEADER_LENGTH, false);
        length = checkHeader(this.scratch, 0, this.maxLength);
      }
    } catch (e) {
      this.failed = e as BgpError;
      throw e;
    }
    if (this.buffered < length) return undefined;
    if (avail >= length) {
      const msg = first.subarray(this.offset, this.offset + length);
      this.offset += length;
      this.buffered -= length;
      if (this.offset === first.length) this.dropHead();
      return msg;
    }
    const msg = Buffer.allocUnsafe(length);
    this.copyOut(msg, length, true);
    return msg;
  }

  /** Forgets everything buffered and any error (a new session on a new connection). */
  reset(): void {
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.buffered = 0;
    this.failed = undefined;
  }

  /** Copies `n` buffered octets into `dst`; consumes them when `consume`. */
  private copyOut(dst: Buffer, n: number, consume: boolean): void {
    let copied = 0;
    let idx = this.head;
    let off = this.offset;
    while (copied < n) {
      const c = this.chunks[idx]!;
      const take = Math.min(n - copied, c.length - off);
      c.copy(dst, copied, off, off + take);
      copied += take;
      off += take;
      if (off === c.length) {
        idx++;
        off = 0;
      }
    }
    if (consume) {
      this.buffered -= n;
      // Release fully consumed chunks.
      while (this.head < idx) {
        this.chunks[this.head] = EMPTY;
        this.head++;
      }
      this.offset = off;
      if (this.head === this.chunks.length || (this.head > 64 && this.head * 2 > this.chunks.length)) this.compact();
    }
  }

  private dropHead(): void {
    this.chunks[this.head] = EMPTY;
    this.head++;
    this.offset = 0;
    if (this.head === this.chunks.length || (this.head > 64 && this.head * 2 > this.chunks.length)) this.compact();
  }

  private compact(): void {
    this.chunks = this.chunks.slice(this.head);
    this.head = 0;
  }
}

const EMPTY = Buffer.alloc(0);
