// twill-kube-controllers' keyed work queue and command line (the controller itself is tested
// against the Kubernetes API test double and a real etcd in test/privileged/k8s).
import { describe, expect, test } from 'vitest';
import { parseControllerArgs } from '../../../src/k8s/args.js';
import { WorkQueue } from '../../../src/k8s/queue.js';

describe('WorkQueue', () => {
  test('one worker per key; a key added while it is worked on runs once more afterwards; bursts collapse', async () => {
    const runs: string[] = [];
    let active = 0;
    let maxSame = 0;
    const inFlight = new Map<string, number>();
    let release: (() => void) | undefined;
    const gate = new Promise<void>((r) => (release = r));
    const q = new WorkQueue(
      async (k) => {
        inFlight.set(k, (inFlight.get(k) ?? 0) + 1);
        maxSame = Math.max(maxSame, inFlight.get(k)!);
        active++;
        runs.push(k);
        if (runs.length === 1) await gate;
        active--;
        inFlight.set(k, inFlight.get(k)! - 1);
      },
      4,
      () => undefined,
    );
    q.add('a');
    q.add('a'); // queued while a runs: one more run, not two
    q.add('a');
    q.add('b');
    await new Promise((r) => setTimeout(r, 10));
    expect(runs).toEqual(['a', 'b']);
    release!();
    await q.idle();
    expect(runs).toEqual(['a', 'b', 'a']);
    expect(maxSame).toBe(1);
    expect(active).toBe(0);
  });

  test('a failing key is retried with backoff until it succeeds', async () => {
    let n = 0;
    const failures: number[] = [];
    const q = new WorkQueue(
      async () => {
        if (++n < 3) throw new Error('conflict');
      },
      1,
      (_k, _e, attempt) => failures.push(attempt),
    );
    q.add('x');
    await q.idle();
    expect(n).toBe(3);
    expect(failures).toEqual([1, 2]);
  });
});

describe('parseControllerArgs', () => {
  test('defaults and units', () => {
    const a = parseControllerArgs(['--kubeconfig', '/k', '--datastore', 'etcd://127.0.0.1:2379', '--lease-duration-seconds', '5', '--gc-grace-seconds', '60'], {});
    expect(a).toMatchObject({ kubeconfig: '/k', healthHost: '127.0.0.1', healthPort: 9094, leaseNamespace: 'kube-system', leaseName: 'twill-kube-controllers', leaseDurationMs: 5000, gcGraceMs: 60_000, gcIntervalMs: 60_000, workers: 32 });
  });
  test('KUBECONFIG and TWILL_DATASTORE fill in; missing ones are named', () => {
    expect(parseControllerArgs([], { KUBECONFIG: '/k', TWILL_DATASTORE: 'memory:' })).toMatchObject({ kubeconfig: '/k', datastore: 'memory:' });
    expect(() => parseControllerArgs(['--datastore', 'memory:'], {})).toThrow(/--kubeconfig FILE/);
    expect(() => parseControllerArgs(['--kubeconfig', '/k'], {})).toThrow(/--datastore URL/);
  });
});
