// The BGP state machine (RFC 4271 §8.2.2) as a pure function: step(cfg, data, event) returns the
// next data and the actions for the host (bgp/session) to perform, in order. No I/O, no clock:
// timers are actions, their expiry is an event.
//
// Deliberate choices where RFC 4271 leaves room (§8.1 optional attributes):
// - DampPeerOscillations: after an error the machine waits in Idle for IdleHold, which doubles
//   with each flap up to a maximum; a session Established for `stableTime` resets the count.
// - A failed connection attempt goes to Active and retries when ConnectRetry expires (as with
//   DelayOpen); ConnectRetry doubles with each consecutive failure, up to a maximum.
// - A passive peer (PassiveTcpEstablishment) waits in Active without a ConnectRetry timer.
// - Any error that ends the session goes to Idle and restarts automatically after IdleHold,
//   unless the machine was stopped by ManualStop. While in that Idle hold the host refuses the
//   peer's connections (CEASE 6/5); a peer refused that way (6/5 before its OPEN) counts a failed
//   connection attempt and waits in Active, so two damping peers still meet.
import { CeaseSubcode, ErrorCode, OpenSubcode } from '../packet/constants.js';
import { connectRetryTime, idleHoldTime, negotiateTimers } from './timing.js';
import type { FsmAction, FsmConfig, FsmData, FsmEvent, FsmState, FsmStep, Notification, OpenSummary } from './types.js';

/** RFC 6608 subcodes of Finite State Machine Error. */
export const FsmSubcode = { OPEN_SENT: 1, OPEN_CONFIRM: 2, ESTABLISHED: 3 } as const;

export function initialFsmData(): FsmData {
  return {
    state: 'Idle',
    connectRetryCounter: 0,
    connectFailures: 0,
    flaps: 0,
    autoRestart: false,
    holdTime: 0,
    keepalive: 0,
    peer: undefined,
    lastError: undefined,
  };
}

const ALL_TIMERS: FsmAction[] = [
  { type: 'stop-timer', timer: 'connectRetry' },
  { type: 'stop-timer', timer: 'hold' },
  { type: 'stop-timer', timer: 'keepalive' },
  { type: 'stop-timer', timer: 'stable' },
];

/** Whether a TCP connection belongs to the machine in this state. */
export function hasConnection(state: FsmState): boolean {
  return state === 'OpenSent' || state === 'OpenConfirm' || state === 'Established';
}

export function step(cfg: FsmConfig, d: FsmData, ev: FsmEvent): FsmStep {
  switch (d.state) {
    case 'Idle':
      return idle(cfg, d, ev);
    case 'Connect':
    case 'Active':
      return connecting(cfg, d, ev);
    case 'OpenSent':
      return openSent(cfg, d, ev);
    case 'OpenConfirm':
      return openConfirm(cfg, d, ev);
    case 'Established':
      return established(cfg, d, ev);
  }
}

function start(cfg: FsmConfig, d: FsmData): FsmStep {
  const base: FsmData = { ...d, autoRestart: true, peer: undefined, holdTime: 0, keepalive: 0 };
  const stopIdle: FsmAction = { type: 'stop-timer', timer: 'idleHold' };
  if (cfg.passive) return { data: { ...base, state: 'Active' }, actions: [stopIdle] };
  return {
    data: { ...base, state: 'Connect' },
    actions: [stopIdle, { type: 'start-timer', timer: 'connectRetry', seconds: connectRetryTime(cfg, d.connectFailures) }, { type: 'connect' }],
  };
}

function idle(cfg: FsmConfig, d: FsmData, ev: FsmEvent): FsmStep {
  switch (ev.type) {
    case 'ManualStart':
      // A manual start begins afresh: no backoff carried over.
      return start(cfg, { ...d, connectRetryCounter: 0, connectFailures: 0, flaps: 0 });
    case 'IdleHoldTimerExpires':
      return d.autoRestart ? start(cfg, d) : same(d);
    case 'ManualStop':
      return { data: { ...d, autoRestart: false, connectRetryCounter: 0 }, actions: [{ type: 'stop-timer', timer: 'idleHold' }] };
    default:
      // RFC 4271 §8.2.2 Idle: any other event is ignored (the host refuses connections).
      return same(d);
  }
}

function same(d: FsmData): FsmStep {
  return { data: d, actions: [] };
}

/** Connect and Active. */
function connecting(cfg: FsmConfig, d: FsmData, ev: FsmEvent): FsmStep {
  switch (ev.type) {
    case 'ManualStop':
      return toIdle(cfg, d, { stopped: true, reason: ev.message ?? 'stopped by the operator' });
    case 'AutomaticStop':
      return toIdle(cfg, d, { reason: ev.message ?? 'stopped' });
    case 'ConnectRetryTimerExpires': {
      if (cfg.passive) return same(d);
      // RFC: drop the attempt in progress (the host does that on 'connect'), try again.
      return {
        data: { ...d, state: 'Connect' },
        actions: [{ type: 'start-timer', timer: 'connectRetry', seconds: connectRetryTime(cfg, d.connectFailures) }, { type: 'connect' }],
      };
    }
    case 'TcpConnected':
      return {
        data: { ...d, state: 'OpenSent', connectFailures: 0, peer: undefined },
        actions: [
          { type: 'stop-timer', timer: 'connectRetry' },
          { type: 'send-open' },
          { type: 'start-timer', timer: 'hold', seconds: cfg.openHoldTime },
        ],
      };
    case 'TcpConnectionFails': {
      if (cfg.passive) return same(d);
      const failures = d.connectFailures + 1;
      return {
        data: { ...d, state: 'Active', connectFailures: failures, connectRetryCounter: d.connectRetryCounter + 1, lastError: ev.reason ?? d.lastError },
        actions: [{ type: 'start-timer', timer: 'connectRetry', seconds: connectRetryTime(cfg, failures) }],
      };
    }
    case 'IdleHoldTimerExpires':
    case 'ManualStart':
    case 'StableTimerExpires':
    case 'SendHoldTimerExpires':
    case 'DataReceived':
      return same(d);
    default:
      // Messages or timers that cannot occur without a connection: an FSM error (§8.2.2).
      return toIdle(cfg, d, { reason: `unexpected ${ev.type} in ${d.state}` });
  }
}

function openSent(cfg: FsmConfig, d: FsmData, ev: FsmEvent): FsmStep {
  switch (ev.type) {
    case 'BgpOpen': {
      const bad = checkOpen(cfg, ev.open);
      if (bad) return toIdle(cfg, d, { notify: bad.notification, reason: bad.reason, peer: ev.open });
      const t = negotiateTimers(cfg.holdTime, ev.open.holdTime, cfg.keepalive);
      const actions: FsmAction[] = [{ type: 'send-keepalive' }];
      if (t.holdTime > 0) {
        actions.push({ type: 'start-timer', timer: 'keepalive', seconds: t.keepalive });
        actions.push({ type: 'start-timer', timer: 'hold', seconds: t.holdTime });
      } else {
        actions.push({ type: 'stop-timer', timer: 'hold' });
      }
      return { data: { ...d, state: 'OpenConfirm', holdTime: t.holdTime, keepalive: t.keepalive, peer: ev.open }, actions };
    }
    case 'TcpConnectionFails':
      return toIdle(cfg, d, { reason: ev.reason ?? 'the peer closed the connection before its OPEN' });
    case 'NotifMsg':
      // The peer refuses connections while in its own Idle hold: retry as after a failed connect
      // and accept its connection meanwhile (Active), so two damping peers still meet.
      if (ev.refused) return refusedAttempt(cfg, d, ev.reason);
      return common(cfg, d, ev, FsmSubcode.OPEN_SENT);
    case 'DataReceived':
      return same(d);
    default:
      return common(cfg, d, ev, FsmSubcode.OPEN_SENT);
  }
}

function refusedAttempt(cfg: FsmConfig, d: FsmData, reason: string): FsmStep {
  const failures = d.connectFailures + 1;
  const retry: FsmAction[] = cfg.passive ? [] : [{ type: 'start-timer', timer: 'connectRetry', seconds: connectRetryTime(cfg, failures) }];
  return {
    data: { ...d, state: 'Active', connectFailures: failures, connectRetryCounter: d.connectRetryCounter + 1, lastError: reason, peer: undefined },
    actions: [...ALL_TIMERS, { type: 'drop' }, ...retry],
  };
}

function openConfirm(cfg: FsmConfig, d: FsmData, ev: FsmEvent): FsmStep {
  switch (ev.type) {
    case 'KeepAliveMsg': {
      const actions: FsmAction[] = [{ type: 'established' }, { type: 'start-timer', timer: 'stable', seconds: cfg.stableTime }];
      if (d.holdTime > 0) actions.unshift({ type: 'start-timer', timer: 'hold', seconds: d.holdTime });
      return { data: { ...d, state: 'Established', lastError: undefined }, actions };
    }
    case 'KeepaliveTimerExpires':
      return { data: d, actions: [{ type: 'send-keepalive' }, { type: 'start-timer', timer: 'keepalive', seconds: d.keepalive }] };
    case 'DataReceived':
      return { data: d, actions: d.holdTime > 0 ? [{ type: 'start-timer', timer: 'hold', seconds: d.holdTime }] : [] };
    case 'TcpConnectionFails':
      return toIdle(cfg, d, { reason: ev.reason ?? 'the peer closed the connection in OpenConfirm' });
    default:
      return common(cfg, d, ev, FsmSubcode.OPEN_CONFIRM);
  }
}

function established(cfg: FsmConfig, d: FsmData, ev: FsmEvent): FsmStep {
  switch (ev.type) {
    case 'KeepAliveMsg':
    case 'UpdateMsg':
    case 'DataReceived':
      return { data: d, actions: d.holdTime > 0 ? [{ type: 'start-timer', timer: 'hold', seconds: d.holdTime }] : [] };
    case 'KeepaliveTimerExpires':
      return { data: d, actions: [{ type: 'send-keepalive' }, { type: 'start-timer', timer: 'keepalive', seconds: d.keepalive }] };
    case 'StableTimerExpires':
      return { data: { ...d, flaps: 0, connectRetryCounter: 0 }, actions: [] };
    case 'TcpConnectionFails':
      return toIdle(cfg, d, { reason: ev.reason ?? 'the peer closed the connection' });
    default:
      return common(cfg, d, ev, FsmSubcode.ESTABLISHED);
  }
}

/** Events handled alike in OpenSent, OpenConfirm and Established. */
function common(cfg: FsmConfig, d: FsmData, ev: FsmEvent, fsmSubcode: number): FsmStep {
  switch (ev.type) {
    case 'ManualStop': {
      const subcode = ev.subcode ?? CeaseSubcode.ADMINISTRATIVE_SHUTDOWN;
      return toIdle(cfg, d, {
        stopped: true,
        notify: { code: ErrorCode.CEASE, subcode, data: ev.data ?? shutdownData(subcode, ev.message) },
        reason: ev.message ?? 'stopped by the operator',
      });
    }
    case 'AutomaticStop':
      return toIdle(cfg, d, {
        notify: { code: ErrorCode.CEASE, subcode: ev.subcode, data: shutdownData(ev.subcode, ev.message) },
        reason: ev.message ?? 'stopped',
      });
    case 'HoldTimerExpires':
      return toIdle(cfg, d, {
        notify: { code: ErrorCode.HOLD_TIMER_EXPIRED, subcode: 0 },
        reason: `no message from the peer within the hold time (${d.holdTime || cfg.openHoldTime} s)`,
      });
    case 'SendHoldTimerExpires':
      return toIdle(cfg, d, {
        notify: { code: ErrorCode.SEND_HOLD_TIMER_EXPIRED, subcode: 0 },
        reason: `the peer has not read what we sent for ${ev.seconds} s (RFC 9687 send hold timer)`,
      });
    case 'BgpHeaderErr':
    case 'BgpOpenMsgErr':
    case 'UpdateMsgErr':
      return toIdle(cfg, d, { notify: ev.notification, reason: ev.reason });
    case 'OpenCollisionDump':
      return toIdle(cfg, d, {
        notify: { code: ErrorCode.CEASE, subcode: CeaseSubcode.CONNECTION_COLLISION },
        reason: 'connection collision resolved in favour of the other connection',
        collision: true,
      });
    case 'NotifMsgVerErr':
      return toIdle(cfg, d, { reason: ev.reason, noCount: true });
    case 'NotifMsg':
      return toIdle(cfg, d, { reason: ev.reason });
    case 'ConnectRetryTimerExpires':
    case 'IdleHoldTimerExpires':
    case 'StableTimerExpires':
    case 'ManualStart':
    case 'TcpConnected':
      // Stale timers and repeated starts carry no meaning here; the host refuses a second connection.
      return same(d);
    default:
      // RFC 4271 §6.6: an unexpected message (or keepalive timer before OpenConfirm) is an FSM error.
      return toIdle(cfg, d, {
        notify: { code: ErrorCode.FSM, subcode: fsmSubcode, data: messageTypeOf(ev) },
        reason: `unexpected ${ev.type} in ${d.state}`,
      });
  }
}

function messageTypeOf(ev: FsmEvent): Buffer | undefined {
  switch (ev.type) {
    case 'BgpOpen':
      return Buffer.from([1]);
    case 'UpdateMsg':
      return Buffer.from([2]);
    case 'KeepAliveMsg':
      return Buffer.from([4]);
    default:
      return undefined;
  }
}

/** RFC 8203/9003 shutdown communication for Administrative Shutdown / Reset. */
function shutdownData(subcode: number, message: string | undefined): Buffer | undefined {
  if (!message || (subcode !== CeaseSubcode.ADMINISTRATIVE_SHUTDOWN && subcode !== CeaseSubcode.ADMINISTRATIVE_RESET)) return undefined;
  let bytes = Buffer.from(message, 'utf8');
  if (bytes.length > 255) {
    let cut = 255;
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  return Buffer.concat([Buffer.from([bytes.length]), bytes]);
}

/** RFC 4271 §6.2 checks of a received OPEN that depend on configuration. */
export function checkOpen(cfg: FsmConfig, open: OpenSummary): { notification: Notification; reason: string } | undefined {
  if (open.asn !== cfg.peerAs) {
    const data = Buffer.alloc(open.asn > 0xffff ? 4 : 2);
    if (open.asn > 0xffff) data.writeUInt32BE(open.asn >>> 0);
    else data.writeUInt16BE(open.asn);
    return {
      notification: { code: ErrorCode.OPEN_MESSAGE, subcode: OpenSubcode.BAD_PEER_AS, data },
      reason: `the peer says it is AS ${open.asn}, but it is configured as AS ${cfg.peerAs}`,
    };
  }
  if (open.bgpId === 0 || open.bgpId === cfg.localId) {
    const data = Buffer.alloc(4);
    data.writeUInt32BE(open.bgpId >>> 0);
    return {
      notification: { code: ErrorCode.OPEN_MESSAGE, subcode: OpenSubcode.BAD_BGP_IDENTIFIER, data },
      reason: open.bgpId === 0 ? 'the peer sent BGP identifier 0.0.0.0' : 'the peer uses our own BGP identifier (router ids must be unique, RFC 6286)',
    };
  }
  if (open.holdTime === 1 || open.holdTime === 2) {
    return {
      notification: { code: ErrorCode.OPEN_MESSAGE, subcode: OpenSubcode.UNACCEPTABLE_HOLD_TIME },
      reason: `the peer proposed hold time ${open.holdTime} s (must be 0 or at least 3)`,
    };
  }
  return undefined;
}

interface IdleOpts {
  reason: string;
  notify?: Notification;
  /** ManualStop: no automatic restart, counters reset. */
  stopped?: boolean;
  /** Collision loser: no flap counted (the other connection carries the session). */
  collision?: boolean;
  /** NotifMsgVerErr: ConnectRetryCounter is not incremented (RFC 4271). */
  noCount?: boolean;
  peer?: OpenSummary;
}

function toIdle(cfg: FsmConfig, d: FsmData, o: IdleOpts): FsmStep {
  const actions: FsmAction[] = [];
  const connected = hasConnection(d.state);
  if (o.notify && connected) actions.push({ type: 'send-notification', notification: o.notify, message: o.reason });
  actions.push(...ALL_TIMERS);
  if (connected || d.state === 'Connect') actions.push({ type: 'drop' });
  if (d.state === 'Established') actions.push({ type: 'session-down', reason: o.reason });
  if (o.stopped) {
    actions.push({ type: 'stop-timer', timer: 'idleHold' });
    return {
      data: { ...d, state: 'Idle', autoRestart: false, connectRetryCounter: 0, holdTime: 0, keepalive: 0, lastError: o.reason, peer: o.peer ?? d.peer },
      actions,
    };
  }
  const flaps = o.collision ? d.flaps : d.flaps + 1;
  const counter = o.noCount || o.collision ? d.connectRetryCounter : d.connectRetryCounter + 1;
  actions.push({ type: 'start-timer', timer: 'idleHold', seconds: idleHoldTime(cfg, Math.max(1, flaps)) });
  return {
    data: { ...d, state: 'Idle', flaps, connectRetryCounter: counter, holdTime: 0, keepalive: 0, lastError: o.reason, peer: o.peer ?? d.peer },
    actions,
  };
}
