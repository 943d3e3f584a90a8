// The BGP finite state machine of RFC 4271 §8 as plain data: states, the events that drive it,
// and the actions it asks its host to perform. The machine itself (./fsm.ts) is a pure function
// of (data, event) so it can be tested with fake time; bgp/session binds it to a socket and real
// timers.

export type FsmState = 'Idle' | 'Connect' | 'Active' | 'OpenSent' | 'OpenConfirm' | 'Established';

/** The timers the machine runs (RFC 4271 §8 + IdleHold of §8.1.1 + a stable-session timer). */
export type TimerName = 'connectRetry' | 'hold' | 'keepalive' | 'idleHold' | 'stable';

/** What the machine needs to know about its peering (seconds). */
export interface FsmConfig {
  /** Our BGP identifier (unsigned 32-bit). */
  readonly localId: number;
  /** The AS the peer must announce. */
  readonly peerAs: number;
  /** Never initiate a connection (RFC 4271 PassiveTcpEstablishment). */
  readonly passive: boolean;
  /** Hold time we propose: 0 or >= 3. */
  readonly holdTime: number;
  /** Keepalive interval we want; undefined = a third of the negotiated hold time. */
  readonly keepalive: number | undefined;
  /** Base ConnectRetry time; doubles with each consecutive failed connection attempt. */
  readonly connectRetry: number;
  readonly connectRetryMax: number;
  /** Base Idle hold after an error; doubles with each flap. */
  readonly idleHold: number;
  readonly idleHoldMax: number;
  /** Established this long resets the flap count. */
  readonly stableTime: number;
  /** RFC 4271 §8: the hold timer while waiting for the peer's OPEN ("large value", 4 minutes). */
  readonly openHoldTime: number;
}

/** The parts of a received OPEN the machine checks (decoded and AS-resolved by the session). */
export interface OpenSummary {
  /** The peer's AS: from the 4-octet AS capability when present, else My AS. */
  readonly asn: number;
  readonly holdTime: number;
  readonly bgpId: number;
}

export interface Notification {
  readonly code: number;
  readonly subcode: number;
  readonly data?: Buffer;
}

export type FsmEvent =
  /** Event 1/4 (passive per config): the operator (or the speaker starting) starts the peering. */
  | { readonly type: 'ManualStart' }
  /** Event 2: stop, with a CEASE subcode (default Administrative Shutdown) and an optional text. */
  | { readonly type: 'ManualStop'; readonly subcode?: number; readonly message?: string; readonly data?: Buffer }
  /** Event 8: stop on our own initiative (e.g. too many prefixes); the machine restarts later. */
  | { readonly type: 'AutomaticStop'; readonly subcode: number; readonly message?: string }
  | { readonly type: 'ConnectRetryTimerExpires' }
  | { readonly type: 'HoldTimerExpires' }
  /** RFC 9687: what we wrote has not drained for the send hold time (the peer stopped reading). */
  | { readonly type: 'SendHoldTimerExpires'; readonly seconds: number }
  | { readonly type: 'KeepaliveTimerExpires' }
  | { readonly type: 'IdleHoldTimerExpires' }
  | { readonly type: 'StableTimerExpires' }
  /** Events 16/17: a TCP connection is up (`outgoing`: ours was accepted; else we accepted theirs). */
  | { readonly type: 'TcpConnected'; readonly outgoing: boolean }
  /** Event 18. */
  | { readonly type: 'TcpConnectionFails'; readonly reason?: string }
  /** Event 19 (collision detection already passed). */
  | { readonly type: 'BgpOpen'; readonly open: OpenSummary }
  /** Events 21/22/28: the codec found an error that resets the session; send this NOTIFICATION. */
  | { readonly type: 'BgpHeaderErr'; readonly notification: Notification; readonly reason: string }
  | { readonly type: 'BgpOpenMsgErr'; readonly notification: Notification; readonly reason: string }
  | { readonly type: 'UpdateMsgErr'; readonly notification: Notification; readonly reason: string }
  /** Event 23: this connection lost collision detection (§6.8). */
  | { readonly type: 'OpenCollisionDump' }
  /** Events 24/25. */
  | { readonly type: 'NotifMsgVerErr'; readonly reason: string }
  /**
   * `refused`: the NOTIFICATION is CEASE / Connection Rejected (6/5) before the peer's OPEN — the
   * peer refuses connections for now (its Idle hold): a failed connection attempt, not a flap.
   */
  | { readonly type: 'NotifMsg'; readonly reason: string; readonly refused?: boolean }
  | { readonly type: 'KeepAliveMsg' }
  /**
   * Bytes arrived from the peer (their messages may wait in the work queue): restarts the hold
   * timer in OpenConfirm and Established, so a long local queue never expires a live session.
   */
  | { readonly type: 'DataReceived' }
  /** Event 27 (also ROUTE-REFRESH: any valid message that proves the peer alive). */
  | { readonly type: 'UpdateMsg' };

export type FsmAction =
  | { readonly type: 'connect' }
  /** Close the TCP connection (after anything queued for it, e.g. a NOTIFICATION, is written). */
  | { readonly type: 'drop' }
  | { readonly type: 'send-open' }
  | { readonly type: 'send-keepalive' }
  | { readonly type: 'send-notification'; readonly notification: Notification; readonly message?: string }
  /** (Re)start a timer; seconds > 0. */
  | { readonly type: 'start-timer'; readonly timer: TimerName; readonly seconds: number }
  | { readonly type: 'stop-timer'; readonly timer: TimerName }
  /** The session is up: send the table. */
  | { readonly type: 'established' }
  /** The session that was Established is gone: withdraw what the peer sent. */
  | { readonly type: 'session-down'; readonly reason: string };

export interface FsmData {
  readonly state: FsmState;
  /** RFC 4271 ConnectRetryCounter: errors since the last ManualStart/ManualStop. */
  readonly connectRetryCounter: number;
  /** Consecutive failed connection attempts (drives the ConnectRetry backoff). */
  readonly connectFailures: number;
  /** Sessions lost since the last stable one (drives the Idle hold backoff). */
  readonly flaps: number;
  /** Whether the machine restarts by itself after an error (false after ManualStop). */
  readonly autoRestart: boolean;
  /** Negotiated in OpenSent; 0 = no hold timer and no keepalives. */
  readonly holdTime: number;
  readonly keepalive: number;
  readonly peer: OpenSummary | undefined;
  /** Why the machine last went to Idle (a sentence), for status. */
  readonly lastError: string | undefined;
}

export interface FsmStep {
  readonly data: FsmData;
  readonly actions: readonly FsmAction[];
}
