// The request/reply engine over a Transport.
//
// Batches: many requests are encoded back to back and sent with one send(). Only the last
// request of each send asks for an ACK; the kernel handles the messages in order and answers a
// failed one with an error carrying its sequence number, so when the last ACK arrives every
// request without an error succeeded. This keeps replies (and recv() calls) to one per send plus
// one per failure. Dumps whose messages carry NLM_F_DUMP_INTR are retried from scratch.
//
// Work is synchronous syscalls on a non-blocking socket (the kernel answers rtnetlink requests
// while send()/recv() run), cut into chunks with a yield to the event loop whenever a stretch of
// work has held it for more than a few milliseconds.
import * as C from './constants.js';
import { Errno } from './errno.js';
import { NetlinkClosedError, NetlinkError, NetlinkSocketError } from './errors.js';
import type { Transport } from './transport.js';
import { attrString, forEachAttr, forEachMessage, Writer, type RawMessage } from './wire.js';

export interface SessionOptions {
  /** Bytes of requests per send() (default 128 KiB). */
  chunkBytes?: number;
  /** Time slice after which long work yields to the event loop (ms, default 8). */
  sliceMs?: number;
  /** Attempts for a dump the kernel keeps marking interrupted (default 10). */
  dumpAttempts?: number;
}

/** Encodes request i with sequence number seq (may throw a NetlinkError for a bad request). */
export type EncodeFn = (w: Writer, i: number, seq: number) => void;
export type DecodeFn<T> = (buf: Buffer, m: RawMessage) => T | undefined;

const yieldNow = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The error code and extended-ack message of an NLMSG_ERROR payload. */
function parseError(buf: Buffer, m: RawMessage): { errno: number; msg: string | undefined } {
  const errno = m.len >= 4 ? -buf.readInt32LE(m.off) : Errno.EINVAL;
  let msg: string | undefined;
  if (m.flags & C.NLM_F_ACK_TLVS && m.len >= 20) {
    const origLen = m.flags & C.NLM_F_CAPPED ? C.NLMSG_HDRLEN : (buf.readUInt32LE(m.off + 4) + 3) & ~3;
    forEachAttr(buf, m.off + 4 + origLen, m.off + m.len, (t, vo, vl) => {
      if (t === C.NLMSGERR_ATTR_MSG) msg = attrString(buf, vo, vl);
    });
  }
  return { errno, msg };
}

export class Session {
  private seq = (Math.random() * 0x7fffffff) >>> 0;
  private readonly w = new Writer(1 << 18);
  private readonly rbuf = Buffer.alloc(1 << 18);
  private lock: Promise<unknown> = Promise.resolve();
  private closed = false;
  private sliceStart = 0;
  private readonly chunkBytes: number;
  private readonly sliceMs: number;
  private readonly dumpAttempts: number;

  constructor(
    private readonly t: Transport,
    private readonly what: string,
    o: SessionOptions = {},
  ) {
    this.chunkBytes = o.chunkBytes ?? 128 << 10;
    this.sliceMs = o.sliceMs ?? 8;
    this.dumpAttempts = o.dumpAttempts ?? 10;
  }

  /** Runs fn with the session to itself (requests never interleave). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(
      () => {
        if (this.closed) throw new NetlinkClosedError(this.what);
        this.sliceStart = performance.now();
        return fn();
      },
      () => {
        if (this.closed) throw new NetlinkClosedError(this.what);
        this.sliceStart = performance.now();
        return fn();
      },
    );
    this.lock = run.catch(() => undefined);
    return run;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.t.close();
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  private async maybeYield(): Promise<void> {
    const now = performance.now();
    if (now - this.sliceStart >= this.sliceMs) {
      await yieldNow();
      this.sliceStart = performance.now();
    }
  }

  /** One datagram; waits (without blocking the loop) when none is queued. Returns -ENOBUFS on overrun. */
  private async recv(): Promise<number> {
    for (;;) {
      if (this.closed) throw new NetlinkClosedError(this.what);
      const n = this.t.recv(this.rbuf);
      if (n >= 0) return n;
      if (n === -Errno.EAGAIN) {
        await this.t.readable();
        this.sliceStart = performance.now();
        continue;
      }
      if (n === -Errno.EINTR) continue;
      if (n === -Errno.ENOBUFS) return n;
      throw new NetlinkSocketError('recv', -n);
    }
  }

  /**
   * Sends `count` requests (encoded by encode) in as few sends as fit, and returns per request
   * undefined (success) or its NetlinkError. Never throws for one request.
   */
  async batch(count: number, encode: EncodeFn, describe: (i: number) => string, opts: { offThread?: boolean } = {}): Promise<(NetlinkError | undefined)[]> {
    const results: (NetlinkError | undefined)[] = new Array<NetlinkError | undefined>(count);
    const w = this.w;
    const maxMsgs = this.t.maxRepliesQueued;
    const chunkIdx: number[] = [];
    let i = 0;
    while (i < count) {
      w.reset();
      chunkIdx.length = 0;
      let firstSeq = 0;
      let lastStart = -1;
      while (i < count && w.len < this.chunkBytes && chunkIdx.length < maxMsgs) {
        const start = w.len;
        const seq = this.nextSeq();
        if (chunkIdx.length === 0) firstSeq = seq;
        try {
          encode(w, i, seq);
          chunkIdx.push(i);
          lastStart = start;
        } catch (e) {
          w.truncate(start);
          this.seq = (this.seq - 1) >>> 0; // keep the chunk's sequence numbers contiguous
          if (chunkIdx.length === 0) firstSeq = 0;
          results[i] = e instanceof NetlinkError ? e : new NetlinkError(Errno.EINVAL, describe(i), (e as Error)?.message ?? String(e));
        }
        i++;
      }
      if (chunkIdx.length === 0) continue;
      // Ask for an ACK on the last message only (see the file comment).
      w.buf.writeUInt16LE(w.buf.readUInt16LE(lastStart + 6) | C.NLM_F_ACK, lastStart + 6);
      const lastSeq = (firstSeq + chunkIdx.length - 1) >>> 0;
      // A request the kernel takes long over goes out off the event loop's thread when the
      // transport can (Transport.sendAsync); w is not touched meanwhile (the session runs one
      // exclusive operation at a time). Others are sent here: a thread hop costs more than they do.
      const sent = opts.offThread && this.t.sendAsync ? await this.t.sendAsync(w.buf, w.len) : this.t.send(w.buf, w.len);
      if (sent < 0) {
        for (const k of chunkIdx) results[k] = new NetlinkError(-sent, describe(k), 'the request batch could not be sent');
        continue;
      }
      await this.collectAcks(firstSeq, lastSeq, chunkIdx, results, describe);
      await this.maybeYield();
    }
    return results;
  }

  private async collectAcks(
    firstSeq: number,
    lastSeq: number,
    chunkIdx: readonly number[],
    results: (NetlinkError | undefined)[],
    describe: (i: number) => string,
  ): Promise<void> {
    let done = false;
    const buf = this.rbuf;
    const onMsg = (m: RawMessage): void => {
      if (m.type !== C.NLMSG_ERROR) return;
      const k = (m.seq - firstSeq) >>> 0;
      if (k >= chunkIdx.length) return; // a stale reply to an earlier request
      const { errno, msg } = parseError(buf, m);
      const idx = chunkIdx[k]!;
      if (errno !== 0) results[idx] = new NetlinkError(errno, describe(idx), msg);
      if (m.seq === lastSeq) done = true;
    };
    while (!done) {
      const n = await this.recv();
      if (n === -Errno.ENOBUFS) {
        // Replies were dropped: drain what is left, and report every request whose fate we
        // could not see as unknown rather than pretend it succeeded.
        for (;;) {
          const m = this.t.recv(buf);
          if (m < 0) break;
          forEachMessage(buf, m, onMsg);
        }
        if (!done) {
          let lastSeen = -1;
          for (let k = chunkIdx.length - 1; k >= 0; k--) if (results[chunkIdx[k]!]) { lastSeen = k; break; }
          for (let k = lastSeen + 1; k < chunkIdx.length; k++) {
            const idx = chunkIdx[k]!;
            results[idx] = new NetlinkError(Errno.ENOBUFS, describe(idx), 'reply lost (receive buffer overrun): outcome unknown, check and retry');
          }
        }
        return;
      }
      forEachMessage(buf, n, onMsg);
    }
  }

  /**
   * Sends one request and throws its error, if any. offThread: the kernel's work for it is long
   * (a link delete waits for RCU: tens of ms) and must not stall the event loop.
   */
  async exec(encode: (w: Writer, seq: number) => void, describe: () => string, opts: { offThread?: boolean } = {}): Promise<void> {
    const [err] = await this.batch(1, (w, _i, seq) => encode(w, seq), describe, opts);
    if (err) throw err;
  }

  /**
   * Sends one request that is answered by messages and then an ACK (or an error), and decodes
   * the messages. The request must carry NLM_F_ACK.
   */
  async query<T>(encode: (w: Writer, seq: number) => void, decode: DecodeFn<T>, describe: () => string): Promise<T[]> {
    const w = this.w;
    w.reset();
    const seq = this.nextSeq();
    encode(w, seq);
    const sent = this.t.send(w.buf, w.len);
    if (sent < 0) throw new NetlinkError(-sent, describe());
    const out: T[] = [];
    let error: NetlinkError | undefined;
    let done = false;
    const buf = this.rbuf;
    while (!done) {
      const n = await this.recv();
      if (n === -Errno.ENOBUFS) throw new NetlinkError(Errno.ENOBUFS, describe(), 'reply lost (receive buffer overrun)');
      forEachMessage(buf, n, (m) => {
        if (m.seq !== seq) return;
        if (m.type === C.NLMSG_ERROR) {
          const { errno, msg } = parseError(buf, m);
          if (errno !== 0) error = new NetlinkError(errno, describe(), msg);
          done = true;
        } else if (m.type === C.NLMSG_DONE) {
          done = true;
        } else {
          const v = decode(buf, m);
          if (v !== undefined) out.push(v);
        }
      });
    }
    if (error) throw error;
    return out;
  }

  /** Runs a dump to completion, retrying while the kernel marks it interrupted. */
  async dump<T>(encode: (w: Writer, seq: number) => void, decode: DecodeFn<T>, describe: () => string): Promise<T[]> {
    for (let attempt = 1; ; attempt++) {
      const { items, interrupted } = await this.dumpOnce(encode, decode, describe);
      if (!interrupted) return items;
      if (attempt >= this.dumpAttempts) {
        throw new NetlinkError(Errno.EINTR, describe(), `the dump was interrupted by concurrent changes ${attempt} times in a row`);
      }
    }
  }

  private async dumpOnce<T>(
    encode: (w: Writer, seq: number) => void,
    decode: DecodeFn<T>,
    describe: () => string,
  ): Promise<{ items: T[]; interrupted: boolean }> {
    const w = this.w;
    w.reset();
    const seq = this.nextSeq();
    encode(w, seq);
    const sent = this.t.send(w.buf, w.len);
    if (sent < 0) throw new NetlinkError(-sent, describe());
    const items: T[] = [];
    let interrupted = false;
    let done = false;
    let error: NetlinkError | undefined;
    const buf = this.rbuf;
    const onMsg = (m: RawMessage): void => {
      if (m.seq !== seq || done) return;
      if (m.flags & C.NLM_F_DUMP_INTR) interrupted = true;
      if (m.type === C.NLMSG_DONE) {
        done = true;
        const errno = m.len >= 4 ? -buf.readInt32LE(m.off) : 0;
        if (errno === Errno.EINTR) interrupted = true;
        else if (errno > 0) error = new NetlinkError(errno, describe(), parseError(buf, m).msg);
      } else if (m.type === C.NLMSG_ERROR) {
        const e = parseError(buf, m);
        if (e.errno !== 0) {
          error = new NetlinkError(e.errno, describe(), e.msg);
          done = true;
        }
      } else if (m.type !== C.NLMSG_NOOP && m.type !== C.NLMSG_OVERRUN) {
        const v = decode(buf, m);
        if (v !== undefined) items.push(v);
      }
    };
    while (!done) {
      const n = await this.recv();
      if (n === -Errno.ENOBUFS) {
        // Dump replies are paced by our reads and can't overflow; treat it as an interruption.
        interrupted = true;
        continue;
      }
      forEachMessage(buf, n, onMsg);
      if (!done) await this.maybeYield();
    }
    if (error) throw error;
    return { items, interrupted };
  }
}
