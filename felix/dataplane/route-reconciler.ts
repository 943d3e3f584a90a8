// The route reconciler: routes with Twill's protocol number only (others are never deleted).
// `<ip>/32 dev <veth> scope link` per local endpoint address (skipped until the interface exists;
// the link monitor says when it appears) and a blackhole per block this host holds. Unwanted
// routes of our protocol are removed only after the first in-sync. A route through an interface
// that is down waits too (the kernel would refuse it with ENETDOWN).
import { RT_TABLE_MAIN, RTPROT_TWILL, type NetlinkHandle, type Route } from '../../src/netlink/index.js';
import type { RouteState } from '../calc/types.js';
import { KeyBackoff, type BackoffOptions, type FailureInfo } from './backoff.js';
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

export class RouteReconciler {
  private readonly nl: NetlinkHandle;
  private readonly links: LinkIndex;
  private readonly log: DataplaneLogger;
  private readonly backoff: KeyBackoff;
  protocol: number;
  private desired = new Map<string, RouteState>();
  private actual: Map<string, ActualRoute> | undefined;
  private inSync = false;

  constructor(nl: NetlinkHandle, links: LinkIndex, opts: RouteReconcilerOptions = {}) {
    this.nl = nl;
    this.links = links;
    this.log = opts.log ?? silentLogger;
    this.backoff = new KeyBackoff(opts);
    this.protocol = opts.protocol ?? RTPROT_TWILL;
  }

  setDesired(routes: ReadonlyMap<string, RouteState>, protocol?: number): void {
    this.desired = new Map(routes);
    if (protocol !== undefined && protocol !== this.protocol) {
      this.protocol = protocol;
      this.actual = undefined;
    }
  }

  markInSync(): void {
    this.inSync = true;
  }

  async readBack(): Promise<void> {
    const m = new Map<string, ActualRoute>();
    for (const r of await this.nl.routeList({ protocol: this.protocol, table: RT_TABLE_MAIN })) {
      m.set(r.dst, { type: r.type ?? 'unicast', ifindex: r.ifindex });
    }
    this.actual = m;
  }

  /** A desired route that is in the kernel as desired. */
  isProgrammed(dst: string): boolean {
    const d = this.desired.get(dst);
    const a = this.actual?.get(dst);
    return d !== undefined && a !== undefined && this.matches(d, a);
  }

  /** Drop what we believe about routes out of an interface (it went away or came back). */
  forgetInterface(ifindex: number): void {
    if (!this.actual) return;
    for (const [dst, a] of this.actual) if (a.ifindex === ifindex) this.actual.delete(dst);
  }

  /** A route of ours changed in the kernel behind our back (monitor event). */
  noteKernelRoute(action: 'new' | 'del', r: Route): void {
    if (!this.actual || r.protocol !== this.protocol || (r.table ?? RT_TABLE_MAIN) !== RT_TABLE_MAIN) return;
    if (action === 'del') this.actual.delete(r.dst);
    else this.actual.set(r.dst, { type: r.type ?? 'unicast', ifindex: r.ifindex });
  }

  failing(minAttempts = 3): Map<string, FailureInfo> {
    return this.backoff.failing(minAttempts);
  }

  nextRetryAt(): number | undefined {
    return this.backoff.nextRetryAt();
  }

  private matches(d: RouteState, a: ActualRoute): boolean {
    if (d.type === 'blackhole') return a.type === 'blackhole';
    return a.type === 'unicast' && a.ifindex !== undefined && a.ifindex === this.links.indexOf(d.interfaceName);
  }

  async apply(): Promise<RouteApplyResult> {
    const res: RouteApplyResult = { added: [], removed: [], waiting: [], pending: [] };
    if (this.actual === undefined) await this.readBack();
    const actual = this.actual!;
    const ops: { op: 'routeReplace' | 'routeDel'; route: Route }[] = [];
    const keys: string[] = [];
    for (const d of this.desired.values()) {
      const a = actual.get(d.dst);
      if (a !== undefined && this.matches(d, a)) continue;
      if (!this.backoff.ready(d.dst)) {
        res.pending.push(d.dst);
        continue;
      }
      let route: Route;
      if (d.type === 'blackhole') {
        route = { family: d.family, dst: d.dst, type: 'blackhole', protocol: this.protocol, table: RT_TABLE_MAIN };
      } else {
        const ifindex = this.links.indexOf(d.interfaceName);
        if (ifindex === undefined || !this.links.isUp(d.interfaceName)) {
          res.waiting.push(d.dst);
          continue;
        }
        route = { family: d.family, dst: d.dst, ifindex, scope: 'link', protocol: this.protocol, table: RT_TABLE_MAIN };
      }
      ops.push({ op: 'routeReplace', route });
      keys.push(d.dst);
    }
    if (this.inSync) {
      for (const [dst, a] of actual) {
        if (this.desired.has(dst) || !this.backoff.ready(dst)) continue;
        const family = dst.includes(':') ? 6 : 4;
        ops.push({ op: 'routeDel', route: { family, dst, protocol: this.protocol, table: RT_TABLE_MAIN, ...(a.type === 'blackhole' ? { type: 'blackhole' as const } : {}) } });
        keys.push(dst);
      }
    }
    this.backoff.retain((k) => this.desired.has(k) || actual.has(k));
    if (ops.length === 0) return res;
    const results = await this.nl.batch(ops);
    results.forEach((r, i) => {
      const op = ops[i]!;
      const key = keys[i]!;
      if (r.ok || (op.op === 'routeDel' && r.error.errnoName === 'ESRCH')) {
        this.backoff.succeeded(key);
        if (op.op === 'routeDel') {
          actual.delete(key);
          res.removed.push(key);
        } else {
          actual.set(key, { type: op.route.type ?? 'unicast', ifindex: op.route.ifindex });
          res.added.push(key);
        }
      } else {
        const f = this.backoff.failed(key, r.error.message);
        this.log.error({ route: key, attempts: f.attempts, err: r.error.message }, 'route write rejected');
        res.pending.push(key);
      }
    });
    return res;
  }
}
