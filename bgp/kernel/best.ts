// Adapts the speaker's best-path notifications (BgpSpeaker.onBestChanged) to kernel changes.
// Routes we originate ourselves are not installed (they are ours already); a route whose best
// path has gone is withdrawn.
import type { BestChange } from '../server/types.js';
import type { KernelRouteChange } from './types.js';

export function kernelChangesOf(changes: readonly BestChange[]): KernelRouteChange[] {
  const out: KernelRouteChange[] = new Array<KernelRouteChange>(changes.length);
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!;
    const learned = c.reachable && c.peer !== undefined && c.nextHop !== undefined && c.nextHop !== 'self';
    // ECMP: every next hop of the multipath set (global addresses; link-local ones ride separately).
    const hops = c.nextHops && c.nextHops.length > 0 ? c.nextHops.map((h) => ({ gateway: h.address })) : [{ gateway: c.nextHop! }];
    out[i] = learned ? { prefix: c.prefix, nextHops: hops } : { prefix: c.prefix, nextHops: null };
  }
  return out;
}
