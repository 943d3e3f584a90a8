// The numbers of the state machine: hold-time negotiation (RFC 4271 §4.2, §10) and the
// exponential backoffs that keep a flapping peer from thrashing the speaker.
import type { FsmConfig } from './types.js';

/**
 * RFC 4271 §4.2: the session uses the smaller of the two proposed hold times; 0 means no hold
 * timer and no keepalives. The keepalive interval is the one configured (or a third of the hold
 * time), never more than a third of the hold time, and at least 1 s.
 */
export function negotiateTimers(
  ours: number,
  theirs: number,
  keepalive: number | undefined,
): { holdTime: number; keepalive: number } {
  const holdTime = Math.min(ours, theirs);
  if (holdTime === 0) return { holdTime: 0, keepalive: 0 };
  const third = Math.floor(holdTime / 3);
  const want = keepalive === undefined ? third : Math.min(keepalive, third);
  return { holdTime, keepalive: Math.max(1, want) };
}

/** ConnectRetry time after `failures` consecutive failed attempts: base, base, 2·base, 4·base… capped. */
export function connectRetryTime(cfg: FsmConfig, failures: number): number {
  return backoff(cfg.connectRetry, cfg.connectRetryMax, Math.max(0, failures - 1));
}

/** Idle hold after the `flaps`-th consecutive session loss (flaps >= 1). */
export function idleHoldTime(cfg: FsmConfig, flaps: number): number {
  return backoff(cfg.idleHold, cfg.idleHoldMax, Math.max(0, flaps - 1));
}

function backoff(base: number, max: number, n: number): number {
  const t = base * 2 ** Math.min(n, 30);
  return Math.max(base, Math.min(t, Math.max(base, max)));
}
