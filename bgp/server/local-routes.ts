// Routes the speaker originates itself (config.originate and addPath()). Changes are applied in
// order by one queue task, so ten thousand addPath() calls are one entry in the work queue, not
// ten thousand in front of the peers' messages.
import { performance } from 'node:perf_hooks';
import { AFI_IPV4, AFI_IPV6, formatPrefix, parseIpv4, parseIpv6, type NextHop, type PathAttributes, type Prefix } from '../packet/index.js';
import { ACCEPT_ALL } from '../rib/policy.js';
import type { Rib } from '../rib/rib.js';
import type { Task } from '../session/task.js';
import { canonicalAddress, parseCommunity, parsePrefixText, validateLocalPath } from './config.js';
import type { LocalPath } from './types.js';

/** The prefix and attributes of a local path (checked; throws SpeakerConfigError naming the field). */
export function localRoute(p: LocalPath): { prefix: Prefix; attrs: PathAttributes } {
  validateLocalPath(p, `path ${p.prefix}`);
  const prefix = parsePrefixText(p.prefix, 'prefix');
  const attrs: PathAttributes = { origin: 0, asPath: [] };
  if (p.nextHop !== undefined) attrs.nextHop = nextHopOf(canonicalAddress(p.nextHop, 'nextHop'));
  if (p.communities?.length) attrs.communities = p.communities.map((c) => parseCommunity(c, 'community'));
  if (p.localPref !== undefined) attrs.localPref = p.localPref;
  if (p.med !== undefined) attrs.med = p.med;
  return { prefix, attrs };
}

function nextHopOf(addr: string): NextHop {
  return addr.includes(':') ? { afi: AFI_IPV6, addr: parseIpv6(addr) } : { afi: AFI_IPV4, addr: parseIpv4(addr) };
}

/** The local routes, and their pending changes, applied in order on the work queue. */
export class LocalRoutes implements Task {
  private ops: { prefix: Prefix; attrs: PathAttributes | undefined }[] = [];
  private head = 0;
  /** What is (or is about to be) originated, by prefix text. */
  private readonly current = new Map<string, { prefix: Prefix; attrs: PathAttributes }>();

  constructor(private readonly rib: () => Rib) {}

  add(prefix: Prefix, attrs: PathAttributes): void {
    this.current.set(formatPrefix(prefix), { prefix, attrs });
    this.ops.push({ prefix, attrs });
  }

  delete(prefix: Prefix): void {
    this.current.delete(formatPrefix(prefix));
    this.ops.push({ prefix, attrs: undefined });
  }

  /** Queues every current route again (for a fresh RIB). */
  replay(): void {
    this.ops = [...this.current.values()].map((r) => ({ prefix: r.prefix, attrs: r.attrs }));
    this.head = 0;
  }

  get size(): number {
    return this.current.size;
  }

  run(deadline: number): boolean {
    const rib = this.rib();
    while (this.head < this.ops.length) {
      const op = this.ops[this.head++]!;
      if (op.attrs) rib.announce(rib.local, [op.prefix], rib.store.internAttrs(op.attrs), ACCEPT_ALL);
      else rib.withdraw(rib.local, [op.prefix]);
      if ((this.head & 255) === 0 && performance.now() >= deadline) return false;
    }
    this.ops = [];
    this.head = 0;
    return true;
  }
}
