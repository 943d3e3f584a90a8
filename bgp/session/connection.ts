// One TCP connection of a BGP session: the socket (TCP_NODELAY on), the Framer cutting its byte
// stream into messages, the codec context negotiated for it, and read back-pressure: when more
// than HIGH_WATER octets wait to be processed the socket stops reading until the backlog is
// below LOW_WATER, so a peer sending a huge table cannot make us buffer it all.
//
// write() (and rejectConnection()) are the only places where BGP messages leave the speaker:
// every message is checked there against the session's size limit (checkOutgoing: 4096 octets
// unless Extended Message was negotiated both ways); a batch with one message too long is not
// written at all and BgpSendLimitError is thrown.
import type { Socket } from 'node:net';
import { CeaseSubcode, DEFAULT_CONTEXT, ErrorCode, Framer, checkOutgoing, encodeMessage, type CodecContext } from '../packet/index.js';

const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 1024 * 1024;
/** How long a closing connection may take to flush what we wrote before it is destroyed. */
const CLOSE_GRACE_MS = 2000;

export interface ConnectionEvents {
  /** New bytes are in the framer. */
  onReadable(c: Connection): void;
  /** The connection is gone (error, peer closed, or our close finished). Called once. */
  onClosed(c: Connection, reason: string): void;
}

export class Connection {
  readonly framer = new Framer();
  ctx: CodecContext = DEFAULT_CONTEXT;
  /** True once close() or destroy() was called, or the socket closed. */
  closing = false;
  closed = false;
  readonly localAddress: string;
  readonly localPort: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly closedPromise: Promise<void>;
  private paused = false;
  private resolveClosed!: () => void;
  private closeReason: string | undefined;

  constructor(
    readonly socket: Socket,
    /** We initiated it (collision detection needs to know). */
    readonly outgoing: boolean,
    private readonly events: ConnectionEvents,
  ) {
    socket.setNoDelay(true);
    this.localAddress = normalizeAddress(socket.localAddress ?? '');
    this.localPort = socket.localPort ?? 0;
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    socket.on('data', (chunk: Buffer) => {
      if (this.closing) return;
      this.framer.push(chunk);
      if (!this.paused && this.framer.pending > HIGH_WATER) {
        this.paused = true;
        socket.pause();
      }
      this.events.onReadable(this);
    });
    socket.on('error', (e: Error) => {
      this.closeReason ??= `TCP error: ${e.message}`;
    });
    socket.on('end', () => {
      this.closeReason ??= 'the peer closed the TCP connection';
    });
    socket.on('close', () => {
      this.closed = true;
      this.closing = true;
      this.resolveClosed();
      this.events.onClosed(this, this.closeReason ?? 'the TCP connection closed');
    });
  }

  /** Call after taking messages out of the framer: resumes reading once the backlog is small. */
  drained(): void {
    if (this.paused && this.framer.pending < LOW_WATER && !this.closing) {
      this.paused = false;
      this.socket.resume();
    }
  }

  /**
   * Writes whole BGP messages. Throws BgpSendLimitError, writing nothing of `data`, when one of
   * them is longer than this session allows.
   */
  write(data: Buffer | readonly Buffer[]): void {
    if (this.closing) return;
    if (Buffer.isBuffer(data)) {
      checkOutgoing([data], this.ctx);
      this.socket.write(data);
      return;
    }
    if (data.length === 0) return;
    checkOutgoing(data, this.ctx);
    if (data.length === 1) {
      this.socket.write(data[0]!);
      return;
    }
    // One writev for the batch, without copying the messages into one buffer.
    this.socket.cork();
    for (const b of data) this.socket.write(b);
    this.socket.uncork();
  }

  /** Octets written but not yet handed to the kernel. */
  get writeBacklog(): number {
    return this.socket.writableLength;
  }

  /** Resolves when the write backlog has drained (at once if there is none, or when closed). */
  drainedOut(): Promise<void> {
    if (this.socket.writableLength === 0 || this.closing) return Promise.resolve();
    return new Promise((r) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        r();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Flushes what was written, then closes; destroys the socket if that takes too long. */
  close(reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.closeReason ??= reason;
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
    t.unref();
    void this.closedPromise.then(() => clearTimeout(t));
  }

  destroy(reason: string): void {
    this.closing = true;
    this.closeReason ??= reason;
    this.socket.destroy();
  }
}

/** "::ffff:10.0.0.1" → "10.0.0.1"; strips an IPv6 zone ("fe80::1%eth0" → "fe80::1"). */
export function normalizeAddress(a: string): string {
  let s = a;
  const pct = s.indexOf('%');
  if (pct >= 0) s = s.slice(0, pct);
  if (s.startsWith('::ffff:') && s.includes('.')) s = s.slice(7);
  return s.toLowerCase();
}

/** Refuses a connection with CEASE / Connection Rejected (RFC 4486). */
export function rejectConnection(socket: Socket): void {
  socket.on('error', () => undefined);
  const n = encodeMessage({ type: 'notification', code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_REJECTED, data: Buffer.alloc(0) }, DEFAULT_CONTEXT);
  checkOutgoing([n], DEFAULT_CONTEXT);
  socket.end(n);
  const t = setTimeout(() => socket.destroy(), 2000);
  t.unref();
  socket.once('close', () => clearTimeout(t));
}
