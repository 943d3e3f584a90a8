// The soak's growth-per-hour fit (test/support/soak.ts soakGrowth): one intercept per process
// lifetime, a common slope, each lifetime's warm-up left out — so a restart's drop or a new
// process's different baseline is not read as growth or shrinkage.
import { describe, expect, it } from 'vitest';
import { soakGrowth, soakLines, type SoakSample } from '../../support/soak.js';

const MIN = 60_000;
function life(pid: number, name: string, fromMin: number, toMin: number, rss: (m: number) => number, fds = (_m: number): number => 40): SoakSample[] {
  const out: SoakSample[] = [];
  for (let m = fromMin; m <= toMin; m++) out.push({ t: m * MIN, kind: 'twill-node', name, pid, rssMb: rss(m - fromMin), fds: fds(m - fromMin), lagP99Ms: 12, heapMb: 30 });
  return out;
}

describe('soakGrowth', () => {
  it('a restart that drops RSS is not a decrease, and flat lifetimes give 0/h', () => {
    const s = [...life(1, 'h1', 0, 10, () => 120), ...life(2, 'h1', 11, 20, () => 80)];
    const g = soakGrowth(s, 'twill-node', 'rssMb', 0)!;
    expect(g.perHour).toBeCloseTo(0, 9);
    expect(g).toMatchObject({ start: 120, end: 80, lifetimes: 2, samples: 21 });
  });

  it('growth inside each lifetime is found across restarts (1 MB/min = 60 MB/h), and the warm-up is left out', () => {
    // Each lifetime jumps by 50 MB in its first 2 minutes (start-up), then grows 1 MB/min.
    const rss = (m: number): number => (m < 2 ? 50 + m * 25 : 100 + m);
    const s = [...life(1, 'h1', 0, 10, rss), ...life(2, 'h1', 11, 25, rss), ...life(3, 'h2', 0, 25, rss)];
    expect(soakGrowth(s, 'twill-node', 'rssMb', 2 * MIN)!.perHour).toBeCloseTo(60, 6);
    expect(soakGrowth(s, 'twill-node', 'rssMb', 0)!.perHour).toBeGreaterThan(60); // the start-up jump, when not left out
  });

  it('an fd leak of one per 10 minutes is 6/h; lifetimes too short after warm-up are ignored', () => {
    const s = [...life(1, 'h1', 0, 30, () => 100, (m) => 40 + Math.floor(m / 10)), ...life(2, 'h2', 0, 2, () => 100, () => 500)];
    const g = soakGrowth(s, 'twill-node', 'fds', 2 * MIN)!;
    expect(g.lifetimes).toBe(1);
    expect(g.perHour).toBeGreaterThan(5);
    expect(g.perHour).toBeLessThan(7);
    expect(soakGrowth(s, 'etcd', 'fds', 0)).toBeUndefined();
  });

  it('prints one line per kind with start → end and the slope', () => {
    const [line] = soakLines(life(1, 'h1', 0, 60, (m) => 100 + m / 6), 0);
    expect(line).toBe('soak twill-node: 1 process(es), 1 lifetime(s): rss_mb 100.0→110.0 (+10.0/h), heap_used_mb 30.0→30.0 (+0.0/h), fds 40.0→40.0 (+0.0/h), event_loop_p99_ms 12.00→12.00 (+0.00/h)');
  });
});
