// "Did you mean ...?" — the closest candidate to a mistyped word, by edit distance.

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  if (m === 0) return n;
  if (n === 0) return m;
  // Three rolling rows: two back (for transpositions), previous, current.
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= m; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, (prev2[j - 2] ?? 0) + 1);
      }
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n] ?? 0;
}

/**
 * The candidate closest to `input` (case-insensitive), or undefined when none is close enough to
 * be a plausible typo. A candidate that starts with the input, or that the input starts with,
 * counts as close too ("netpolicy" → "networkpolicy" is not, "networkpol" → "networkpolicy" is).
 */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  const x = input.toLowerCase();
  if (x.length === 0) return undefined;
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const y = c.toLowerCase();
    let score = editDistance(x, y);
    if (x.length >= 3 && (y.startsWith(x) || x.startsWith(y))) score = Math.min(score, 1.5);
    if (score < bestScore) {
      bestScore = score;
      best = c;
    }
  }
  const limit = Math.max(2, Math.floor(x.length / 3));
  return bestScore <= limit ? best : undefined;
}

/** " (did you mean X?)" or "" — ready to append to a message. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const c = closest(input, candidates);
  return c !== undefined && c !== input ? ` (did you mean ${c}?)` : '';
}
