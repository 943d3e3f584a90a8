// Durations as Calico (and Go) write them: "90s", "2m", "1m30s", "500ms", "1h". No sign.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;

/** Milliseconds in a duration string, or undefined when it is not one. "0" is allowed. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (text.length === 0) return undefined;
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const m = PART.exec(text);
    if (m === null || m.index !== start) return undefined;
    ms += Number(m[1]) * (UNIT_MS[m[2] ?? ''] ?? NaN);
  }
  return Number.isFinite(ms) ? ms : undefined;
}

/** Why `text` is not a duration, or undefined when it is one. */
export function durationProblem(text: string): string | undefined {
  if (parseDuration(text) !== undefined) return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    return `"${text}" has no unit: write e.g. "${text}s" (units: ms, s, m, h)`;
  }
  return `"${text}" is not a duration: write e.g. "90s", "2m" or "1m30s" (units: ms, s, m, h)`;
}
