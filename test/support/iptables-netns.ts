// Network namespaces for the iptables tests: created with `ip netns add`, deleted by name.
// (Kept apart from test/support/netns.ts, which the netlink tests own.)
import { execFileSync } from 'node:child_process';
import { uniquePrefix } from './env.js';

let counter = 0;

/** A fresh, empty network namespace with a unique name; returns its name. */
export function addNetns(tag = 'ip'): string {
  const name = `${uniquePrefix(tag)}n${counter++}`;
  execFileSync('ip', ['netns', 'add', name], { stdio: 'pipe' });
  return name;
}

export function delNetns(name: string): void {
  try {
    execFileSync('ip', ['netns', 'del', name], { stdio: 'pipe' });
  } catch {
    // already gone
  }
}

/** Run a command inside a namespace (test setup only); returns stdout. */
export function inNetns(name: string, argv: string[], input?: string): string {
  return execFileSync('ip', ['netns', 'exec', name, ...argv], {
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(input !== undefined ? { input } : {}),
  });
}
