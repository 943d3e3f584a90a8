// The dataplane: the four reconcilers behind one object, applied in the order the kernel needs
// (ipsets created → iptables → unused ipsets destroyed → routes → interface sysctls), with one
// apply at a time, coalesced requests, retries at the earliest backoff expiry, a periodic full
// read-back that repairs drift, and an extra read-back shortly after each write.
import type { Ipset, Iptables } from '../../src/iptables/index.js';
import { RTPROT_TWILL, type Monitor, type NetlinkEvent, type NetlinkHandle } from '../../src/netlink/index.js';
import { errorMessage } from '../../src/errors.js';
import { parseDuration } from '../../src/api/duration.js';
import type { DesiredState } from '../calc/types.js';
import type { RenderDelta, Rendered } from '../rules/types.js';
import type { FailureInfo } from './backoff.js';
import { InterfaceReconciler } from './interface-reconciler.js';
import { IpsetReconciler, type IpsetApplyResult } from './ipset-reconciler.js';
import { IptablesReconciler, type IptablesApplyResult } from './iptables-reconciler.js';
import { LinkIndex } from './link-index.js';
import { silentLogger, type DataplaneLogger } from './log.js';
import { RouteReconciler } from './route-reconciler.js';
import { describeRoute, diffKernel, readKernel, type DesiredKernel, type KernelDiff } from './verify.js';
import type { NodeDifference } from '../../src/nodeapi/types.js';

/** How long a change the agent saw and undid (a route deleted by hand) stays in verify's report. */
export const DRIFT_MEMORY_MS = 10 * 60_000;
const DRIFT_MAX = 100;

export interface DataplaneDeps {
  netlink: NetlinkHandle;
  iptables4: Iptables;
  /** Absent: no IPv6 iptables at all. */
  iptables6?: Iptables;
  ipset: Ipset;
  /** Subscribes to link and route events of the agent's namespace. Absent: no monitor (tests). */
  monitor?: (onEvent: (e: NetlinkEvent) => void) => Promise<Monitor>;
  log?: DataplaneLogger;
  /**
   * Full read-back period, ms (0 = off). Absent: FelixConfiguration iptablesRefreshInterval
   * (default 90 s).
   */
  refreshMs?: number;
  /** Read-back this long after a write, to catch other writers (default 2 000; 0 = off). */
  verifyAfterWriteMs?: number;
  /** First retry delay (ms) for a failed key (default 100). */
  retryInitialMs?: number;
  /** A key failing this many times in a row makes the dataplane unhealthy (default 3). */
  failingAfter?: number;
}

/** The parts of calc's DesiredState the dataplane reads itself (a whole DesiredState fits). */
export type DataplaneState = Pick<DesiredState, 'config' | 'endpoints' | 'routes'>;

export interface DesiredDataplane {
  state: DataplaneState;
  rendered: Rendered;
  /** The caller's version of this desired state; echoed in the ApplyReport that programmed it. */
  tag?: number;
}

/** A change to the desired dataplane, as the renderer reported it (see Dataplane.updateDesired). */
export interface DesiredDataplaneUpdate {
  /** The non-iptables part, when it changed (a new object); absent: the last one stays. */
  state?: DataplaneState;
  /** What changed in the rendered output since the desired state last given to the dataplane. */
  delta: RenderDelta;
  tag?: number;
}

export interface ApplyReport {
  /** DesiredDataplane.tag of the desired state this apply started from. */
  tag: number | undefined;
  /** ms for the whole apply. */
  totalMs: number;
  /** ms inside iptables-restore / ipset restore. */
  restoreMs: number;
  chainsWritten: number;
  chainsDeleted: number;
  setsWritten: number;
  setsDestroyed: number;
  routesChanged: number;
  interfacesConfigured: number;
  /** True when nothing desired is left unprogrammed (except local routes waiting for an interface). */
  converged: boolean;
  /**
   * Everything but per-interface routes and sysctls converged: no ipset, iptables or host-wide
   * sysctl write is pending. A route or sysctl of one interface that keeps failing concerns that
   * endpoint only (programmedEndpoints() checks each endpoint's own).
   */
  policyConverged: boolean;
}

export interface DataplaneHealth {
  /** Desired state applied at least once after the first in-sync, and nothing keeps failing. */
  ready: boolean;
  inSync: boolean;
  failing: { key: string; attempts: number; error: string }[];
}

export class Dataplane {
  private readonly log: DataplaneLogger;
  private readonly links = new LinkIndex();
  readonly ipt4: IptablesReconciler;
  readonly ipt6: IptablesReconciler | undefined;
  readonly ipsets: IpsetReconciler;
  readonly routes: RouteReconciler;
  readonly interfaces: InterfaceReconciler;
  private desired: { state: DataplaneState; tag: number | undefined } | undefined;
  private inSync = false;
  private appliedAfterSync = false;
  private running: Promise<void> | undefined;
  private again = false;
  private readBackNeeded = false;
  private timers = new Set<NodeJS.Timeout>();
  private retryTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private verifyTimer: NodeJS.Timeout | undefined;
  private mon: Monitor | undefined;
  private stopped = false;
  private readonly failingAfter: number;
  private listeners = new Set<(r: ApplyReport) => void>();
  lastReport: ApplyReport | undefined;
  private applyError: { attempts: number; error: string } | undefined;
  private lastVerifyAt = 0;
  /** Changes to the kernel the agent saw happen and undid (for verify), oldest first. */
  private drift: { diff: NodeDifference; at: number }[] = [];

  constructor(private readonly deps: DataplaneDeps) {
    this.log = deps.log ?? silentLogger;
    const b = { log: this.log, initialMs: deps.retryInitialMs ?? 100 };
    this.ipt4 = new IptablesReconciler(deps.iptables4, b);
    this.ipt6 = deps.iptables6 ? new IptablesReconciler(deps.iptables6, b) : undefined;
    this.ipsets = new IpsetReconciler(deps.ipset, b);
    this.routes = new RouteReconciler(deps.netlink, this.links, { ...b, protocol: RTPROT_TWILL });
    this.interfaces = new InterfaceReconciler(deps.netlink, this.links, b);
    this.failingAfter = deps.failingAfter ?? 3;
  }

  /** Lists links, starts the monitor, reads the kernel's current state. */
  async start(): Promise<void> {
    if (this.deps.monitor) this.mon = await this.deps.monitor((e) => this.onNetlinkEvent(e));
    this.links.reset(await this.deps.netlink.linkList());
    await this.readBackAll();
    this.setRefresh(this.deps.refreshMs ?? 90_000);
  }

  private refreshPeriod = -1;

  private setRefresh(ms: number): void {
    if (ms === this.refreshPeriod || this.stopped) return;
    this.refreshPeriod = ms;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    this.refreshTimer = undefined;
    if (ms > 0) {
      this.refreshTimer = setInterval(() => {
        this.readBackNeeded = true;
        this.requestApply();
      }, Math.max(1000, ms));
    }
  }

  /** Called after every apply (metrics, endpoint status). */
  onApplied(fn: (r: ApplyReport) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  setDesired(d: DesiredDataplane): void {
    this.desired = { state: d.state, tag: d.tag };
    const v6 = d.state.config.ipv6Support;
    this.ipt4.setDesired(d.rendered.v4);
    this.ipt6?.setDesired(v6 ? d.rendered.v6 : undefined);
    this.ipsets.setDesired([...d.rendered.v4.ipsets, ...(v6 && this.ipt6 ? (d.rendered.v6?.ipsets ?? []) : [])]);
    this.setState(d.state, true);
  }

  /**
   * The incremental form of setDesired: the renderer's delta since the desired state last given
   * (setDesired, then updateDesired for each later RuleRenderer.update), plus the new
   * non-iptables state when it changed. Costs O(change), not O(whole state). Only valid after a
   * setDesired; the result is the same as setDesired with the whole state the deltas lead to.
   */
  updateDesired(u: DesiredDataplaneUpdate): void {
    const prev = this.desired;
    if (prev === undefined) throw new RangeError('Dataplane.updateDesired needs a whole desired state first (setDesired)');
    const state = u.state ?? prev.state;
    this.desired = { state, tag: u.tag };
    this.ipt4.updateDesired(u.delta.v4);
    // The renderer's v6 delta already deletes everything when IPv6 gets switched off.
    this.ipt6?.updateDesired(u.delta.v6);
    this.ipsets.updateDesired(
      this.ipt6 ? [...u.delta.v4.ipsetUpserts, ...u.delta.v6.ipsetUpserts] : u.delta.v4.ipsetUpserts,
      this.ipt6 ? [...u.delta.v4.ipsetDeletes, ...u.delta.v6.ipsetDeletes] : u.delta.v4.ipsetDeletes,
    );
    if (u.state !== undefined) this.setState(u.state, false, prev.state);
  }

  private setState(state: DataplaneState, whole: boolean, prev?: DataplaneState): void {
    const v6 = state.config.ipv6Support;
    const configChanged = whole || prev?.config !== state.config;
    if (configChanged || prev?.routes !== state.routes) {
      this.routes.setDesired(
        v6 ? state.routes : new Map([...state.routes].filter(([, r]) => r.family === 4)),
        state.config.routeProtocol ?? RTPROT_TWILL,
      );
    }
    if (configChanged || prev?.endpoints !== state.endpoints) this.interfaces.setDesired(state.endpoints.keys(), v6);
    if (configChanged && this.deps.refreshMs === undefined && this.refreshPeriod >= 0) {
      const ms = parseDuration(state.config.iptablesRefreshInterval);
      if (ms !== undefined) this.setRefresh(ms);
    }
  }

  markInSync(): void {
    this.inSync = true;
    this.ipt4.markInSync();
    this.ipt6?.markInSync();
    this.ipsets.markInSync();
    this.routes.markInSync();
  }

  /** Apply soon (coalesced with any apply already running or requested). */
  requestApply(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.loop().finally(() => {
      this.running = undefined;
    });
  }

  /** Runs applies until nothing more was requested; resolves when idle. */
  async applyNow(): Promise<ApplyReport | undefined> {
    this.requestApply();
    while (this.running) await this.running;
    return this.lastReport;
  }

  private async loop(): Promise<void> {
    do {
      this.again = false;
      try {
        if (this.readBackNeeded) {
          this.readBackNeeded = false;
          await this.readBackAll();
        }
        const r = await this.applyOnce();
        this.applyError = undefined;
        if (r) {
          this.lastReport = r;
          for (const l of this.listeners) l(r);
        }
      } catch (e) {
        this.applyError = { attempts: (this.applyError?.attempts ?? 0) + 1, error: errorMessage(e) };
        this.log.error({ err: this.applyError.error, attempts: this.applyError.attempts }, 'dataplane apply failed');
        this.scheduleRetry(Date.now() + 1000);
      }
    } while (this.again && !this.stopped);
    const next = this.nextRetryAt();
    if (next !== undefined) this.scheduleRetry(next);
  }

  private async applyOnce(): Promise<ApplyReport | undefined> {
    if (!this.desired) return undefined;
    const tag = this.desired.tag;
    const t0 = performance.now();
    // Routes and sysctls only from real data: before in-sync we know too little to add, and must
    // not remove. They go side by side with the policy writes: a route to an interface whose
    // chains are not in yet leads into the dispatch chains' drop for unknown workload interfaces.
    const kernelP = this.inSync ? (async () => ({ rt: await this.routes.apply(), ifs: await this.interfaces.apply() }))() : Promise.resolve(undefined);
    let kernel: Awaited<typeof kernelP>;
    // v4 and v6 are independent tables: write them concurrently.
    const iptables = (): Promise<[IptablesApplyResult, IptablesApplyResult | undefined]> =>
      Promise.all([this.ipt4.apply(), this.ipt6 ? this.ipt6.apply() : Promise.resolve(undefined)]);
    let s1: IpsetApplyResult;
    let i4: IptablesApplyResult;
    let i6: IptablesApplyResult | undefined;
    let s2: IpsetApplyResult;
    let concurrentSets = false;
    try {
      if (this.ipsets.wouldCreate()) {
        // New sets first: rules may reference them.
        s1 = await this.ipsets.applyUpdates();
        if (s1.created.length > 0) {
          // Chains rejected for a missing set can go now.
          this.ipt4.retryNow();
          this.ipt6?.retryNow();
        }
        [i4, i6] = await iptables();
      } else {
        // Only members of existing sets change (e.g. a new endpoint's address): no rule can be
        // missing a set, so the ipset and iptables writes go side by side.
        concurrentSets = true;
        [s1, [i4, i6]] = await Promise.all([this.ipsets.applyUpdates(), iptables()]);
      }
      s2 = await this.ipsets.applyDeletes();
    } finally {
      // Never leave a route/sysctl write running into the next apply.
      kernel = await kernelP;
    }
    const rt = kernel?.rt;
    const ifs = kernel?.ifs;
    const wrote = i4.written.length + (i6?.written.length ?? 0) + i4.deleted.length + (i6?.deleted.length ?? 0) + i4.hooksWritten + (i6?.hooksWritten ?? 0);
    if (wrote > 0) this.scheduleVerify();
    const report: ApplyReport = {
      tag,
      totalMs: performance.now() - t0,
      // Wall-clock view: concurrent writes count once (the longest of them).
      restoreMs: (concurrentSets ? Math.max(s1.restoreMs, i4.restoreMs, i6?.restoreMs ?? 0) : s1.restoreMs + Math.max(i4.restoreMs, i6?.restoreMs ?? 0)) + s2.restoreMs,
      chainsWritten: i4.written.length + (i6?.written.length ?? 0),
      chainsDeleted: i4.deleted.length + (i6?.deleted.length ?? 0),
      setsWritten: s1.created.length + s1.updated.length,
      setsDestroyed: s2.destroyed.length,
      routesChanged: (rt?.added.length ?? 0) + (rt?.removed.length ?? 0),
      interfacesConfigured: ifs?.configured.length ?? 0,
      policyConverged: s1.pending.length === 0 && i4.pending.length === 0 && (i6?.pending.length ?? 0) === 0 && !(ifs?.pending.includes('global') ?? false),
      converged:
        s1.pending.length === 0 &&
        i4.pending.length === 0 &&
        (i6?.pending.length ?? 0) === 0 &&
        (rt?.pending.length ?? 0) === 0 &&
        (ifs?.pending.length ?? 0) === 0,
    };
    if (this.inSync && report.converged) this.appliedAfterSync = true;
    if (wrote > 0 || report.routesChanged > 0 || report.setsWritten > 0) this.log.debug({ ...report }, 'dataplane applied');
    return report;
  }

  /**
   * Interface names of local endpoints whose policy, routes and sysctls are all in the kernel:
   * iptables and ipsets fully converged (`policyConverged`), every route of the endpoint present,
   * its sysctls set. Another endpoint whose interface is not there yet does not hold it back.
   */
  programmedEndpoints(): Set<string> {
    const out = new Set<string>();
    const d = this.desired;
    if (!d || !this.inSync || !this.lastReport?.policyConverged) return out;
    const routesByIf = new Map<string, string[]>();
    for (const r of d.state.routes.values()) {
      if (r.type === 'local') routesByIf.set(r.interfaceName, [...(routesByIf.get(r.interfaceName) ?? []), r.dst]);
    }
    for (const name of d.state.endpoints.keys()) {
      if (!this.interfaces.isProgrammed(name)) continue;
      const dsts = routesByIf.get(name) ?? [];
      if (dsts.every((dst) => this.routes.isProgrammed(dst) || (dst.includes(':') && !d.state.config.ipv6Support))) out.add(name);
    }
    return out;
  }

  health(): DataplaneHealth {
    const failing: DataplaneHealth['failing'] = [];
    const add = (prefix: string, m: Map<string, FailureInfo>): void => {
      for (const [k, f] of m) failing.push({ key: `${prefix}${k}`, attempts: f.attempts, error: f.lastError });
    };
    add('iptables4:', this.ipt4.failing(this.failingAfter));
    if (this.ipt6) add('iptables6:', this.ipt6.failing(this.failingAfter));
    add('ipset:', this.ipsets.failing(this.failingAfter));
    add('route:', this.routes.failing(this.failingAfter));
    add('interface:', this.interfaces.failing(this.failingAfter));
    if (this.applyError) failing.push({ key: 'apply', ...this.applyError });
    return { ready: this.inSync && this.appliedAfterSync && failing.length === 0, inSync: this.inSync, failing };
  }

  async readBackAll(): Promise<void> {
    await this.ipt4.readBack();
    await this.ipt6?.readBack();
    await this.ipsets.readBack();
    await this.routes.readBack();
    this.interfaces.forgetAll();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.mon?.close();
    for (const t of [this.retryTimer, this.refreshTimer, this.verifyTimer, ...this.timers]) if (t) clearTimeout(t);
    while (this.running) await this.running;
  }

  private onNetlinkEvent(e: NetlinkEvent): void {
    if (e.kind === 'overrun') {
      void this.deps.netlink.linkList().then((l) => {
        this.links.reset(l);
        this.readBackNeeded = true;
        this.requestApply();
      });
      return;
    }
    if (e.kind === 'link') {
      const old = this.links.indexOf(e.link.name);
      if (this.links.update(e.action, e.link)) {
        if (old !== undefined) this.routes.forgetInterface(old);
        this.requestApply();
      }
    } else if (e.kind === 'route') {
      if (e.route.protocol === this.routes.protocol) {
        const lost = this.routes.noteKernelRoute(e.action, e.route);
        if (lost) this.noteDrift({ kind: 'route', object: e.route.dst, expected: describeRoute(lost), actual: 'deleted outside the agent (netlink event); put back' });
        if (e.action === 'del') this.requestApply();
      }
    }
  }

  private noteDrift(diff: NodeDifference): void {
    const at = Date.now();
    this.drift = this.drift.filter((d) => at - d.at < DRIFT_MEMORY_MS && !(d.diff.kind === diff.kind && d.diff.object === diff.object)).slice(-(DRIFT_MAX - 1));
    this.drift.push({ diff, at });
  }

  /** What the reconcilers want in the kernel now, as plain data. */
  desiredKernel(): DesiredKernel {
    const ifs = this.interfaces.desiredView();
    return {
      iptables: [this.ipt4, this.ipt6].filter((r): r is IptablesReconciler => r !== undefined).map((r) => ({ family: r.family, ...r.desiredView() })),
      ipsets: this.ipsets.desiredSets(),
      routes: this.routes.desiredRoutes(),
      routeProtocol: this.routes.protocol,
      interfaces: ifs.names,
      ipv6: ifs.ipv6,
      rpFilter: ifs.rpFilter,
    };
  }

  /**
   * `twillctl verify`: reads the kernel afresh (iptables-save, ipset list, a route dump, sysctls)
   * and compares it with the desired state. Waits for an apply in progress to end (so it never
   * reports a write half done) but starts none: it repairs nothing. `differences` also lists the
   * routes deleted behind the agent's back in the last DRIFT_MEMORY_MS that it put back (with
   * `seenAt`): still desired and in the kernel as desired now.
   */
  async verifyKernel(): Promise<KernelDiff> {
    while (this.running) await this.running;
    const want = this.desiredKernel();
    const have = await readKernel(
      { netlink: this.deps.netlink, iptables: this.deps.iptables6 && this.ipt6 ? [this.deps.iptables4, this.deps.iptables6] : [this.deps.iptables4], ipset: this.deps.ipset },
      want,
    );
    const d = diffKernel(want, have);
    const now = Date.now();
    const current = new Set(d.differences.map((x) => `${x.kind} ${x.object}`));
    for (const r of this.drift) {
      // Only what really was put back: still wanted and, by the fresh read, as wanted now (a route
      // that went with its workload's interface, and is no longer desired, is no drift).
      const putBack = want.routes.has(r.diff.object) && !current.has(`${r.diff.kind} ${r.diff.object}`);
      if (now - r.at < DRIFT_MEMORY_MS && putBack) d.differences.push({ ...r.diff, seenAt: new Date(r.at) });
    }
    return d;
  }

  private nextRetryAt(): number | undefined {
    const ts = [this.ipt4, this.ipt6, this.ipsets, this.routes, this.interfaces].map((r) => r?.nextRetryAt()).filter((t): t is number => t !== undefined);
    return ts.length ? Math.min(...ts) : undefined;
  }

  private scheduleRetry(at: number): void {
    if (this.stopped) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.requestApply();
    }, Math.max(0, at - Date.now()));
  }

  /**
   * After a write, read iptables back once more (catches other writers, e.g. kube-proxy, and
   * writes that did not stick) — in the background, without holding up applies.
   */
  private scheduleVerify(): void {
    const ms = this.deps.verifyAfterWriteMs ?? 2000;
    if (ms <= 0 || this.verifyTimer || this.stopped) return;
    // At most one read-back per 10 s: under constant churn, iptables-save would compete for CPU.
    const delay = Math.max(ms, this.lastVerifyAt + 10_000 - Date.now());
    this.verifyTimer = setTimeout(() => {
      this.verifyTimer = undefined;
      this.lastVerifyAt = Date.now();
      void Promise.all([this.ipt4.verify(), this.ipt6?.verify() ?? Promise.resolve(true)]).then(
        (taken) => {
          if (taken.some((t) => t)) this.requestApply();
          if (taken.some((t) => !t)) this.scheduleVerify(); // writes raced it: look again later
        },
        (e: unknown) => this.log.warn({ err: errorMessage(e) }, 'iptables read-back after a write failed'),
      );
    }, delay);
  }
}
