// The work queue yields to the event loop between slices (so timers such as keepalives run in
// the middle of a long job), shares time fairly between tasks, and reports idleness.
import { describe, expect, it } from 'vitest';
import { WorkQueue } from '../../../../bgp/server/queue.js';

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe('WorkQueue', () => {
  it('lets timers and I/O run in the middle of a long job', async () => {
    const log: string[] = [];
    const q = new WorkQueue(5, () => false, (e) => {
      throw e;
    });
    function* job(): Generator<void, void, void> {
      for (let i = 0; i < 100; i++) {
        busy(2);
        yield;
      }
      log.push('job done');
    }
    q.runGenerator(job());
    setTimeout(() => log.push('timer'), 0);
    await q.idle();
    expect(log).toEqual(['timer', 'job done']);
  });

  it('alternates between unfinished tasks instead of running one to the end', async () => {
    const order: string[] = [];
    const q = new WorkQueue(3, () => false, (e) => {
      throw e;
    });
    const task = (name: string) =>
      function* (): Generator<void, void, void> {
        for (let i = 0; i < 20; i++) {
          order.push(name);
          busy(1);
          yield;
        }
      };
    q.runGenerator(task('a')());
    q.runGenerator(task('b')());
    await q.idle();
    const firstB = order.indexOf('b');
    const lastA = order.lastIndexOf('a');
    expect(firstB).toBeLessThan(lastA);
    expect(order.filter((x) => x === 'a')).toHaveLength(20);
  });

  it('runs afterSlice after each slice, and resolves idle() only when nothing is left', async () => {
    let slices = 0;
    let pending = 3;
    const q = new WorkQueue(
      5,
      () => {
        slices++;
        return --pending > 0;
      },
      (e) => {
        throw e;
      },
    );
    q.run(() => undefined);
    await q.idle();
    expect(slices).toBe(3);
    expect(q.length).toBe(0);
  });

  it('reports a throwing task and carries on with the others', async () => {
    const errors: unknown[] = [];
    let ran = false;
    const q = new WorkQueue(5, () => false, (e) => errors.push(e));
    q.run(() => {
      throw new Error('boom');
    });
    q.run(() => {
      ran = true;
    });
    await q.idle();
    expect(ran).toBe(true);
    expect(errors).toHaveLength(1);
  });
});
