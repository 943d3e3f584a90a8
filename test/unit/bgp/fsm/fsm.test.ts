// The pure state machine driven with a fake clock: each RFC 4271 §8 event in each state that
// matters, hold-time negotiation, timers, backoff.
import { describe, expect, it } from 'vitest';
import { collisionSurvivor } from '../../../../bgp/fsm/collision.js';
import { initialFsmData, step } from '../../../../bgp/fsm/fsm.js';
import { negotiateTimers } from '../../../../bgp/fsm/timing.js';
import type { FsmAction, FsmConfig, FsmData, FsmEvent, FsmState, TimerName } from '../../../../bgp/fsm/types.js';

const LOCAL_ID = 0x0a000001; // 10.0.0.1
const PEER_OPEN = { asn: 65002, holdTime: 90, bgpId: 0x0a000002 };

function config(over: Partial<FsmConfig> = {}): FsmConfig {
  return {
    localId: LOCAL_ID,
    peerAs: 65002,
    passive: false,
    holdTime: 90,
    keepalive: undefined,
    connectRetry: 5,
    connectRetryMax: 60,
    idleHold: 1,
    idleHoldMax: 120,
    stableTime: 60,
    openHoldTime: 240,
    ...over,
  };
}

const TIMER_EVENT: Record<TimerName, FsmEvent['type']> = {
  connectRetry: 'ConnectRetryTimerExpires',
  hold: 'HoldTimerExpires',
  keepalive: 'KeepaliveTimerExpires',
  idleHold: 'IdleHoldTimerExpires',
  stable: 'StableTimerExpires',
};

/** Runs the machine with a fake clock: start-timer actions schedule their expiry event. */
class Driver {
  now = 0;
  data: FsmData = initialFsmData();
  readonly timers = new Map<TimerName, number>();
  /** Every action performed, with the time. */
  readonly log: { t: number; a: FsmAction }[] = [];
  readonly states: FsmState[] = [];
  /** Called when the machine sends a KEEPALIVE (lets a test play the peer). */
  onAction: ((a: FsmAction) => void) | undefined;

  constructor(readonly cfg: FsmConfig) {}

  get state(): FsmState {
    return this.data.state;
  }

  fire(ev: FsmEvent): FsmAction[] {
    const before = this.data.state;
    const r = step(this.cfg, this.data, ev);
    this.data = r.data;
    if (r.data.state !== before) this.states.push(r.data.state);
    for (const a of r.actions) {
      if (a.type === 'start-timer') this.timers.set(a.timer, this.now + a.seconds);
      if (a.type === 'stop-timer') this.timers.delete(a.timer);
      this.log.push({ t: this.now, a });
      this.onAction?.(a);
    }
    return [...r.actions];
  }

  /** Advances the clock, firing due timers in order. */
  advance(seconds: number): void {
    const end = this.now + seconds;
    for (;;) {
      let next: [TimerName, number] | undefined;
      for (const [n, t] of this.timers) if (t <= end && (!next || t < next[1])) next = [n, t];
      if (!next) break;
      this.now = next[1];
      this.timers.delete(next[0]);
      this.fire({ type: TIMER_EVENT[next[0]] } as FsmEvent);
    }
    this.now = end;
  }

  actions(type: FsmAction['type'], since = 0): FsmAction[] {
    return this.log.filter((l) => l.t >= since && l.a.type === type).map((l) => l.a);
  }

  notifications(): { code: number; subcode: number }[] {
    return this.log.flatMap((l) => (l.a.type === 'send-notification' ? [{ code: l.a.notification.code, subcode: l.a.notification.subcode }] : []));
  }
}

/** A driver brought to `state` the normal way. */
function at(state: FsmState, cfg = config()): Driver {
  const d = new Driver(cfg);
  if (state === 'Idle') return d;
  d.fire({ type: 'ManualStart' });
  if (state === 'Connect' || state === 'Active') {
    if (state === 'Active' && !cfg.passive) d.fire({ type: 'TcpConnectionFails' });
    return d;
  }
  d.fire({ type: 'TcpConnected', outgoing: true });
  if (state === 'OpenSent') return d;
  d.fire({ type: 'BgpOpen', open: PEER_OPEN });
  if (state === 'OpenConfirm') return d;
  d.fire({ type: 'KeepAliveMsg' });
  return d;
}

const types = (as: FsmAction[]): string[] => as.map((a) => (a.type === 'start-timer' || a.type === 'stop-timer' ? `${a.type}:${a.timer}` : a.type));

describe('Idle', () => {
  it('ManualStart on an active peer connects and starts ConnectRetry', () => {
    const d = new Driver(config());
    const a = d.fire({ type: 'ManualStart' });
    expect(d.state).toBe('Connect');
    expect(types(a)).toContain('connect');
    expect(d.timers.get('connectRetry')).toBe(5);
  });

  it('ManualStart on a passive peer waits in Active: no connection attempt, no ConnectRetry', () => {
    const d = new Driver(config({ passive: true }));
    const a = d.fire({ type: 'ManualStart' });
    expect(d.state).toBe('Active');
    expect(types(a)).not.toContain('connect');
    expect(d.timers.has('connectRetry')).toBe(false);
    d.advance(3600);
    expect(d.state).toBe('Active');
    expect(d.actions('connect')).toEqual([]);
    d.fire({ type: 'TcpConnected', outgoing: false });
    expect(d.state).toBe('OpenSent');
    expect(types(d.log.map((l) => l.a))).toContain('send-open');
  });

  it('ignores messages and connection events', () => {
    const d = new Driver(config());
    for (const ev of [{ type: 'TcpConnected', outgoing: false }, { type: 'KeepAliveMsg' }, { type: 'UpdateMsg' }, { type: 'BgpOpen', open: PEER_OPEN }, { type: 'HoldTimerExpires' }] as FsmEvent[]) {
      expect(d.fire(ev)).toEqual([]);
      expect(d.state).toBe('Idle');
    }
  });
});

describe('Connect and Active', () => {
  it('a TCP connection (either direction) sends OPEN, stops ConnectRetry and arms the 4-minute OPEN hold timer', () => {
    for (const outgoing of [true, false]) {
      const d = at('Connect');
      const a = d.fire({ type: 'TcpConnected', outgoing });
      expect(d.state).toBe('OpenSent');
      expect(types(a)).toEqual(['stop-timer:connectRetry', 'send-open', 'start-timer:hold']);
      expect(d.timers.get('hold')).toBe(240);
    }
  });

  it('a failed attempt goes to Active and retries after ConnectRetry, doubling up to the maximum', () => {
    const d = at('Connect', config({ connectRetry: 5, connectRetryMax: 40 }));
    const gaps: number[] = [];
    let last = 0;
    for (let i = 0; i < 6; i++) {
      d.fire({ type: 'TcpConnectionFails', reason: 'refused' });
      expect(d.state).toBe('Active');
      const due = d.timers.get('connectRetry')!;
      d.advance(due - d.now);
      expect(d.state).toBe('Connect');
      gaps.push(d.now - last);
      last = d.now;
    }
    expect(gaps).toEqual([5, 10, 20, 40, 40, 40]);
    expect(d.actions('connect')).toHaveLength(7);
  });

  it('ConnectRetry expiring while connecting tries again', () => {
    const d = at('Connect');
    d.advance(5);
    expect(d.state).toBe('Connect');
    expect(d.actions('connect')).toHaveLength(2);
  });

  it('ManualStop goes Idle without a NOTIFICATION (there is no session) and does not restart', () => {
    const d = at('Connect');
    d.fire({ type: 'ManualStop' });
    expect(d.state).toBe('Idle');
    expect(d.notifications()).toEqual([]);
    d.advance(3600);
    expect(d.state).toBe('Idle');
  });
});

describe('OpenSent', () => {
  it('a valid OPEN negotiates the hold time, sends KEEPALIVE and goes to OpenConfirm', () => {
    const d = at('OpenSent');
    const a = d.fire({ type: 'BgpOpen', open: { ...PEER_OPEN, holdTime: 30 } });
    expect(d.state).toBe('OpenConfirm');
    expect(a[0]!.type).toBe('send-keepalive');
    expect(d.data.holdTime).toBe(30);
    expect(d.data.keepalive).toBe(10);
    expect(d.timers.get('hold')).toBe(d.now + 30);
    expect(d.timers.get('keepalive')).toBe(d.now + 10);
  });

  it('rejects the wrong peer AS with OPEN error Bad Peer AS (2/2) and goes Idle', () => {
    const d = at('OpenSent');
    d.fire({ type: 'BgpOpen', open: { ...PEER_OPEN, asn: 65099 } });
    expect(d.state).toBe('Idle');
    expect(d.notifications()).toEqual([{ code: 2, subcode: 2 }]);
    expect(d.data.lastError).toContain('AS 65099');
    expect(types(d.log.map((l) => l.a))).toContain('drop');
  });

  it('rejects our own BGP identifier with Bad BGP Identifier (2/3)', () => {
    const d = at('OpenSent');
    d.fire({ type: 'BgpOpen', open: { ...PEER_OPEN, bgpId: LOCAL_ID } });
    expect(d.notifications()).toEqual([{ code: 2, subcode: 3 }]);
  });

  it('rejects hold time 1 or 2 with Unacceptable Hold Time (2/6)', () => {
    for (const holdTime of [1, 2]) {
      const d = at('OpenSent');
      d.fire({ type: 'BgpOpen', open: { ...PEER_OPEN, holdTime } });
      expect(d.notifications()).toEqual([{ code: 2, subcode: 6 }]);
    }
  });

  it('no OPEN within the 240 s OPEN hold time: Hold Timer Expired (4/0)', () => {
    const d = at('OpenSent');
    d.advance(239);
    expect(d.state).toBe('OpenSent');
    d.advance(1);
    expect(d.state).toBe('Idle');
    expect(d.notifications()).toEqual([{ code: 4, subcode: 0 }]);
  });

  it('a KEEPALIVE or UPDATE before the OPEN is an FSM error (5/1)', () => {
    for (const ev of [{ type: 'KeepAliveMsg' }, { type: 'UpdateMsg' }] as FsmEvent[]) {
      const d = at('OpenSent');
      d.fire(ev);
      expect(d.state).toBe('Idle');
      expect(d.notifications()).toEqual([{ code: 5, subcode: 1 }]);
    }
  });

  it('a codec error sends the codec\'s NOTIFICATION', () => {
    const d = at('OpenSent');
    d.fire({ type: 'BgpOpenMsgErr', notification: { code: 2, subcode: 4 }, reason: 'bad optional parameter' });
    expect(d.notifications()).toEqual([{ code: 2, subcode: 4 }]);
    expect(d.data.lastError).toBe('bad optional parameter');
  });

  it('the TCP connection closing goes Idle (and restarts after the Idle hold)', () => {
    const d = at('OpenSent');
    d.fire({ type: 'TcpConnectionFails', reason: 'reset' });
    expect(d.state).toBe('Idle');
    expect(d.notifications()).toEqual([]);
    d.advance(1);
    expect(d.state).toBe('Connect');
  });

  it('CEASE / Connection Rejected before the peer\'s OPEN counts a failed attempt: Active, ConnectRetry, no flap', () => {
    const d = at('OpenSent');
    const a = d.fire({ type: 'NotifMsg', reason: 'refused', refused: true });
    expect(d.state).toBe('Active');
    expect(types(a)).toContain('drop');
    expect(d.data.flaps).toBe(0);
    expect(d.timers.has('idleHold')).toBe(false);
    d.advance(5);
    expect(d.state).toBe('Connect');
  });

  it('losing collision detection sends CEASE / Connection Collision Resolution (6/7) without counting a flap', () => {
    const d = at('OpenSent');
    d.fire({ type: 'OpenCollisionDump' });
    expect(d.state).toBe('Idle');
    expect(d.notifications()).toEqual([{ code: 6, subcode: 7 }]);
    expect(d.data.flaps).toBe(0);
  });

  it('a NOTIFICATION with Unsupported Version goes Idle without counting towards ConnectRetryCounter', () => {
    const d = at('OpenSent');
    const before = d.data.connectRetryCounter;
    d.fire({ type: 'NotifMsgVerErr', reason: 'version' });
    expect(d.state).toBe('Idle');
    expect(d.data.connectRetryCounter).toBe(before);
  });
});

describe('OpenConfirm', () => {
  it('a KEEPALIVE completes the session: Established, and the stable timer starts', () => {
    const d = at('OpenConfirm');
    const a = d.fire({ type: 'KeepAliveMsg' });
    expect(d.state).toBe('Established');
    expect(types(a)).toContain('established');
    expect(d.timers.get('stable')).toBe(d.now + 60);
  });

  it('sends keepalives while waiting', () => {
    const d = at('OpenConfirm');
    d.advance(30);
    expect(d.actions('send-keepalive')).toHaveLength(2);
    expect(d.state).toBe('OpenConfirm');
  });

  it('an UPDATE before the KEEPALIVE is an FSM error (5/2); a second OPEN too', () => {
    for (const ev of [{ type: 'UpdateMsg' }, { type: 'BgpOpen', open: PEER_OPEN }] as FsmEvent[]) {
      const d = at('OpenConfirm');
      d.fire(ev);
      expect(d.notifications()).toEqual([{ code: 5, subcode: 2 }]);
    }
  });

  it('hold timer expiry sends 4/0', () => {
    const d = at('OpenConfirm');
    d.advance(90);
    expect(d.state).toBe('Idle');
    expect(d.notifications()).toEqual([{ code: 4, subcode: 0 }]);
  });

  it('a NOTIFICATION from the peer goes Idle without answering', () => {
    const d = at('OpenConfirm');
    d.fire({ type: 'NotifMsg', reason: 'the peer sent NOTIFICATION Cease' });
    expect(d.state).toBe('Idle');
    expect(d.notifications()).toEqual([]);
  });
});

describe('Established', () => {
  it('stays up as long as the peer sends keepalives, sending its own every third of the hold time', () => {
    const d = at('Established');
    const t0 = d.now;
    for (let i = 0; i < 10; i++) {
      d.advance(29);
      d.fire({ type: 'KeepAliveMsg' });
    }
    expect(d.state).toBe('Established');
    expect(d.actions('send-keepalive', t0 + 1).length).toBe(9);
  });

  it('UPDATEs restart the hold timer too', () => {
    const d = at('Established');
    for (let i = 0; i < 10; i++) {
      d.advance(80);
      d.fire({ type: 'UpdateMsg' });
    }
    expect(d.state).toBe('Established');
  });

  it('hold timer expiry: NOTIFICATION 4/0, the session is torn down, and it restarts after the Idle hold', () => {
    const d = at('Established');
    d.advance(90);
    expect(d.state).toBe('Idle');
    expect(d.notifications()).toEqual([{ code: 4, subcode: 0 }]);
    const a = types(d.log.filter((l) => l.t === 90).map((l) => l.a));
    expect(a).toEqual(expect.arrayContaining(['send-notification', 'drop', 'session-down']));
    expect(a.indexOf('send-notification')).toBeLessThan(a.indexOf('drop'));
    d.advance(1);
    expect(d.state).toBe('Connect');
  });

  it('with hold time 0 there are no keepalives and no hold timer', () => {
    const d = at('OpenSent');
    d.fire({ type: 'BgpOpen', open: { ...PEER_OPEN, holdTime: 0 } });
    d.fire({ type: 'KeepAliveMsg' });
    expect(d.state).toBe('Established');
    expect(d.data.holdTime).toBe(0);
    d.advance(100_000);
    expect(d.state).toBe('Established');
    expect(d.actions('send-keepalive')).toHaveLength(1); // the one answering the OPEN
  });

  it('data from the peer restarts the hold timer even before its messages are processed', () => {
    const d = at('Established');
    for (let i = 0; i < 5; i++) {
      d.advance(80);
      d.fire({ type: 'DataReceived' });
    }
    expect(d.state).toBe('Established');
    d.advance(90);
    expect(d.state).toBe('Idle');
  });

  it('the RFC 9687 send hold timer closes the session with NOTIFICATION 8/0', () => {
    const d = at('Established');
    const a = d.fire({ type: 'SendHoldTimerExpires', seconds: 480 });
    expect(d.state).toBe('Idle');
    expect(d.notifications()).toEqual([{ code: 8, subcode: 0 }]);
    expect(types(a)).toContain('session-down');
    expect(d.data.lastError).toContain('480 s');
  });

  it('an UPDATE error sends the codec\'s NOTIFICATION and tears the session down', () => {
    const d = at('Established');
    const a = d.fire({ type: 'UpdateMsgErr', notification: { code: 3, subcode: 1 }, reason: 'bad attribute list' });
    expect(d.notifications()).toEqual([{ code: 3, subcode: 1 }]);
    expect(types(a)).toContain('session-down');
  });

  it('an OPEN on an Established session is an FSM error (5/3)', () => {
    const d = at('Established');
    d.fire({ type: 'BgpOpen', open: PEER_OPEN });
    expect(d.notifications()).toEqual([{ code: 5, subcode: 3 }]);
  });

  it('ManualStop sends CEASE / Administrative Shutdown with the shutdown communication, and stays down', () => {
    const d = at('Established');
    const a = d.fire({ type: 'ManualStop', message: 'maintenance' });
    const n = a.find((x) => x.type === 'send-notification');
    expect(n && n.type === 'send-notification' && n.notification).toMatchObject({ code: 6, subcode: 2 });
    const data = n && n.type === 'send-notification' ? n.notification.data! : Buffer.alloc(0);
    expect(data[0]).toBe(11);
    expect(data.subarray(1).toString()).toBe('maintenance');
    expect(types(a)).toContain('session-down');
    d.advance(3600);
    expect(d.state).toBe('Idle');
  });

  it('a peer that keeps dropping the session waits longer each time (Idle hold doubles), until a stable session resets it', () => {
    const d = at('Established', config({ idleHold: 1, idleHoldMax: 8, stableTime: 60 }));
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      d.fire({ type: 'NotifMsg', reason: 'peer reset' });
      waits.push(d.timers.get('idleHold')! - d.now);
      d.advance(waits[i]!);
      expect(d.state).toBe('Connect');
      d.fire({ type: 'TcpConnected', outgoing: true });
      d.fire({ type: 'BgpOpen', open: PEER_OPEN });
      d.fire({ type: 'KeepAliveMsg' });
    }
    expect(waits).toEqual([1, 2, 4, 8, 8]);
    // Stable for 60 s: the next failure starts the backoff afresh.
    for (let i = 0; i < 3; i++) {
      d.advance(25);
      d.fire({ type: 'KeepAliveMsg' });
    }
    expect(d.data.flaps).toBe(0);
    d.fire({ type: 'NotifMsg', reason: 'peer reset' });
    expect(d.timers.get('idleHold')! - d.now).toBe(1);
  });
});

describe('hold time negotiation', () => {
  it('uses the smaller hold time, a third of it for keepalives, and 0 for none', () => {
    expect(negotiateTimers(90, 30, undefined)).toEqual({ holdTime: 30, keepalive: 10 });
    expect(negotiateTimers(9, 180, undefined)).toEqual({ holdTime: 9, keepalive: 3 });
    expect(negotiateTimers(90, 0, undefined)).toEqual({ holdTime: 0, keepalive: 0 });
    expect(negotiateTimers(3, 90, undefined)).toEqual({ holdTime: 3, keepalive: 1 });
    expect(negotiateTimers(90, 90, 5)).toEqual({ holdTime: 90, keepalive: 5 });
    expect(negotiateTimers(90, 12, 20)).toEqual({ holdTime: 12, keepalive: 4 });
  });
});

describe('collision detection', () => {
  it('keeps the connection initiated by the speaker with the higher BGP identifier (unsigned compare)', () => {
    expect(collisionSurvivor(0x0a000001, 0x0a000002)).toBe('theirs');
    expect(collisionSurvivor(0x0a000002, 0x0a000001)).toBe('ours');
    // 200.0.0.1 is higher than 10.0.0.1 even though it is negative as a signed 32-bit integer.
    expect(collisionSurvivor(0xc8000001 | 0, 0x0a000001)).toBe('ours');
    expect(collisionSurvivor(0x0a000001, 0xc8000001 | 0)).toBe('theirs');
  });
});
