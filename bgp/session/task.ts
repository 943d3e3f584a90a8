// The unit of work of the speaker's single work queue (bgp/server/queue.ts). Sessions hand their
// received messages to the queue as tasks, so message processing and every RIB mutation run on
// one queue, in bounded slices.

export interface Task {
  /**
   * Does work until done or until performance.now() passes `deadline` (check it between
   * messages); returns true when there is nothing left to do for now.
   */
  run(deadline: number): boolean;
}

export interface TaskQueue {
  /** Schedules `task` (once: pushing a task that is already queued does nothing). */
  push(task: Task): void;
}
