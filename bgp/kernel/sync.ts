// Kernel route sync: keeps the routes the speaker learned (prefix → next hops) in the kernel FIB,
// marked with our route protocol number, and nothing else.
//
//   desired  what the speaker wants (setRoutes)
//   actual   our routes in the kernel: listed once at start (filtered by our protocol), then kept
//            up to date by the netlink monitor and by the results of our own writes
//   dirty    prefixes whose desired and actual may differ; written in big batches after a short
//            coalescing window, failed ones retried with backoff
//
// Ownership: only routes with our protocol are ever replaced or deleted (deletes name the
// protocol, so the kernel itself refuses to match a foreign route). A new prefix is added with
// NLM_F_EXCL, so a foreign route holding the same key is never overwritten: the kernel answers
// EEXIST and the prefix is reported as a conflict until that route goes away (its delete event
// puts ours in). The kernel table is never polled; only a monitor overrun makes us list our
// routes again.
//
// Next hops that are not on-link are resolved recursively (resolve.ts: through the main table's
// routes that are not ours, e.g. the default route) and installed via the resolved gateways;
// prefixes whose next hops resolved through a route that changes are rewritten, and a prefix none
// of whose next hops resolves is left out (unreachablePrefixes()) until one does.
//
// Graceful restart: routes of ours found at start that nobody wants yet are kept (forwarding is
// preserved) until markInSync() or the reconcile timer; then they are removed.
//
// Desired/actual per canonical prefix, the retry policy and the typed write results are
// src/netlink's RouteOwner, the core shared with felix's route reconciler.
import {
  RouteOwner,
  RT_TABLE_LOCAL,
  RT_TABLE_MAIN,
  RTPROT_TWILL_BGP,
  sharedMonitor,
  type Monitor,
  type NetlinkEvent,
  type NetlinkHandle,
  type RouteWrite,
  type RouteWriteResult,
} from '../../src/netlink/index.js';
import { nextHopsOf, normalizeNextHops, normalizePrefix, sameNextHops, toDelete, toRoute, uniqueNextHops, type RouteShape, type WantedRoute } from './nexthops.js';
import { resolveNextHops, sameResolution, Underlay, unreachableReason, type Resolution } from './resolve.js';
import type {
  KernelNextHop,
  KernelRouteChange,
  KernelRouteSyncOptions,
  KernelStartOptions,
  KernelStopOptions,
  KernelSyncLogger,
  KernelSyncStats,
} from './types.js';
import { KernelSyncStateError } from './errors.js';

/** An EEXIST on add this many times in a row, with no route of ours seen there, is a conflict. */
const CONFLICT_AFTER = 2;

type Phase = 'new' | 'starting' | 'graceful' | 'in-sync' | 'stopping' | 'stopped';

interface Installed {
  family: 4 | 6;
  nextHops: KernelNextHop[];
}

interface Pending {
  prefix: string;
  op: RouteWrite['op'];
  family: 4 | 6;
  want: WantedRoute | undefined;
}

const silent: KernelSyncLogger = { debug() {}, info() {}, warn() {}, error() {} };

export class KernelRouteSync {
  private readonly shape: RouteShape;
  private readonly maxPaths: number;
  private readonly log: KernelSyncLogger;
  private readonly coalesceMs: number;
  private readonly batchSize: number;
  /** desired, actual (our routes in the kernel) and the retry backoff, per canonical prefix. */
  private readonly core: RouteOwner<WantedRoute, Installed>;
  private dirty = new Set<string>();
  /** prefix → consecutive EEXIST answers to our add. */
  private readonly eexist = new Map<string, number>();
  private readonly conflicts = new Set<string>();
  private readonly stale = new Set<string>();
  /** The main table's routes that are not ours: what next hops resolve through. */
  private readonly underlay: Underlay;
  /** gateway → how it resolves now (cleared when the underlay is listed again). */
  private readonly resolved = new Map<string, Resolution>();
  /** Wanted prefixes left out of the kernel because no next hop resolves → why. */
  private readonly unreachable = new Map<string, string>();

  private phase: Phase = 'new';
  private mon: Monitor | undefined;
  /** Events that arrive while our routes are being listed; applied after the list. */
  private buffered: NetlinkEvent[] | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private again = false;
  private resyncing: Promise<void> | undefined;

  private readonly counters = { rejected: 0, add: 0, replace: 0, del: 0, failed: 0, events: 0, repaired: 0, resyncs: 0 };

  constructor(
    private readonly nl: NetlinkHandle,
    private readonly opts: KernelRouteSyncOptions = {},
  ) {
    const protocol = opts.protocol ?? RTPROT_TWILL_BGP;
    const table = opts.table ?? RT_TABLE_MAIN;
    const maxPaths = opts.maxPaths ?? 1;
    if (!Number.isInteger(protocol) || protocol < 5 || protocol > 255) {
      throw new KernelSyncStateError(`route protocol ${protocol} cannot mark our routes`, 'use a number 5..255 that no other routing daemon uses (default 85)');
    }
    if (!Number.isInteger(table) || table <= 0 || table === RT_TABLE_LOCAL) throw new KernelSyncStateError(`routing table ${table} cannot hold learned routes`, 'use main (254) or a table id 1..2^32-1 other than local (255)');
    if (!Number.isInteger(maxPaths) || maxPaths < 1 || maxPaths > 256) throw new KernelSyncStateError(`maxPaths ${maxPaths} is out of range`, 'use 1 (no multipath) .. 256');
    this.shape = { protocol, table, metric: opts.metric };
    this.maxPaths = maxPaths;
    this.log = opts.log ?? silent;
    this.coalesceMs = opts.coalesceMs ?? 10;
    this.batchSize = opts.batchSize ?? 8192;
    this.underlay = new Underlay(protocol);
    this.core = new RouteOwner({ protocol, table, batchSize: this.batchSize, initialMs: opts.retryInitialMs ?? 100, maxMs: opts.retryMaxMs ?? 30_000 });
  }

  private get desired(): Map<string, WantedRoute> {
    return this.core.desired;
  }

  private get actual(): Map<string, Installed> {
    return this.core.actual;
  }

  /** Records best-path changes; they reach the kernel after a short coalescing window (once started). */
  setRoutes(changes: readonly KernelRouteChange[]): void {
    if (this.phase === 'stopping' || this.phase === 'stopped') return;
    let rejectedLogged = 0;
    for (const c of changes) {
      const p = normalizePrefix(c.prefix);
      let problem: string | undefined;
      if ('error' in p) {
        problem = p.error;
      } else if (c.nextHops === null) {
        this.desired.delete(p.prefix);
        this.stale.delete(p.prefix);
        this.touch(p.prefix);
      } else {
        const hops = normalizeNextHops(p.family, c.nextHops, this.maxPaths);
        if ('error' in hops) {
          problem = `${p.prefix}: ${hops.error}`;
        } else {
          this.desired.set(p.prefix, { family: p.family, nextHops: hops });
          this.stale.delete(p.prefix);
          this.touch(p.prefix);
        }
      }
      if (problem !== undefined) {
        this.counters.rejected++;
        if (rejectedLogged++ < 5) this.log.warn({ prefix: c.prefix, problem }, 'kernel sync: route change refused');
      }
    }
    this.schedule();
  }

  /** Lists our routes, starts watching route events and begins writing. Call once. */
  async start(opts: KernelStartOptions = {}): Promise<void> {
    if (this.phase !== 'new') throw new KernelSyncStateError(`start() called while ${this.phase}`, 'create a new KernelRouteSync for each run');
    this.phase = 'starting';
    const open = this.opts.monitor ?? ((cb) => sharedMonitor(this.nl.netns, ['route'], cb, { onError: (e) => this.monitorFailed(e) }));
    this.buffered = [];
    try {
      this.mon = await open((e) => this.onEvent(e));
      await this.loadActual();
    } catch (e) {
      this.mon?.close();
      this.phase = 'stopped';
      throw e;
    }
    for (const p of this.actual.keys()) if (!this.desired.has(p)) this.stale.add(p);
    if (this.phase !== 'starting') return; // stopped meanwhile
    this.phase = 'graceful';
    const wait = opts.reconcileAfterMs ?? 120_000;
    if (this.stale.size > 0) {
      this.log.info({ routes: this.stale.size, table: this.shape.table, reconcileAfterMs: wait }, 'kernel sync: routes of ours from a previous run kept until in sync');
    }
    if (wait <= 0) {
      this.markInSync();
    } else {
      this.reconcileTimer = setTimeout(() => {
        this.reconcileTimer = undefined;
        if (this.phase === 'graceful') this.log.info({ stale: this.stale.size }, 'kernel sync: reconcile time reached before in sync; removing stale routes');
        this.markInSync();
      }, wait);
      this.reconcileTimer.unref();
    }
    this.schedule(0);
  }

  /** The speaker has converged (End-of-RIB from the peers): stale routes of ours may now go. */
  markInSync(): void {
    if (this.phase !== 'graceful') return;
    this.phase = 'in-sync';
    if (this.reconcileTimer) clearTimeout(this.reconcileTimer);
    this.reconcileTimer = undefined;
    for (const p of this.stale) this.touch(p);
    this.schedule(0);
  }

  /**
   * Stops watching and writing. keepRoutes: leave our routes in the kernel (restart with graceful
   * restart); otherwise every route of ours we know is removed.
   */
  async stop(opts: KernelStopOptions = { keepRoutes: false }): Promise<void> {
    if (this.phase === 'stopped' || this.phase === 'stopping') return;
    this.phase = 'stopping';
    for (const t of [this.flushTimer, this.retryTimer, this.reconcileTimer]) if (t) clearTimeout(t);
    this.flushTimer = this.retryTimer = this.reconcileTimer = undefined;
    this.mon?.close();
    this.mon = undefined;
    await this.flushing;
    await this.resyncing;
    if (!opts.keepRoutes && this.actual.size > 0) {
      const writes: RouteWrite[] = [];
      for (const [p, r] of this.actual) writes.push({ key: p, op: 'routeDel', route: toDelete(p, r.family, this.shape) });
      const res = await this.core.write(this.nl, writes);
      const failed = res.filter((r) => r.outcome !== 'written' && r.outcome !== 'absent').length;
      this.counters.del += writes.length - failed;
      if (failed > 0) this.log.warn({ failed }, 'kernel sync: some routes of ours could not be removed at stop');
      this.actual.clear();
    }
    this.phase = 'stopped';
  }

  stats(): KernelSyncStats {
    const c = this.counters;
    return {
      desired: this.desired.size,
      installed: this.actual.size,
      pending: this.dirty.size,
      retrying: this.core.backoff.size,
      conflicts: this.conflicts.size,
      unreachable: this.unreachable.size,
      stale: this.phase === 'in-sync' ? 0 : this.stale.size,
      inSync: this.phase === 'in-sync',
      rejected: c.rejected,
      writes: { add: c.add, replace: c.replace, del: c.del, failed: c.failed },
      events: c.events,
      repaired: c.repaired,
      resyncs: c.resyncs,
    };
  }

  /** Prefixes held by a foreign route (we wanted them but did not install ours). */
  conflictingPrefixes(): string[] {
    return [...this.conflicts];
  }

  /** Wanted prefixes not installed because none of their next hops is reachable, with the reason. */
  unreachablePrefixes(): { prefix: string; reason: string }[] {
    return [...this.unreachable].map(([prefix, reason]) => ({ prefix, reason }));
  }

  /**
   * Resolves once nothing is waiting to be written except prefixes waiting for a retry.
   * For tests and orderly shutdown; never needed for correctness.
   */
  async settled(): Promise<void> {
    for (;;) {
      if (this.flushing) {
        await this.flushing;
        continue;
      }
      if (this.resyncing) {
        await this.resyncing;
        continue;
      }
      if (!this.running() || (!this.flushTimer && !this.hasReadyDirty())) return;
      await new Promise((r) => setTimeout(r, this.coalesceMs + 1));
    }
  }

  // --- internals ---

  private running(): boolean {
    return this.phase === 'graceful' || this.phase === 'in-sync';
  }

  private touch(prefix: string): void {
    this.dirty.add(prefix);
    this.core.backoff.forget(prefix);
  }

  private hasReadyDirty(): boolean {
    for (const p of this.dirty) if (this.core.backoff.ready(p)) return true;
    return false;
  }

  private schedule(delay = this.coalesceMs): void {
    if (!this.running() || this.dirty.size === 0) return;
    if (this.flushing) {
      this.again = true;
      return;
    }
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.runFlush();
    }, delay);
  }

  private runFlush(): void {
    if (!this.running()) return;
    const p = this.flush().catch((e: unknown) => {
      this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'kernel sync: write pass failed');
    });
    this.flushing = p;
    void p.then(() => {
      this.flushing = undefined;
      if (!this.running()) return;
      if (this.again || this.hasReadyDirty()) {
        this.again = false;
        this.schedule();
      } else {
        this.armRetry();
      }
    });
  }

  /** Wakes up for the earliest pending retry. */
  private armRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    let at = Infinity;
    for (const p of this.dirty) {
      const r = this.core.backoff.retryAt(p);
      if (r !== undefined && r < at) at = r;
    }
    if (at === Infinity) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.schedule(0);
    }, Math.max(0, at - Date.now()));
  }

  private async flush(): Promise<void> {
    const ops: RouteWrite[] = [];
    const meta: Pending[] = [];
    // Take the whole dirty set; prefixes still waiting for a retry go back.
    const work = this.dirty;
    this.dirty = new Set();
    for (const p of work) {
      if (!this.core.backoff.ready(p)) {
        this.dirty.add(p);
        continue;
      }
      const wanted = this.desired.get(p);
      const have = this.actual.get(p);
      const want = wanted && this.installable(p, wanted);
      if (want) {
        if (have && sameNextHops(want.nextHops, have.nextHops)) {
          this.settle(p);
          continue;
        }
        const op = have ? 'routeReplace' : 'routeAdd';
        ops.push({ key: p, op, route: toRoute(p, want, this.shape) });
        meta.push({ prefix: p, op, family: want.family, want });
      } else if (have) {
        if (this.stale.has(p) && this.phase !== 'in-sync' && !wanted) continue; // graceful restart: forwarding preserved until in sync
        ops.push({ key: p, op: 'routeDel', route: toDelete(p, have.family, this.shape) });
        meta.push({ prefix: p, op: 'routeDel', family: have.family, want: undefined });
      } else {
        this.settle(p);
      }
    }
    if (ops.length === 0) return;
    const t0 = Date.now();
    let failed = 0;
    let first: { prefix: string; op: string; error: string } | undefined;
    let newConflicts = 0;
    const onBatch = (results: readonly RouteWriteResult[], offset: number): void => {
      for (let j = 0; j < results.length; j++) {
        const m = meta[offset + j]!;
        const r = results[j]!;
        if (r.outcome === 'written' || r.outcome === 'absent') {
          this.applied(m); // 'absent': a delete that found the route already gone
          continue;
        }
        if (r.outcome === 'skipped') {
          this.dirty.add(m.prefix); // stopped mid-pass: what was not written stays dirty
          continue;
        }
        if (r.outcome === 'exists' && !this.actual.has(m.prefix)) {
          const n = (this.eexist.get(m.prefix) ?? 0) + 1;
          this.eexist.set(m.prefix, n);
          if (n >= CONFLICT_AFTER && !this.conflicts.has(m.prefix)) {
            this.conflicts.add(m.prefix);
            if (newConflicts++ < 10) {
              this.log.warn(
                { prefix: m.prefix, table: this.shape.table },
                'kernel sync: a route that is not ours holds this prefix; ours is not installed while it is there',
              );
            }
          }
        }
        failed++;
        this.counters.failed++;
        first ??= { prefix: m.prefix, op: m.op, error: r.error.message };
        this.dirty.add(m.prefix); // retried when its backoff (recorded by the core) expires
      }
    };
    await this.core.write(this.nl, ops, { proceed: () => this.running(), onBatch });
    if (newConflicts > 10) this.log.warn({ more: newConflicts - 10 }, 'kernel sync: more prefixes held by foreign routes');
    const level = failed > 0 ? 'warn' : 'debug';
    this.log[level]({ ops: ops.length, failed, ms: Date.now() - t0, ...(first ? { first } : {}) }, 'kernel sync: routes written');
  }

  private applied(m: Pending): void {
    if (m.op === 'routeDel') {
      this.counters.del++;
      this.actual.delete(m.prefix);
      this.stale.delete(m.prefix);
    } else {
      if (m.op === 'routeAdd') this.counters.add++;
      else this.counters.replace++;
      this.actual.set(m.prefix, { family: m.family, nextHops: m.want!.nextHops });
    }
    this.settle(m.prefix);
  }

  /** The prefix is as wanted: forget its failures. */
  private settle(prefix: string): void {
    this.core.backoff.succeeded(prefix);
    this.eexist.delete(prefix);
    this.conflicts.delete(prefix);
  }

  /**
   * What to install for a wanted route: its next hops with the ones that are not on-link
   * resolved, or undefined (recorded as unreachable) when none resolves.
   */
  private installable(prefix: string, want: WantedRoute): WantedRoute | undefined {
    if (want.nextHops.every((h) => h.ifindex !== undefined || this.resolution(h.gateway).kind === 'onlink')) {
      this.unreachable.delete(prefix);
      return want;
    }
    const r = resolveNextHops(want.nextHops, (gw) => this.resolution(gw));
    if (r.hops.length === 0) {
      if (!this.unreachable.has(prefix)) {
        const reason = unreachableReason(r.unreachable);
        this.unreachable.set(prefix, reason);
        if (this.unreachable.size <= 10) this.log.warn({ prefix, reason }, 'kernel sync: route not installed');
      }
      return undefined;
    }
    this.unreachable.delete(prefix);
    return { family: want.family, nextHops: uniqueNextHops(r.hops) };
  }

  private resolution(gateway: string): Resolution {
    let r = this.resolved.get(gateway);
    if (r === undefined) {
      r = this.underlay.resolve(gateway);
      this.resolved.set(gateway, r);
    }
    return r;
  }

  /** A route that is not ours changed: rewrite the prefixes whose next hops now resolve differently. */
  private reresolve(): void {
    const changed = new Set<string>();
    for (const [gw, old] of this.resolved) {
      const now = this.underlay.resolve(gw);
      if (sameResolution(old, now)) continue;
      changed.add(gw);
      this.resolved.set(gw, now);
    }
    if (changed.size === 0) return;
    let prefixes = 0;
    for (const [p, w] of this.desired) {
      if (w.nextHops.some((h) => h.ifindex === undefined && changed.has(h.gateway))) {
        this.touch(p);
        prefixes++;
      }
    }
    this.log.info({ nextHops: [...changed].slice(0, 10), prefixes }, 'kernel sync: next hops resolve differently; rewriting their routes');
  }

  /** Lists our routes (kernel-side filtered by protocol and table) and the main table for resolution, buffering events meanwhile. */
  private async loadActual(): Promise<void> {
    this.buffered ??= [];
    let next: Map<string, Installed>;
    try {
      next = await this.core.list(this.nl, (r) => ({ family: r.family, nextHops: nextHopsOf(r) }));
      this.underlay.load(await this.nl.routeList({ table: RT_TABLE_MAIN }));
      this.resolved.clear();
    } catch (e) {
      this.buffered = undefined;
      throw e;
    }
    for (const p of this.actual.keys()) if (!next.has(p)) this.dirty.add(p);
    this.core.actual = next;
    this.core.listed = true;
    for (const p of next.keys()) this.dirty.add(p);
    for (const p of this.desired.keys()) this.dirty.add(p);
    const queued = this.buffered;
    this.buffered = undefined;
    for (const e of queued) this.handleEvent(e);
  }

  private onEvent(e: NetlinkEvent): void {
    if (this.buffered) {
      this.buffered.push(e);
      return;
    }
    if (this.phase === 'stopping' || this.phase === 'stopped') return;
    this.handleEvent(e);
  }

  private handleEvent(e: NetlinkEvent): void {
    if (e.kind === 'overrun') {
      this.resync();
      return;
    }
    if (e.kind !== 'route') return;
    const r = e.route;
    // A route that is not ours in the main table: next hops may now resolve differently.
    const underlay = this.underlay.apply(e.action, r);
    if (underlay) {
      this.counters.events++;
      this.reresolve();
    }
    if (!this.core.inTable(r)) {
      this.schedule();
      return;
    }
    const p = r.dst;
    if (r.protocol !== this.shape.protocol) {
      // A foreign route: only its disappearance matters, when it held a prefix we want.
      if (e.action === 'del' && (this.conflicts.has(p) || this.eexist.has(p)) && this.desired.has(p)) {
        if (!underlay) this.counters.events++;
        this.eexist.delete(p);
        this.touch(p);
      }
      this.schedule();
      return;
    }
    this.counters.events++;
    const wanted = this.desired.get(p);
    const want = wanted && !this.unreachable.has(p) ? this.installable(p, wanted) : undefined;
    const had = this.actual.get(p);
    if (e.action === 'new') {
      this.actual.set(p, { family: r.family, nextHops: nextHopsOf(r) });
      if (!want) {
        if (this.phase === 'graceful' && !had) this.stale.add(p); // appeared by hand or from a late event: a stale candidate
        this.dirty.add(p);
      } else if (!sameNextHops(want.nextHops, nextHopsOf(r))) {
        this.counters.repaired++;
        this.dirty.add(p);
      } else {
        this.settle(p);
      }
    } else {
      const gone = nextHopsOf(r);
      if (had && gone.length > 0 && gone.length < had.nextHops.length) {
        // IPv6 ECMP: one sibling removed, the rest of the route stays.
        const left = had.nextHops.filter((h) => !gone.some((g) => g.gateway === h.gateway && (!g.ifindex || !h.ifindex || g.ifindex === h.ifindex)));
        if (left.length > 0 && left.length < had.nextHops.length) this.actual.set(p, { family: had.family, nextHops: left });
        else this.actual.delete(p);
      } else {
        this.actual.delete(p);
      }
      if (want) {
        if (had) this.counters.repaired++;
        this.dirty.add(p);
      } else {
        this.stale.delete(p);
      }
    }
    this.schedule();
  }

  private resync(): void {
    if (this.resyncing || !this.running()) return;
    this.counters.resyncs++;
    this.log.warn({}, 'kernel sync: route events were lost (monitor overrun); listing our routes again');
    this.buffered = [];
    this.resyncing = this.loadActual()
      .catch((e: unknown) => {
        this.log.error({ err: e instanceof Error ? e.message : String(e) }, 'kernel sync: listing our routes failed');
      })
      .finally(() => {
        this.resyncing = undefined;
        this.schedule(0);
      });
  }

  private monitorFailed(e: Error): void {
    this.log.error({ err: e.message }, 'kernel sync: route monitor failed; routes deleted by others will not be noticed until restart');
  }
}
