// A keyed work queue: each key is worked on by one worker at a time; a key added while it is
// being worked on is worked on again afterwards (the worker reads the current state, so bursts
// of events for one object collapse into one write). A failed key is retried with backoff.
export class WorkQueue {
  private readonly pending: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly work: (key: string) => Promise<void>,
    private readonly concurrency: number,
    private readonly onFailure: (key: string, error: unknown, attempt: number) => void,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.pending.push(key);
    this.pump();
  }

  get depth(): number {
    return this.pending.length + this.active.size + this.timers.size;
  }

  /** Resolves when nothing is queued, running or waiting for a retry. */
  idle(): Promise<void> {
    if (this.depth === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.pending.length = 0;
    this.queued.clear();
    if (this.active.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.pending.length > 0) {
      const key = this.pending.shift()!;
      this.queued.delete(key);
      this.active.add(key);
      this.running++;
      void this.work(key).then(
        () => {
          this.failures.delete(key);
          this.finish(key);
        },
        (e: unknown) => {
          const attempt = (this.failures.get(key) ?? 0) + 1;
          this.failures.set(key, attempt);
          this.onFailure(key, e, attempt);
          if (!this.stopped) {
            const t = setTimeout(() => {
              this.timers.delete(t);
              this.add(key);
            }, Math.min(100 * 2 ** (attempt - 1), 10_000));
            this.timers.add(t);
          }
          this.finish(key);
        },
      );
    }
    if (this.depth === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private finish(key: string): void {
    this.active.delete(key);
    this.running--;
    if (this.dirty.delete(key)) this.add(key);
    this.pump();
  }
}
