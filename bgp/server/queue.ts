// The speaker's single work queue. Every RIB mutation and all received-message processing run
// here, one task at a time, in slices of at most `sliceMs` milliseconds; between slices the
// queue yields to the event loop (setImmediate), so timers (keepalives, hold timers) and socket
// I/O are never starved by a large table transfer. Unfinished tasks go to the back of the line,
// so one busy peer cannot starve another. After each slice `afterSlice` runs (the speaker uses
// it to flush outgoing UPDATEs for what changed).
import { performance } from 'node:perf_hooks';
import type { Task, TaskQueue } from '../session/task.js';

export class WorkQueue implements TaskQueue {
  private readonly tasks: Task[] = [];
  private head = 0;
  private readonly queued = new Set<Task>();
  private scheduled = false;
  private running = false;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  /** Jobs waiting on a promise (see runGenerator). */
  private parked = 0;

  constructor(
    private readonly sliceMs: number,
    /** Runs after each slice; returns true if it left work for another round. */
    private readonly afterSlice: (deadline: number) => boolean,
    private readonly onError: (e: unknown) => void,
  ) {}

  push(task: Task): void {
    if (this.stopped || this.queued.has(task)) return;
    this.queued.add(task);
    this.tasks.push(task);
    this.schedule();
  }

  /** Runs a function on the queue (a one-shot task). */
  run(fn: () => void): void {
    this.push({
      run: () => {
        fn();
        return true;
      },
    });
  }

  /**
   * Runs a generator on the queue, one step after another, within slices. A step may yield a
   * promise: the job is then parked (taking no turns) until it settles — e.g. until a peer has
   * read what was written to it.
   */
  runGenerator(gen: Generator<void | Promise<void>, void, void>, onDone?: () => void): void {
    const task: Task = {
      run: (deadline: number) => {
        for (;;) {
          const r = gen.next();
          if (r.done) {
            onDone?.();
            return true;
          }
          if (r.value instanceof Promise) {
            this.parked++;
            const resume = (): void => {
              this.parked--;
              if (this.stopped) this.wakeIdle();
              else this.push(task);
            };
            r.value.then(resume, resume);
            return true;
          }
          if (performance.now() >= deadline) return false;
        }
      },
    };
    this.push(task);
  }

  /** Asks for a slice even with no task queued (e.g. output to flush). */
  kick(): void {
    this.schedule();
  }

  get length(): number {
    return this.tasks.length - this.head;
  }

  /** Resolves when no task is queued or parked and afterSlice reported nothing left. */
  idle(): Promise<void> {
    if (!this.scheduled && !this.running && this.length === 0 && (this.parked === 0 || this.stopped)) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    this.tasks.length = 0;
    this.head = 0;
    this.queued.clear();
    this.wakeIdle();
  }

  /** Accepts tasks again after stop(). */
  resume(): void {
    this.stopped = false;
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => this.tick());
  }

  private tick(): void {
    this.scheduled = false;
    if (this.stopped) return;
    this.running = true;
    const deadline = performance.now() + this.sliceMs;
    let more = false;
    try {
      while (this.length > 0) {
        const t = this.tasks[this.head++]!;
        let done: boolean;
        try {
          done = t.run(deadline);
        } catch (e) {
          done = true;
          this.onError(e);
        }
        if (done) this.queued.delete(t);
        else this.tasks.push(t);
        if (performance.now() >= deadline) break;
      }
      if (this.head > 1024 && this.head * 2 > this.tasks.length) {
        this.tasks.splice(0, this.head);
        this.head = 0;
      } else if (this.head === this.tasks.length) {
        this.tasks.length = 0;
        this.head = 0;
      }
      try {
        more = this.afterSlice(performance.now() + this.sliceMs);
      } catch (e) {
        this.onError(e);
      }
    } finally {
      this.running = false;
    }
    if (this.length > 0 || more) this.schedule();
    else if (this.parked === 0) this.wakeIdle();
  }

  private wakeIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }
}
