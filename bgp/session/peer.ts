// One configured neighbour: binds the pure state machine (bgp/fsm) to TCP connections, the
// Framer and real timers. Received messages are processed through the speaker's work queue
// (one Reader task per connection), so they are handled in order and in bounded slices.
//
// Connection collisions (RFC 4271 §6.8): a connection the peer opens while we are in OpenSent or
// OpenConfirm becomes a "candidate": we send it our OPEN, and when either connection learns the
// peer's BGP identifier the router ids decide which one survives; the loser gets CEASE /
// Connection Collision Resolution. A connection arriving while Established (or while stopped)
// gets CEASE / Connection Rejected.
import { connect as tcpConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  BgpError,
  BgpSendLimitError,
  CeaseSubcode,
  DEFAULT_CONTEXT,
  ErrorCode,
  MessageType,
  OpenSubcode,
  decodeMessage,
  describeNotification,
  encodeMessage,
  type DecodeResult,
  type OpenMessage,
  type RouteRefreshMessage,
  type UpdateMessage,
} from '../packet/index.js';
import { collisionSurvivor } from '../fsm/collision.js';
import { FsmSubcode, checkOpen, initialFsmData, step } from '../fsm/fsm.js';
import type { FsmAction, FsmConfig, FsmData, FsmEvent, FsmState, Notification, OpenSummary, TimerName } from '../fsm/types.js';
import type { SpeakerLogger } from '../server/types.js';
import { connectWithOptions, fdOf, setMinTtl, setTtl, socketFamily } from '../sockopt/index.js';
import { TwillError } from '../../src/errors.js';
import { Connection, rejectConnection } from './connection.js';
import { count, counters } from './counters.js';
import { buildOpen, negotiate, openSummary, type Negotiated, type OpenSettings } from './open.js';
import type { Task, TaskQueue } from './task.js';

export interface PeerSettings {
  /** Canonical text of the peer address (its identity). */
  readonly address: string;
  /** What to connect to (may carry an IPv6 zone, e.g. fe80::1%eth0). */
  readonly connectHost: string;
  readonly port: number;
  readonly localAddress: string | undefined;
  readonly localAs: number;
  readonly fsm: FsmConfig;
  readonly open: OpenSettings;
  /** RFC 9687 send hold time (s); undefined = max(480, 2 × negotiated hold time). */
  readonly sendHoldTime: number | undefined;
  /** TCP MD5 password (RFC 2385); our connections are signed with it. */
  readonly password?: string | undefined;
  /** GTSM hops (RFC 5082): TTL 255 out, at least 256 - hops in. */
  readonly ttlSecurity?: number | undefined;
}

export interface PeerHost {
  readonly queue: TaskQueue;
  readonly log: SpeakerLogger;
  onStateChange(peer: Peer, from: FsmState, to: FsmState, reason: string | undefined): void;
  /** The session is Established (peer.negotiated is set): send the table. */
  onEstablished(peer: Peer): void;
  /** An Established session ended: withdraw its routes. */
  onSessionDown(peer: Peer, reason: string): void;
  /** An UPDATE on an Established session (called from the work queue). */
  onUpdate(peer: Peer, r: DecodeResult & { readonly message: UpdateMessage }): void;
  onRouteRefresh(peer: Peer, m: RouteRefreshMessage): void;
  onNotification(peer: Peer, direction: 'sent' | 'received', n: Notification, text: string): void;
}

const TIMER_EVENTS: Readonly<Record<TimerName, FsmEvent>> = {
  connectRetry: { type: 'ConnectRetryTimerExpires' },
  hold: { type: 'HoldTimerExpires' },
  keepalive: { type: 'KeepaliveTimerExpires' },
  idleHold: { type: 'IdleHoldTimerExpires' },
  stable: { type: 'StableTimerExpires' },
};

const KEEPALIVE = encodeMessage({ type: 'keepalive' }, DEFAULT_CONTEXT);

/** Reads one connection's messages on the work queue. */
class Reader implements Task {
  constructor(
    private readonly peer: Peer,
    readonly conn: Connection,
  ) {}

  run(deadline: number): boolean {
    const conn = this.conn;
    for (;;) {
      if (!this.peer.owns(conn)) return true;
      let buf: Buffer | undefined;
      try {
        buf = conn.framer.next();
      } catch (e) {
        this.peer.messageError(conn, e, 0);
        return true;
      }
      if (!buf) {
        conn.drained();
        return true;
      }
      this.peer.handleMessage(conn, buf);
      if (performance.now() >= deadline) return false;
    }
  }
}

export class Peer {
  data: FsmData = initialFsmData();
  /** When the state last changed. */
  since = new Date();
  conn: Connection | undefined;
  ourOpen: OpenMessage | undefined;
  peerOpen: OpenMessage | undefined;
  negotiated: Negotiated | undefined;
  readonly sent = counters();
  readonly received = counters();
  establishedCount = 0;
  /** The last error as a sentence (NOTIFICATION sent or received, TCP error, hold timer). */
  lastError: string | undefined;
  private candidate: Connection | undefined;
  private candidateTimer: NodeJS.Timeout | undefined;
  private sendHoldTimer: NodeJS.Timeout | undefined;
  private pending: Socket | undefined;
  private readonly timers = new Map<TimerName, NodeJS.Timeout>();
  private readonly readers = new Map<Connection, Reader>();
  private readonly closing = new Set<Promise<void>>();
  private disposed = false;
  /** A NOTIFICATION was sent while performing the current step's actions. */
  private notified = false;
  /** A NOTIFICATION was sent or received on the current session (graceful restart does not apply then). */
  sessionNotified = false;
  /** An outgoing connection with socket options (MD5, GTSM) in progress. */
  private pendingSecure: object | undefined;

  constructor(
    public settings: PeerSettings,
    private readonly host: PeerHost,
  ) {}

  get address(): string {
    return this.settings.address;
  }

  get state(): FsmState {
    return this.data.state;
  }

  get ebgp(): boolean {
    return this.settings.fsm.peerAs !== this.settings.localAs;
  }

  /** Whether `c` is one of this peer's live connections. */
  owns(c: Connection): boolean {
    return !c.closing && (c === this.conn || c === this.candidate);
  }

  start(): void {
    this.dispatch({ type: 'ManualStart' });
  }

  /** CEASE (Administrative Shutdown by default) and close; resolves once the sockets are closed. */
  async stop(subcode: number = CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, message?: string, data?: Buffer): Promise<void> {
    this.dispatch({ type: 'ManualStop', subcode, ...(message === undefined ? {} : { message }), ...(data ? { data } : {}) });
    this.closeCandidate({ code: ErrorCode.CEASE, subcode }, 'the peering was stopped');
    await Promise.all([...this.closing]);
  }

  /** Stops for good (the neighbour was removed or the speaker stops). */
  async dispose(subcode: number = CeaseSubcode.PEER_DECONFIGURED, message?: string): Promise<void> {
    await this.stop(subcode, message);
    this.disposed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /**
   * Graceful restart, restarting role: closes every connection WITHOUT a NOTIFICATION (a bare TCP
   * close), so peers keep our routes (RFC 4724), and stops for good.
   */
  async abandon(): Promise<void> {
    this.disposed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    clearTimeout(this.sendHoldTimer);
    clearTimeout(this.candidateTimer);
    this.abortPending();
    for (const c of [this.conn, this.candidate]) {
      if (!c) continue;
      this.trackClose(c);
      c.close('graceful restart: closed without NOTIFICATION');
    }
    this.conn = undefined;
    this.candidate = undefined;
    await Promise.all([...this.closing]);
  }

  /** GTSM on an accepted socket: TTL 255 out, a minimum TTL in. */
  secureAccepted(socket: Socket): void {
    const hops = this.settings.ttlSecurity;
    if (hops === undefined) return;
    try {
      const fd = fdOf(socket);
      const fam = socketFamily(fd);
      setTtl(fd, fam, 255);
      setMinTtl(fd, fam, 256 - hops);
    } catch (e) {
      this.host.log.warn({ peer: this.address, err: e }, `cannot set GTSM on the connection from ${this.address}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** An incoming connection from this peer's address. */
  accept(socket: Socket): void {
    // RFC 4724 §4.2: a new connection while Established, with graceful restart negotiated, means
    // the peer restarted: the old session is over (its routes are kept stale by the speaker).
    if (this.data.state === 'Established' && this.negotiated?.capabilities.gracefulRestart && !this.disposed && this.conn) {
      const old = this.conn;
      this.trackClose(old);
      old.close('the peer restarted (new connection, graceful restart)');
      this.conn = undefined;
      this.lastError = 'the peer restarted (graceful restart)';
      this.dispatch({ type: 'TcpConnectionFails', reason: this.lastError });
    }
    // Idle (also during the Idle hold that damps a flapping peer): refused with CEASE 6/5, as BIRD
    // and FRR do — accepting would end the damping at once. A Twill peer refused that way waits in
    // Active (fsm.ts), so it accepts our connection when our hold ends.
    const st = this.data.state;
    if (this.disposed || st === 'Idle' || st === 'Established' || this.candidate) {
      rejectConnection(socket);
      return;
    }
    const c = new Connection(socket, false, this.connEvents);
    if (st === 'Connect' || st === 'Active') {
      // Our own attempt (if any) stays pending: should it connect too, the two connections are
      // resolved by collision detection, exactly as the peer will resolve them.
      this.attach(c);
      this.dispatch({ type: 'TcpConnected', outgoing: false });
      return;
    }
    this.addCandidate(c);
  }

  /** A second connection while the first is in OpenSent / OpenConfirm: send it our OPEN too. */
  private addCandidate(c: Connection): void {
    this.candidate = c;
    this.readers.set(c, new Reader(this, c));
    this.ourOpen ??= buildOpen(this.settings.open);
    this.write(c, encodeMessage(this.ourOpen, DEFAULT_CONTEXT), MessageType.OPEN);
    this.candidateTimer = setTimeout(() => {
      this.closeCandidate({ code: ErrorCode.HOLD_TIMER_EXPIRED, subcode: 0 }, 'no OPEN on the colliding connection within the hold time');
    }, this.settings.fsm.openHoldTime * 1000);
  }

  /** Whether the connection `main` survives a collision with `other`, given the peer's identifier. */
  private keeps(main: Connection, other: Connection, remoteId: number): boolean {
    if (main.outgoing === other.outgoing) return true;
    const oursSurvives = collisionSurvivor(this.settings.fsm.localId, remoteId) === 'ours';
    return main.outgoing === oursSurvives;
  }

  /** Sends a ROUTE-REFRESH request for a family (RFC 2918). */
  requestRefresh(afi: number, safi: number): boolean {
    if (this.state !== 'Established' || !this.conn || !this.negotiated?.capabilities.routeRefresh) return false;
    this.write(this.conn, encodeMessage({ type: 'route-refresh', afi, safi, subtype: 0 }, this.conn.ctx), MessageType.ROUTE_REFRESH);
    return true;
  }

  /** Writes UPDATE messages (already encoded for this session). */
  sendUpdates(bufs: readonly Buffer[]): void {
    if (!this.conn || this.state !== 'Established' || bufs.length === 0) return;
    if (!this.send(this.conn, bufs)) return;
    this.sent.update += bufs.length;
    this.armSendHold(this.conn);
  }

  /**
   * Writes to a connection. A message longer than the session allows is never written: the
   * refusal (BgpSendLimitError, a bug on our side) is logged as an error, becomes lastError, and
   * the session is reset with CEASE / Out of Resources so that the peer gets a consistent table
   * again. Returns whether the data was written.
   */
  private send(c: Connection, data: Buffer | readonly Buffer[]): boolean {
    try {
      c.write(data);
      return true;
    } catch (e) {
      if (!(e instanceof BgpSendLimitError)) throw e;
      this.host.log.error({ peer: this.address, err: e, length: e.length, max: e.max }, `not sent to ${this.address}: ${e.message}`);
      this.lastError = `twill-bgp refused to send a message longer than this session allows: ${e.message}`;
      if (c === this.conn && this.data.state === 'Established' && e.messageType !== MessageType.NOTIFICATION) {
        // Not from inside the write: this may run while the state machine performs actions.
        queueMicrotask(() => {
          if (c === this.conn && this.data.state === 'Established') {
            this.dispatch({ type: 'AutomaticStop', subcode: CeaseSubcode.OUT_OF_RESOURCES, message: `message of ${e.length} octets exceeds this session's ${e.max}` });
          }
        });
      } else {
        c.destroy(this.lastError);
      }
      return false;
    }
  }

  /** Resolves when what was written to the session has drained (for output back-pressure). */
  drainedOut(): Promise<void> {
    return this.conn ? this.conn.drainedOut() : Promise.resolve();
  }

  /**
   * RFC 9687: while output is waiting to drain, a timer runs; if the peer reads nothing for the
   * send hold time, the session is closed (NOTIFICATION 8, best effort).
   */
  private armSendHold(c: Connection): void {
    if (this.sendHoldTimer || c.writeBacklog === 0 || c !== this.conn) return;
    const hold = this.data.holdTime;
    if (hold === 0 && this.settings.sendHoldTime === undefined) return;
    const seconds = this.settings.sendHoldTime ?? Math.max(480, 2 * hold);
    const t = setTimeout(() => {
      this.sendHoldTimer = undefined;
      if (c === this.conn && c.writeBacklog > 0) this.dispatch({ type: 'SendHoldTimerExpires', seconds });
    }, seconds * 1000);
    this.sendHoldTimer = t;
    void c.drainedOut().then(() => {
      if (this.sendHoldTimer === t) {
        clearTimeout(t);
        this.sendHoldTimer = undefined;
      }
    });
  }

  get writeBacklog(): number {
    return this.conn?.writeBacklog ?? 0;
  }

  dispatch(ev: FsmEvent): void {
    if (this.disposed) return;
    const before = this.data.state;
    const r = step(this.settings.fsm, this.data, ev);
    this.data = r.data;
    if (r.data.state !== before) this.since = new Date();
    this.notified = false;
    for (const a of r.actions) this.perform(a);
    if (r.data.state !== before) {
      // Going Idle: the state machine's reason, unless a NOTIFICATION we just sent says more.
      if (r.data.state === 'Idle' && !this.notified && r.data.lastError) this.lastError = r.data.lastError;
      this.host.onStateChange(this, before, r.data.state, r.data.state === 'Idle' ? this.lastError : undefined);
      // The session's connection is gone but a colliding one is still negotiating: the peer may
      // well consider that one its session, so carry on with it (RFC 4271 §6.8: one FSM per
      // connection).
      if (r.data.state === 'Idle' && r.data.autoRestart && this.candidate && !this.candidate.closing) this.adoptCandidate();
    }
  }

  private perform(a: FsmAction): void {
    switch (a.type) {
      case 'connect':
        this.connect();
        return;
      case 'drop':
        this.abortPending();
        clearTimeout(this.sendHoldTimer);
        this.sendHoldTimer = undefined;
        if (this.conn) {
          this.trackClose(this.conn);
          this.conn.close('dropped by the state machine');
          this.conn = undefined;
        }
        this.negotiated = undefined;
        return;
      case 'send-open':
        this.ourOpen = buildOpen(this.settings.open);
        this.peerOpen = undefined;
        this.negotiated = undefined;
        if (this.conn) this.write(this.conn, encodeMessage(this.ourOpen, DEFAULT_CONTEXT), MessageType.OPEN);
        return;
      case 'send-keepalive':
        if (this.conn) this.write(this.conn, KEEPALIVE, MessageType.KEEPALIVE);
        return;
      case 'send-notification':
        if (this.conn) this.notify(this.conn, a.notification, a.message);
        return;
      case 'start-timer': {
        this.stopTimer(a.timer);
        const ev = TIMER_EVENTS[a.timer];
        // RFC 4271 §10: jitter ConnectRetry (and our Idle hold) so that peers do not stay in lockstep.
        const jitter = a.timer === 'connectRetry' || a.timer === 'idleHold' ? 0.75 + 0.25 * Math.random() : 1;
        const t = setTimeout(() => {
          if (this.timers.get(a.timer) !== t) return;
          this.timers.delete(a.timer);
          this.dispatch(ev);
        }, a.seconds * 1000 * jitter);
        this.timers.set(a.timer, t);
        return;
      }
      case 'stop-timer':
        this.stopTimer(a.timer);
        return;
      case 'established':
        this.abortPending();
        this.establishedCount++;
        this.lastError = undefined;
        this.sessionNotified = false;
        this.host.onEstablished(this);
        return;
      case 'session-down':
        this.host.onSessionDown(this, a.reason);
        return;
    }
  }

  private stopTimer(name: TimerName): void {
    const t = this.timers.get(name);
    if (t) {
      clearTimeout(t);
      this.timers.delete(name);
    }
  }

  private connect(): void {
    this.abortPending();
    if (this.settings.password !== undefined || this.settings.ttlSecurity !== undefined) {
      this.connectSecure();
      return;
    }
    const s = tcpConnect({
      host: this.settings.connectHost,
      port: this.settings.port,
      ...(this.settings.localAddress ? { localAddress: this.settings.localAddress } : {}),
    });
    this.pending = s;
    s.setNoDelay(true);
    s.once('connect', () => {
      if (this.pending !== s) return;
      this.pending = undefined;
      this.connected(s);
    });
    s.on('error', (e: Error) => {
      if (this.pending !== s) return;
      this.pending = undefined;
      s.destroy();
      this.connectFailed(e.message);
    });
  }

  /** Outgoing connection with TCP MD5 / GTSM set before the SYN (bgp/sockopt). */
  private connectSecure(): void {
    const token = {};
    this.pendingSecure = token;
    const hops = this.settings.ttlSecurity;
    const md5 = this.settings.password;
    // Shorter than the (jittered, 0.75–1.0) ConnectRetry timer, so a silent drop (wrong MD5 key)
    // is reported before the next attempt replaces this one.
    const timeoutMs = Math.max(100, Math.min(30_000, this.settings.fsm.connectRetry * 700));
    let p: Promise<Socket>;
    try {
      p = connectWithOptions({
        host: this.settings.connectHost,
        port: this.settings.port,
        ...(this.settings.localAddress ? { localAddress: this.settings.localAddress } : {}),
        ...(md5 !== undefined ? { md5 } : {}),
        ...(hops !== undefined ? { ttl: 255, minTtl: 256 - hops } : {}),
        timeoutMs,
      });
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      (s) => {
        if (this.pendingSecure !== token) {
          s.destroy();
          return;
        }
        this.pendingSecure = undefined;
        s.setNoDelay(true);
        this.connected(s);
      },
      (e: unknown) => {
        if (this.pendingSecure !== token) return;
        this.pendingSecure = undefined;
        const msg = e instanceof TwillError && e.hint ? `${e.message} (${e.hint})` : e instanceof Error ? e.message : String(e);
        if (md5 !== undefined && this.lastError === undefined) this.host.log.warn({ peer: this.address }, `cannot connect to ${this.address} with TCP MD5: ${msg}`);
        this.connectFailed(msg);
      },
    );
  }

  private connectFailed(message: string): void {
    const st = this.data.state;
    if (st !== 'Connect' && st !== 'Active') return;
    const first = this.lastError === undefined;
    this.lastError = `cannot connect to ${this.settings.address} port ${this.settings.port}: ${message}`;
    if (first && this.settings.password !== undefined) this.host.log.warn({ peer: this.address }, this.lastError);
    this.dispatch({ type: 'TcpConnectionFails', reason: this.lastError });
  }

  private connected(s: Socket): void {
    {
      const st = this.data.state;
      if (st === 'Connect' || st === 'Active') {
        this.attach(new Connection(s, true, this.connEvents));
        this.dispatch({ type: 'TcpConnected', outgoing: true });
      } else if ((st === 'OpenSent' || st === 'OpenConfirm') && !this.candidate && this.conn && !this.conn.outgoing) {
        this.addCandidate(new Connection(s, true, this.connEvents));
      } else {
        s.destroy();
      }
    }
  }

  private abortPending(): void {
    if (this.pendingSecure && this.settings.password !== undefined && this.data.state !== 'Established') {
      // Replaced before it could time out: with MD5 the usual cause is a key mismatch (the SYN is dropped silently).
      if (this.lastError === undefined) this.host.log.warn({ peer: this.address }, `no answer from ${this.address} with TCP MD5: check that its password matches ours`);
      this.lastError = `cannot connect to ${this.settings.address} port ${this.settings.port}: no answer (check that its TCP MD5 password matches ours)`;
    }
    this.pendingSecure = undefined;
    if (this.pending) {
      const s = this.pending;
      this.pending = undefined;
      s.destroy();
    }
  }

  private attach(c: Connection): void {
    this.conn = c;
    this.readers.set(c, new Reader(this, c));
  }

  private readonly connEvents = {
    onReadable: (c: Connection): void => {
      const r = this.readers.get(c);
      if (r) this.host.queue.push(r);
      if (c === this.conn && (this.data.state === 'Established' || this.data.state === 'OpenConfirm')) this.dispatch({ type: 'DataReceived' });
    },
    onClosed: (c: Connection, reason: string): void => {
      this.readers.delete(c);
      if (c === this.candidate) {
        this.candidate = undefined;
        clearTimeout(this.candidateTimer);
        return;
      }
      if (c !== this.conn) return;
      // Messages may still wait in the queue; a NOTIFICATION just before the close says why the
      // peer closed, so look for one before reporting a bare TCP close.
      this.notificationBeforeClose(c);
      if (c === this.conn) {
        this.conn = undefined;
        this.lastError = reason;
        this.dispatch({ type: 'TcpConnectionFails', reason });
      }
    },
  };

  private notificationBeforeClose(c: Connection): void {
    for (;;) {
      let buf: Buffer | undefined;
      try {
        buf = c.framer.next();
      } catch {
        return;
      }
      if (!buf) return;
      if (buf[18] === MessageType.NOTIFICATION) {
        this.handleMessage(c, buf);
        return;
      }
    }
  }

  private write(c: Connection, buf: Buffer, type: number): void {
    if (!this.send(c, buf)) return;
    count(this.sent, type);
    this.armSendHold(c);
  }

  private notify(c: Connection, n: Notification, why?: string): void {
    const data = n.data ?? Buffer.alloc(0);
    const text = describeNotification(n.code, n.subcode, data);
    this.write(c, encodeMessage({ type: 'notification', code: n.code, subcode: n.subcode, data }, c.ctx), MessageType.NOTIFICATION);
    this.lastError = why ? `sent NOTIFICATION ${text} (${why})` : `sent NOTIFICATION ${text}`;
    this.notified = true;
    if (c === this.conn) this.sessionNotified = true;
    this.host.onNotification(this, 'sent', n, text);
    // Closing right after is the caller's (or the state machine's) business.
    this.trackClose(c);
  }

  private trackClose(c: Connection): void {
    const p = c.closedPromise;
    this.closing.add(p);
    void p.then(() => this.closing.delete(p));
  }

  /** One whole message from `c` (called by its Reader on the work queue). */
  handleMessage(c: Connection, buf: Buffer): void {
    const type = buf[18]!;
    count(this.received, type);
    if (c === this.candidate) {
      this.candidateMessage(c, buf);
      return;
    }
    if (type === MessageType.UPDATE && this.state !== 'Established') {
      this.dispatch({ type: 'UpdateMsg' });
      return;
    }
    let r: DecodeResult;
    try {
      r = decodeMessage(buf, c.ctx);
    } catch (e) {
      this.messageError(c, e, type);
      return;
    }
    const m = r.message;
    switch (m.type) {
      case 'open':
        this.onOpen(c, m);
        return;
      case 'keepalive':
        this.dispatch({ type: 'KeepAliveMsg' });
        return;
      case 'update':
        this.dispatch({ type: 'UpdateMsg' });
        if (this.state === 'Established' && this.conn === c) this.host.onUpdate(this, r as DecodeResult & { message: UpdateMessage });
        return;
      case 'notification': {
        const text = describeNotification(m.code, m.subcode, m.data);
        this.lastError = `received NOTIFICATION ${text}`;
        this.sessionNotified = true;
        this.host.onNotification(this, 'received', m, text);
        const reason = `the peer sent NOTIFICATION ${text}`;
        if (m.code === ErrorCode.OPEN_MESSAGE && m.subcode === OpenSubcode.UNSUPPORTED_VERSION) this.dispatch({ type: 'NotifMsgVerErr', reason });
        else this.dispatch({ type: 'NotifMsg', reason, refused: m.code === ErrorCode.CEASE && m.subcode === CeaseSubcode.CONNECTION_REJECTED && this.state === 'OpenSent' });
        return;
      }
      case 'route-refresh':
        if (this.state !== 'Established') {
          this.fsmError(c);
          return;
        }
        this.dispatch({ type: 'UpdateMsg' });
        this.host.onRouteRefresh(this, m);
        return;
    }
  }

  /** A message from the main connection in a state that does not allow it. */
  private fsmError(c: Connection): void {
    const sub = this.state === 'OpenSent' ? FsmSubcode.OPEN_SENT : this.state === 'OpenConfirm' ? FsmSubcode.OPEN_CONFIRM : FsmSubcode.ESTABLISHED;
    this.dispatch({
      type: 'UpdateMsgErr',
      notification: { code: ErrorCode.FSM, subcode: sub, data: Buffer.from([MessageType.ROUTE_REFRESH]) },
      reason: `unexpected ROUTE-REFRESH in ${this.state}`,
    });
    void c;
  }

  /** A decode error on `c`; `type` is the message type (0: framing). */
  messageError(c: Connection, e: unknown, type: number): void {
    let n: Notification;
    let reason: string;
    if (e instanceof BgpError) {
      // session-reset, and afisafi-disable which Twill handles by resetting (RFC 7606 §2 allows it).
      n = e.notification;
      reason = e.message;
    } else {
      n = { code: ErrorCode.CEASE, subcode: 0 };
      reason = `internal error while decoding a message: ${e instanceof Error ? e.message : String(e)}`;
      this.host.log.error({ peer: this.address, err: e }, reason);
    }
    if (c === this.candidate) {
      this.closeCandidate(n, reason);
      return;
    }
    if (c !== this.conn) return;
    if (type === MessageType.OPEN) this.dispatch({ type: 'BgpOpenMsgErr', notification: n, reason });
    else if (type === MessageType.UPDATE) this.dispatch({ type: 'UpdateMsgErr', notification: n, reason });
    else this.dispatch({ type: 'BgpHeaderErr', notification: n, reason });
  }

  private onOpen(c: Connection, open: OpenMessage): void {
    const sum = openSummary(open);
    if (this.state !== 'OpenSent') {
      this.dispatch({ type: 'BgpOpen', open: sum });
      return;
    }
    if (this.candidate) {
      // We know the peer's identifier now: resolve the collision with the candidate.
      if (this.keeps(c, this.candidate, sum.bgpId)) {
        this.closeCandidate({ code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_COLLISION }, 'connection collision: keeping the other connection');
      } else {
        this.dispatch({ type: 'OpenCollisionDump' });
        this.adoptCandidate();
        return;
      }
    }
    this.acceptOpen(c, open, sum);
  }

  private acceptOpen(c: Connection, open: OpenMessage, sum: OpenSummary): void {
    this.peerOpen = open;
    this.ourOpen ??= buildOpen(this.settings.open);
    this.negotiated = negotiate(this.ourOpen, open, this.ebgp);
    c.ctx = this.negotiated.ctx;
    c.framer.setExtendedMessage(c.ctx.extendedMessage.receive);
    this.dispatch({ type: 'BgpOpen', open: sum });
  }

  private candidateMessage(c: Connection, buf: Buffer): void {
    let r: DecodeResult;
    try {
      r = decodeMessage(buf, DEFAULT_CONTEXT);
    } catch (e) {
      this.messageError(c, e, buf[18]!);
      return;
    }
    const m = r.message;
    if (m.type === 'notification') {
      const text = describeNotification(m.code, m.subcode, m.data);
      this.host.onNotification(this, 'received', m, text);
      this.closeCandidate(undefined, `the peer sent NOTIFICATION ${text}`);
      return;
    }
    if (m.type !== 'open') {
      this.closeCandidate({ code: ErrorCode.FSM, subcode: FsmSubcode.OPEN_SENT, data: Buffer.from([buf[18]!]) }, 'unexpected message before OPEN');
      return;
    }
    const sum = openSummary(m);
    const bad = checkOpen(this.settings.fsm, sum);
    if (bad) {
      this.closeCandidate(bad.notification, bad.reason);
      return;
    }
    const st = this.state;
    if (st === 'OpenSent' || st === 'OpenConfirm') {
      if (!this.conn || this.keeps(this.conn, c, sum.bgpId)) {
        this.closeCandidate({ code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_COLLISION }, 'connection collision: keeping the other connection');
        return;
      }
      this.dispatch({ type: 'OpenCollisionDump' });
    } else if (st !== 'Connect' && st !== 'Active' && !(st === 'Idle' && this.data.autoRestart)) {
      this.closeCandidate(
        { code: ErrorCode.CEASE, subcode: st === 'Established' ? CeaseSubcode.CONNECTION_COLLISION : CeaseSubcode.CONNECTION_REJECTED },
        st === 'Established' ? 'a session is already Established' : 'the peering is stopped',
      );
      return;
    }
    this.adoptCandidate();
    this.acceptOpen(this.conn!, m, sum);
  }

  /** The candidate connection becomes the session's connection, in OpenSent (its OPEN was sent). */
  private adoptCandidate(): void {
    const c = this.candidate;
    if (!c) return;
    this.candidate = undefined;
    clearTimeout(this.candidateTimer);
    this.abortPending();
    this.stopTimer('idleHold');
    this.stopTimer('connectRetry');
    if (this.conn && this.conn !== c) this.conn.close('replaced by the colliding connection');
    this.conn = c;
    const before = this.data.state;
    this.data = { ...this.data, state: 'OpenSent', autoRestart: true, connectFailures: 0, holdTime: 0, keepalive: 0 };
    this.since = new Date();
    this.perform({ type: 'start-timer', timer: 'hold', seconds: this.settings.fsm.openHoldTime });
    if (before !== 'OpenSent') this.host.onStateChange(this, before, 'OpenSent', undefined);
  }

  private closeCandidate(n: Notification | undefined, why: string): void {
    const c = this.candidate;
    if (!c) return;
    this.candidate = undefined;
    clearTimeout(this.candidateTimer);
    if (n) this.notify(c, n, why);
    this.trackClose(c);
    c.close(why);
  }
}
