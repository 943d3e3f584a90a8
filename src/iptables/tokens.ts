// Splitting one iptables-restore line into arguments the way iptables-restore does:
// whitespace separates, double quotes group, and inside quotes a backslash escapes the next char.

export function splitArgs(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '\\' && i + 1 < line.length) {
        cur += line[++i]!;
      } else if (c === '"') {
        quoted = false;
      } else {
        cur += c;
      }
      continue;
    }
    if (c === '"') {
      quoted = true;
      inToken = true;
    } else if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      if (inToken) out.push(cur);
      cur = '';
      inToken = false;
    } else {
      cur += c;
      inToken = true;
    }
  }
  if (quoted) throw new SyntaxError('unterminated quoted string');
  if (inToken) out.push(cur);
  return out;
}

const NO_QUOTE = /^[A-Za-z0-9_-]+$/;

/**
 * Print a string argument the way iptables-save does: bare when it is only letters, digits, `_`
 * and `-`; otherwise in double quotes with `"`, `\\` and `'` escaped by a backslash.
 */
export function saveString(s: string): string {
  if (NO_QUOTE.test(s)) return s;
  return `"${s.replace(/(["\\'])/g, '\\$1')}"`;
}
