// Small helpers the benchmarks share: count flags and percentiles.

/** `--NAME N` flags for the keys of `defaults` (positive integers); other arguments are ignored. */
export function parseCounts<T extends Record<string, number>>(argv: readonly string[], defaults: T): T {
  const a: Record<string, number> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]?.replace(/^--/, '');
    const v = Number(argv[i + 1]);
    if (k && k in a && Number.isInteger(v) && v > 0) {
      a[k] = v;
      i++;
    }
  }
  return a as T;
}

/** The p-th percentile (nearest rank) of xs; 0 for none. */
export function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? 0;
}
