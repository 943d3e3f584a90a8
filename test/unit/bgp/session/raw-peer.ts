// A scriptable BGP peer on a raw socket, for tests that must send exactly the bytes they choose
// (malformed UPDATEs, floods of prefixes) or watch exactly what a speaker sends.
import { connect, createServer, type Server, type Socket } from 'node:net';
import {
  DEFAULT_CONTEXT,
  Framer,
  decodeMessage,
  encodeMessage,
  myAsField,
  negotiateContext,
  parseIpv4,
  type BgpMessage,
  type Capability,
  type CodecContext,
  type DecodeResult,
  type OpenMessage,
} from '../../../../bgp/packet/index.js';

export interface RawPeerOptions {
  asn: number;
  routerId: string;
  holdTime?: number;
  /** Capabilities to advertise; default MP IPv4+IPv6 unicast and 4-octet AS. */
  capabilities?: Capability[];
  /** Send a KEEPALIVE this often (s) once the session is up; 0 = never. Default 1. */
  keepaliveEvery?: number;
}

export class RawPeer {
  readonly framer = new Framer({ extendedMessage: true });
  ctx: CodecContext = DEFAULT_CONTEXT;
  readonly received: DecodeResult[] = [];
  readonly errors: unknown[] = [];
  ourOpen: OpenMessage;
  theirOpen: OpenMessage | undefined;
  closed = false;
  /** Counts prefixes announced/withdrawn by received UPDATEs without keeping the messages. */
  counting = false;
  announced = 0;
  withdrawn = 0;
  /** The longest message received (octets). */
  maxLength = 0;
  private keepalive: NodeJS.Timeout | undefined;
  private waiters: (() => void)[] = [];

  constructor(
    readonly socket: Socket,
    readonly opts: RawPeerOptions,
  ) {
    socket.setNoDelay(true);
    const caps: Capability[] = opts.capabilities ?? [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'four-octet-as', as: opts.asn },
    ];
    this.ourOpen = { type: 'open', version: 4, myAs: myAsField(opts.asn), holdTime: opts.holdTime ?? 90, bgpId: parseIpv4(opts.routerId), capabilities: caps };
    socket.on('data', (b: Buffer) => {
      this.framer.push(b);
      for (;;) {
        let m: Buffer | undefined;
        try {
          m = this.framer.next();
        } catch (e) {
          this.errors.push(e);
          return;
        }
        if (!m) break;
        if (m.length > this.maxLength) this.maxLength = m.length;
        try {
          const r = decodeMessage(m, this.ctx);
          if (r.message.type === 'open') {
            this.theirOpen = r.message;
            this.ctx = negotiateContext(this.ourOpen, r.message);
          }
          if (this.counting && r.message.type === 'update') {
            const u = r.message;
            this.announced += u.nlri.length + (u.mpReach?.nlri.length ?? 0);
            this.withdrawn += u.withdrawn.length + (u.mpUnreach?.withdrawn.length ?? 0);
          } else {
            this.received.push(r);
          }
        } catch (e) {
          this.errors.push(e);
        }
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      clearInterval(this.keepalive);
      this.wake();
    });
  }

  /** Connects to a speaker (which must have this address configured as a neighbour). */
  static async connect(host: string, port: number, localAddress: string, opts: RawPeerOptions): Promise<RawPeer> {
    const s = connect({ host, port, localAddress });
    await new Promise<void>((res, rej) => {
      s.once('connect', () => res());
      s.once('error', rej);
    });
    return new RawPeer(s, opts);
  }

  /** Listens on address:0 for the speaker to connect; resolves with the port and a promise of the peer. */
  static async listen(address: string, opts: RawPeerOptions): Promise<{ port: number; server: Server; peer: Promise<RawPeer> }> {
    let accept!: (p: RawPeer) => void;
    const peer = new Promise<RawPeer>((r) => (accept = r));
    const server = createServer((s) => accept(new RawPeer(s, opts)));
    await new Promise<void>((r) => server.listen(0, address, () => r()));
    const a = server.address();
    return { port: typeof a === 'object' && a ? a.port : 0, server, peer };
  }

  send(m: BgpMessage | Buffer | Buffer[]): void {
    if (Array.isArray(m)) this.socket.write(Buffer.concat(m));
    else if (Buffer.isBuffer(m)) this.socket.write(m);
    else this.socket.write(encodeMessage(m, this.ctx));
  }

  /** OPEN, wait for the speaker's OPEN and KEEPALIVE, KEEPALIVE back: Established. */
  async handshake(): Promise<void> {
    this.send(this.ourOpen);
    await this.waitFor((r) => r.message.type === 'open', 'OPEN');
    this.send({ type: 'keepalive' });
    await this.waitFor((r) => r.message.type === 'keepalive', 'KEEPALIVE');
    const every = this.opts.keepaliveEvery ?? 1;
    if (every > 0) this.keepalive = setInterval(() => this.send({ type: 'keepalive' }), every * 1000);
  }

  /** The first received message (from `from` on) matching `pred`. */
  async waitFor(pred: (r: DecodeResult) => boolean, what: string, limitMs = 10_000, from = 0): Promise<DecodeResult> {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const found = this.received.slice(from).find(pred);
      if (found) return found;
      if (this.closed) throw new Error(`connection closed while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async waitUntil(cond: () => boolean, what: string, limitMs = 10_000): Promise<void> {
    const deadline = Date.now() + limitMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  notifications(): { code: number; subcode: number }[] {
    return this.received.flatMap((r) => (r.message.type === 'notification' ? [{ code: r.message.code, subcode: r.message.subcode }] : []));
  }

  close(): void {
    clearInterval(this.keepalive);
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}
