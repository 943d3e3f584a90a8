// Per-key retry bookkeeping, the one retry policy of the kernel writers (felix's reconcilers and
// the BGP kernel sync): a key that failed is skipped until its backoff expires; the delay doubles
// per consecutive failure up to a cap. A success forgets the key.

export interface BackoffOptions {
  /** First retry delay, ms (default 100). */
  initialMs?: number;
  /** Cap, ms (default 30 000). */
  maxMs?: number;
  now?: () => number;
}

export interface FailureInfo {
  attempts: number;
  nextAt: number;
  lastError: string;
}

export class KeyBackoff {
  private readonly failures = new Map<string, FailureInfo>();
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly now: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 100;
    this.maxMs = opts.maxMs ?? 30_000;
    this.now = opts.now ?? Date.now;
  }

  /** True when the key may be tried now (never failed, or its backoff expired). */
  ready(key: string): boolean {
    const f = this.failures.get(key);
    return f === undefined || f.nextAt <= this.now();
  }

  failed(key: string, error: string): FailureInfo {
    const prev = this.failures.get(key);
    const attempts = (prev?.attempts ?? 0) + 1;
    const delay = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(attempts - 1, 30));
    const info = { attempts, nextAt: this.now() + delay, lastError: error };
    this.failures.set(key, info);
    return info;
  }

  /** When a backed-off key becomes ready again; undefined when it is not backed off. */
  retryAt(key: string): number | undefined {
    return this.failures.get(key)?.nextAt;
  }

  succeeded(key: string): void {
    this.failures.delete(key);
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Makes every backed-off key ready now (a dependency just changed), keeping its attempt count. */
  expireAll(): void {
    const now = this.now();
    for (const f of this.failures.values()) f.nextAt = Math.min(f.nextAt, now);
  }

  /** Forgets every failed key for which `keep` is false (objects no longer wanted). */
  retain(keep: (key: string) => boolean): void {
    for (const k of [...this.failures.keys()]) if (!keep(k)) this.failures.delete(k);
  }

  /** The earliest time a backed-off key becomes ready again, or undefined when none is waiting. */
  nextRetryAt(): number | undefined {
    let t: number | undefined;
    for (const f of this.failures.values()) if (t === undefined || f.nextAt < t) t = f.nextAt;
    return t;
  }

  /** Keys that failed at least `minAttempts` times in a row. */
  failing(minAttempts = 1): Map<string, FailureInfo> {
    const out = new Map<string, FailureInfo>();
    for (const [k, f] of this.failures) if (f.attempts >= minAttempts) out.set(k, f);
    return out;
  }

  get size(): number {
    return this.failures.size;
  }
}
