// Bounded retry with jittered backoff for compare-and-swap loops.

import { AlreadyExistsError, ConflictError, NotFoundError } from '../src/datastore/errors.js';
import { IpamConflictError } from './errors.js';

/** Sleeps a random 0..min(2·attempt, 50) ms so racing writers spread out. */
export function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(2 * attempt, 50);
  return new Promise((r) => setTimeout(r, ms));
}

export function isCasFailure(e: unknown): boolean {
  return e instanceof ConflictError || e instanceof NotFoundError || e instanceof AlreadyExistsError;
}

/**
 * Runs `attempt` until it returns without a compare-and-swap failure (ConflictError, or a
 * NotFound/AlreadyExists raised by a racing writer), at most `maxRetries` times.
 */
export async function withCasRetry<T>(what: string, maxRetries: number, attempt: (n: number) => Promise<T>): Promise<T> {
  for (let n = 0; n < maxRetries; n++) {
    if (n > 0) await backoff(n);
    try {
      return await attempt(n);
    } catch (e) {
      if (!isCasFailure(e)) throw e;
    }
  }
  throw new IpamConflictError(what, maxRetries);
}
