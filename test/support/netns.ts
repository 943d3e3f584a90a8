// Throwaway network namespaces for privileged tests. Names are "<prefix>-<tag>" with a prefix
// from uniquePrefix(), so parallel test files never collide, and cleanup() deletes exactly the
// namespaces this pool made (by name, never by pattern over other people's).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command inside a namespace (`ip netns exec`). Never throws; check `code`. */
export function nsExec(ns: string, args: string[], timeoutMs = 20_000): ExecResult {
  const r = spawnSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8', timeout: timeoutMs });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** `ip -n NS ARGS...` (checking results in tests); throws with stderr on failure. */
export function ipIn(ns: string, args: string[]): string {
  return execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8' });
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

export class NetnsPool {
  private readonly made = new Set<string>();

  constructor(readonly prefix: string) {}

  /** Creates "<prefix>-<tag>" and returns its name. */
  create(tag: string): string {
    const name = `${this.prefix}-${tag}`;
    execFileSync('ip', ['netns', 'add', name], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.made.add(name);
    return name;
  }

  /** Deletes one namespace made by this pool. */
  delete(name: string): void {
    if (!this.made.has(name)) throw new Error(`namespace ${name} was not made by this pool`);
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    this.made.delete(name);
  }

  /** Deletes every namespace this pool made (call from afterAll; safe to call twice). */
  cleanup(): void {
    for (const name of [...this.made]) this.delete(name);
  }

  names(): string[] {
    return [...this.made];
  }
}
