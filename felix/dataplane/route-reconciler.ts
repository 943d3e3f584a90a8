// The route reconciler: routes with Twill's protocol number only (others are never deleted).
// `<ip>/32 dev <veth> scope link` per local endpoint address (skipped until the interface exists;
// the link monitor says when it appears) and a blackhole per block this host holds. Unwanted
// routes of our protocol are removed only after the first in-sync. A route through an interface
// that is down waits too (the kernel would refuse it with ENETDOWN). Desired/actual bookkeeping,
// the canonical prefix key and the retry policy are src/netlink's RouteOwner, shared with the
// BGP kernel sync.
import { RouteOwner, routeKeyOr, RT_TABLE_MAIN, RTPROT_TWILL, type BackoffOptions, type FailureInfo, type NetlinkHandle, type Route, type RouteWrite } from '../../src/netlink/index.js';
import type { RouteState } from '../calc/types.js';
import type { LinkIndex } from './link-index.js';
import { silentLogger, type DataplaneLogger } from './log.js';

export interface RouteApplyResult {
  added: string[];
  removed: string[];
  /** Local routes waiting for their interface. */
  waiting: string[];
  pending: string[];
}

export interface RouteReconcilerOptions extends BackoffOptions {
  log?: DataplaneLogger;
  /** Route protocol number (default RTPROT_TWILL, 84). */
  protocol?: number;
}

interface ActualRoute {
  type: string;
  ifindex: number | undefined;
}

const readActual = (r: Route): ActualRoute => ({ type: r.type ?? 'unicast', ifindex: r.ifindex });

export class RouteReconciler {
  private readonly nl: NetlinkHandle;
  private readonly links: LinkIndex;
  private readonly log: DataplaneLogger;
  private readonly backoffOpts: BackoffOptions;
  private core: RouteOwner<RouteState, ActualRoute>;
  private inSync = false;

  constructor(nl: NetlinkHandle, links: LinkIndex, opts: RouteReconcilerOptions = {}) {
    this.nl = nl;
    this.links = links;
    this.log = opts.log ?? silentLogger;
    this.backoffOpts = opts;
    this.core = new RouteOwner({ ...opts, protocol: opts.protocol ?? RTPROT_TWILL, table: RT_TABLE_MAIN });
  }

  get protocol(): number {
    return this.core.protocol;
  }

  setDesired(routes: ReadonlyMap<string, RouteState>, protocol?: number): void {
    if (protocol !== undefined && protocol !== this.core.protocol) {
      // Another protocol: our routes must be listed again; the retry state carries over.
      this.core = new RouteOwner({ ...this.backoffOpts, protocol, table: RT_TABLE_MAIN, backoff: this.core.backoff });
    }
    const desired = new Map<string, RouteState>();
    for (const d of routes.values()) desired.set(routeKeyOr(d.dst), d);
    this.core.desired = desired;
  }

  markInSync(): void {
    this.inSync = true;
  }

  async readBack(): Promise<void> {
    await this.core.readBack(this.nl, readActual);
  }

  /** The desired routes by canonical destination (what `twillctl verify` compares the kernel with). */
  desiredRoutes(): ReadonlyMap<string, RouteState> {
    return this.core.desired;
  }

  /** A desired route that is in the kernel as desired. */
  isProgrammed(dst: string): boolean {
    const key = this.core.desired.has(dst) ? dst : routeKeyOr(dst); // canonical already: no parse
    const d = this.core.desired.get(key);
    const a = this.core.listed ? this.core.actual.get(key) : undefined;
    return d !== undefined && a !== undefined && this.matches(d, a);
  }

  /** Drop what we believe about routes out of an interface (it went away or came back). */
  forgetInterface(ifindex: number): void {
    if (!this.core.listed) return;
    for (const [dst, a] of this.core.actual) if (a.ifindex === ifindex) this.core.actual.delete(dst);
  }

  /**
   * A route of ours changed in the kernel behind our back (monitor event). Returns the desired
   * route when the event deleted it while it was in place as desired (drift the next apply undoes).
   */
  noteKernelRoute(action: 'new' | 'del', r: Route): RouteState | undefined {
    if (!this.core.listed || !this.core.owns(r)) return undefined;
    if (action === 'new') {
      this.core.actual.set(r.dst, readActual(r));
      return undefined;
    }
    const had = this.core.actual.get(r.dst);
    const d = this.core.desired.get(r.dst);
    this.core.actual.delete(r.dst);
    return had !== undefined && d !== undefined && this.matches(d, had) ? d : undefined;
  }

  failing(minAttempts = 3): Map<string, FailureInfo> {
    return this.core.backoff.failing(minAttempts);
  }

  nextRetryAt(): number | undefined {
    return this.core.backoff.nextRetryAt();
  }

  private matches(d: RouteState, a: ActualRoute): boolean {
    if (d.type === 'blackhole') return a.type === 'blackhole';
    return a.type === 'unicast' && a.ifindex !== undefined && a.ifindex === this.links.indexOf(d.interfaceName);
  }

  async apply(): Promise<RouteApplyResult> {
    const res: RouteApplyResult = { added: [], removed: [], waiting: [], pending: [] };
    const core = this.core;
    if (!core.listed) await core.readBack(this.nl, readActual);
    const { desired, actual, backoff, protocol } = core;
    const writes: RouteWrite[] = [];
    for (const [key, d] of desired) {
      const a = actual.get(key);
      if (a !== undefined && this.matches(d, a)) continue;
      if (!backoff.ready(key)) {
        res.pending.push(key);
        continue;
      }
      let route: Route;
      if (d.type === 'blackhole') {
        route = { family: d.family, dst: key, type: 'blackhole', protocol, table: RT_TABLE_MAIN };
      } else {
        const ifindex = this.links.indexOf(d.interfaceName);
        if (ifindex === undefined || !this.links.isUp(d.interfaceName)) {
          res.waiting.push(key);
          continue;
        }
        route = { family: d.family, dst: key, ifindex, scope: 'link', protocol, table: RT_TABLE_MAIN };
      }
      writes.push({ key, op: 'routeReplace', route });
    }
    if (this.inSync) {
      for (const [key, a] of actual) {
        if (desired.has(key) || !backoff.ready(key)) continue;
        const family = key.includes(':') ? 6 : 4;
        writes.push({ key, op: 'routeDel', route: { family, dst: key, protocol, table: RT_TABLE_MAIN, ...(a.type === 'blackhole' ? { type: 'blackhole' as const } : {}) } });
      }
    }
    backoff.retain((k) => desired.has(k) || actual.has(k));
    if (writes.length === 0) return res;
    const results = await core.write(this.nl, writes);
    results.forEach((r, i) => {
      const w = writes[i]!;
      if (r.outcome === 'written' || r.outcome === 'absent') {
        if (w.op === 'routeDel') {
          actual.delete(r.key);
          res.removed.push(r.key);
        } else {
          actual.set(r.key, readActual(w.route));
          res.added.push(r.key);
        }
      } else if (r.outcome !== 'skipped') {
        this.log.error({ route: r.key, attempts: r.attempts, err: r.error.message }, 'route write rejected');
        res.pending.push(r.key);
      }
    });
    return res;
  }
}
