// Which etcd members answered lately: a member that could not be reached is skipped for a short
// while (HOST_DOWN_MS) as long as another member is not known to be down, so a call to a cluster
// with a dead member goes to a live one at once instead of failing on a random pick. When every
// member is marked down, every one is tried (a single restarted etcd is never kept "down").

import type { IOptions } from 'etcd3';

type FaultHandling = NonNullable<IOptions['faultHandling']>;
/** The per-host policy etcd3 runs each call through. */
export type HostPolicy = ReturnType<NonNullable<FaultHandling['host']>>;

/** How long a member that could not be reached is skipped (then one call may try it again). */
export const HOST_DOWN_MS = 1000;

/**
 * Thrown instead of calling a member marked down; etcd3 then moves on to the next member. The
 * request was never sent, so even a write may be retried.
 */
export class HostSkippedError extends Error {
  constructor(readonly host: string) {
    super(`${host} was skipped: No connection established to it within the last ${HOST_DOWN_MS} ms`);
  }
}

/** A policy event subscription that never fires. */
export const noListener = (): { dispose(): void } => ({ dispose: () => undefined });

export class HostHealth {
  private readonly downUntil = new Map<string, number>();

  constructor(
    /** Which failures mean "this member is not reachable" (connection refused, deadline, no leader …). */
    private readonly unreachable: (e: unknown) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** Is `host` marked down now? */
  isDown(host: string): boolean {
    const until = this.downUntil.get(host);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.downUntil.delete(host);
    return false;
  }

  /** Hosts marked down now. */
  down(hosts: readonly string[]): string[] {
    return hosts.filter((h) => this.isDown(h));
  }

  markDown(host: string): void {
    this.downUntil.set(host, this.now() + HOST_DOWN_MS);
  }

  markUp(host: string): void {
    this.downUntil.delete(host);
  }

  /**
   * The etcd3 host policy for `host` among `hosts`: skips it while it is down and some other
   * host is not; runs the call otherwise, and records how it went. No retry here (a retried
   * write may have been applied already): the datastore retries where that is safe.
   */
  policy(host: string, hosts: readonly string[]): HostPolicy {
    return {
      _altReturn: undefined as never,
      onSuccess: noListener,
      onFailure: noListener,
      execute: async <T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> => {
        if (this.isDown(host) && hosts.some((h) => h !== host && !this.isDown(h))) throw new HostSkippedError(host);
        try {
          const result = await fn({ signal: signal ?? new AbortController().signal });
          this.markUp(host);
          return result;
        } catch (e) {
          if (this.unreachable(e)) this.markDown(host);
          throw e;
        }
      },
    };
  }
}
