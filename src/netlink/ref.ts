// How callers name a network namespace. Its own module so errors and types can both use it.

/** A network namespace: by name (under /run/netns), by path (e.g. /proc/PID/ns/net), or the caller's own. */
export type NetnsRef = { name: string } | { path: string } | { current: true };

export function describeNetns(ref: NetnsRef): string {
  if ('name' in ref) return `network namespace "${ref.name}"`;
  if ('path' in ref) return `network namespace at ${ref.path}`;
  return 'the current network namespace';
}
