// The speaker's management queue: start, stop, configuration changes, neighbour add/remove and
// resets run one at a time, in call order, each to completion (across its awaits) before the
// next begins, so two changes can never interleave. A burst of configuration updates coalesces:
// updates queued back to back that have not started yet collapse into one, applying the latest.
// (RIB work and message processing have their own queue, ./queue.ts.)

/** One pending run of back-to-back `latest()` calls: applies the newest value once. */
interface Burst<V> {
  value: V;
  result: Promise<void>;
}

export class ManagementQueue {
  private tail: Promise<void> = Promise.resolve();
  /** Operations queued or running. */
  private pending = 0;
  /** The last queued operation is a not-yet-started coalescing burst; later values join it. */
  private open: Burst<unknown> | undefined;

  /**
   * Runs `op` after every earlier operation has settled. When nothing is queued or running it
   * starts synchronously (so a synchronous caller sees its effect at once).
   */
  run<T>(op: () => Promise<T> | T): Promise<T> {
    this.open = undefined;
    return this.enqueue(op);
  }

  /**
   * Queues `apply(value)`, or — when the last queued operation is a burst of the same `apply`
   * that has not started — replaces that burst's value instead. Every caller of a burst gets the
   * outcome of applying its latest value.
   */
  latest<V>(value: V, apply: (v: V) => Promise<void>): Promise<void> {
    const o = this.open as (Burst<V> & { apply: unknown }) | undefined;
    if (o && o.apply === apply) {
      o.value = value;
      return o.result;
    }
    const burst = { value, apply, result: Promise.resolve() } as Burst<V> & { apply: unknown };
    burst.result = this.enqueue(() => {
      if (this.open === burst) this.open = undefined;
      return apply(burst.value);
    });
    // Only a burst that waits can take more values; one that started at once is closed.
    this.open = this.pending > 1 ? burst : undefined;
    return burst.result;
  }

  /** Resolves once everything queued so far has settled. */
  settled(): Promise<void> {
    return this.tail;
  }

  private enqueue<T>(op: () => Promise<T> | T): Promise<T> {
    this.pending++;
    const result: Promise<T> = this.pending === 1 ? new Promise<T>((resolve) => resolve(op())) : this.tail.then(op);
    const done = (): void => {
      this.pending--;
    };
    this.tail = result.then(done, done);
    return result;
  }
}
