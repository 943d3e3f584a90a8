// Helpers for tests that need root or an external tool. Outside CI they skip with a reason;
// with CI=true a missing requirement is a failure (and the summary reporter fails skips too).
import { execFileSync } from 'node:child_process';

export const isCI = process.env.CI === 'true' || process.env.CI === '1';
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

export function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns a reason the requirements are not met, or undefined when they are. In CI an unmet
 * requirement throws, so the test file fails loudly instead of skipping.
 */
export function missing(req: { root?: boolean; tools?: string[] }): string | undefined {
  const problems: string[] = [];
  if (req.root && !isRoot) problems.push('needs root');
  for (const t of req.tools ?? []) if (!hasTool(t)) problems.push(`needs ${t} on PATH`);
  if (problems.length === 0) return undefined;
  const reason = problems.join(', ');
  if (isCI) throw new Error(`test requirements not met in CI: ${reason}`);
  return reason;
}

/** A unique short prefix for namespaces and interfaces made by one test file (<= 6 chars). */
export function uniquePrefix(tag: string): string {
  const n = (process.pid % 4096).toString(36) + Math.floor(Math.random() * 1296).toString(36);
  return `${tag.slice(0, 2)}${n}`.slice(0, 6);
}
