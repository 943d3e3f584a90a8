// The policy agent's main loop: syncer → calc → rules → dataplane, and endpoint status back to
// the datastore. No process globals (signals, exit): it can run on the main thread or in a
// worker_thread next to the BGP speaker.
import { formatKey, type Kind, type WorkloadEndpointResource, type WorkloadEndpointSpec } from '../src/api/types.js';
import { workloadSpecHash } from '../src/api/spec-hash.js';
import { startSyncer, type Datastore, type SyncEvent, type SyncerCallbacks, type SyncerStatus } from '../src/datastore/index.js';
import { errorMessage } from '../src/errors.js';
import type { CalcProblem, DesiredState, DesiredStateDelta, EffectiveConfig, EndpointState, KeyedDelta, RouteState } from './calc/types.js';
import type { RenderDelta, Rendered } from './rules/types.js';
import { DataplaneWriteError, type ApplyReport, type Dataplane, type DataplaneHealth, type DataplaneState } from './dataplane/index.js';
import type { DataplaneLogger } from './dataplane/log.js';
import { StatusWriter } from './status-writer.js';

/** Where the agent reports its figures (src/node's Prometheus metrics fit). */
export interface FelixMetrics {
  observeCalc(ms: number): void;
  observeApply(r: ApplyReport): void;
  setHealth(h: DataplaneHealth): void;
  setEndpoints(local: number, programmed: number): void;
  addStatusWrites(n: number): void;
  /** How many distinct datastore objects calc could not (fully) use (twill_felix_bad_objects). */
  setBadObjects?(n: number): void;
}

/** The kinds the policy agent watches. */
export const FELIX_KINDS: Kind[] = [
  'FelixConfiguration',
  'IPPool',
  'Profile',
  'NetworkPolicy',
  'GlobalNetworkPolicy',
  'NetworkSet',
  'GlobalNetworkSet',
  'WorkloadEndpoint',
  'IPAMBlock',
  'BlockAffinity',
];

/** What the agent needs from felix/calc (CalcGraph fits). */
export interface CalcLike {
  apply(events: readonly SyncEvent[]): void;
  flush(): DesiredStateDelta;
  /** Used once, for the fail-closed skeleton (an empty state with the default config). */
  snapshot(): DesiredState;
  /** Objects calc could not (fully) use, by key; reported in the status, logs and metrics. */
  problems?(): CalcProblem[];
}

function applyKeyed<T>(m: Map<string, T>, d: KeyedDelta<T>): void {
  for (const [k, v] of d.upserts) m.set(k, v);
  for (const k of d.deletes) m.delete(k);
}

/** What the agent needs from felix/rules (RuleRenderer fits): incremental, full picture on demand. */
export interface RendererLike {
  /** Applies a calc delta; returns what changed in the rendered output. */
  update(delta: DesiredStateDelta): RenderDelta;
  /** Re-renders from a whole state (after a failed update, the deltas can no longer be trusted). */
  load(state: DesiredState): unknown;
  current(): Rendered;
}

export interface FelixAgentOptions {
  nodeName: string;
  ds: Datastore;
  calc: CalcLike;
  renderer: RendererLike;
  /** Renders a whole state with a fresh renderer (for the fail-closed skeleton). */
  renderAll: (state: DesiredState) => Rendered;
  dataplane: Dataplane;
  log: DataplaneLogger;
  metrics?: FelixMetrics;
  /** Write endpoint status back (default true). */
  writeStatus?: boolean;
  /**
   * Where the datastore events come from. Default: a syncer of its own over FELIX_KINDS. twill-node
   * passes a share of its one syncer (src/datastore startSharedSyncer), which feeds the BGP side too.
   */
  subscribe?: (cb: SyncerCallbacks) => { stop(): Promise<void> };
  /**
   * Called with the effective configuration whenever it changes, before the dataplane is asked
   * to apply it (twill-node binds the denied-packet NFLOG group here, so the reader is there
   * before the first NFLOG rule is).
   */
  onConfig?: (config: EffectiveConfig) => void;
}

export interface FelixAgentStatus {
  inSync: boolean;
  localEndpoints: number;
  programmedEndpoints: number;
  dataplane: DataplaneHealth;
  lastApply: ApplyReport | undefined;
  /** The datastore syncer's last status; 'error' means the agent no longer sees changes. */
  syncer: { status: SyncerStatus; detail: string | undefined };
  /** Objects calc could not (fully) use, by key (felix fails closed on them). */
  badObjects: CalcProblem[];
}

/** An in-process wait for one endpoint spec to be programmed (twill-node's CNI server uses it). */
interface EndpointWaiter {
  key: string;
  specHash: string;
  resolve(): void;
}

export class FelixAgent {
  /**
   * Local endpoints' specs by namespace/name, with the datastore batch (generation) that brought
   * each: a spec counts as programmed once an apply of that generation or later wrote all policy
   * (policyConverged) and its interface's routes and sysctls are in.
   */
  private readonly localSpecs = new Map<string, { spec: WorkloadEndpointSpec; gen: number; hash: string }>();
  private readonly endpointWaiters = new Set<EndpointWaiter>();
  /** The last datastore batch whose policy (ipsets, iptables) an apply fully wrote. */
  private policyGeneration = -1;
  private syncer: { stop(): Promise<void> } | undefined;
  private inSync = false;
  private flushScheduled = false;
  private readonly status: StatusWriter;
  private lastState: DataplaneState | undefined;
  /** calc's output, kept from its deltas (cheaper than a snapshot per flush). */
  private config: EffectiveConfig | undefined;
  private readonly endpoints = new Map<string, EndpointState>();
  private readonly routes = new Map<string, RouteState>();
  private reload = false;
  /** The config last handed to onConfig. */
  private announcedConfig: EffectiveConfig | undefined;
  /**
   * The next flush hands the dataplane the whole rendered state (the first one, replacing the
   * skeleton, and after a reload); the others only the renderer's delta.
   */
  private wholeNext = true;
  private lastDataplaneState: DataplaneState | undefined;
  /** Bumps on every datastore batch; the bench waits for a generation to be programmed. */
  generation = 0;
  /** ms the last flush spent in calc + render. */
  lastFlushMs = 0;
  programmedGeneration = -1;
  private readonly waiters: { gen: number; resolve: () => void }[] = [];
  private syncerStatus: { status: SyncerStatus; detail: string | undefined } = { status: 'connecting', detail: undefined };
  private badObjects: CalcProblem[] = [];
  /** Stored values the syncer could not read (src/datastore CorruptValue), as problems. */
  private corrupt: CalcProblem[] = [];
  private reportedProblems = new Set<string>();

  constructor(private readonly o: FelixAgentOptions) {
    this.status = new StatusWriter(o.ds, o.nodeName, o.log);
    o.dataplane.onApplied((r) => this.afterApply(r));
  }

  /**
   * Reads the kernel, installs the fail-closed skeleton where nothing of ours exists yet (hooks and
   * dispatch chains that drop every workload interface), then starts the datastore sync.
   */
  async start(): Promise<void> {
    const dp = this.o.dataplane;
    await dp.start();
    const empty = this.o.calc.snapshot();
    dp.setDesired({ state: empty, rendered: this.o.renderAll(empty) });
    await dp.applyNow();
    this.o.log.info({ node: this.o.nodeName }, 'fail-closed skeleton in place; syncing with the datastore');
    const subscribe = this.o.subscribe ?? ((cb: SyncerCallbacks) => startSyncer(this.o.ds, FELIX_KINDS, cb));
    this.syncer = subscribe({
      onUpdates: (events) => this.onUpdates(events),
      onInSync: () => {
        if (!this.inSync) this.o.log.info({}, 'in sync with the datastore');
        this.inSync = true;
        this.scheduleFlush();
      },
      onStatus: (s, detail) => this.onSyncerStatus(s, detail),
      onCorrupt: (values) => {
        this.corrupt = values.map((v) => ({
          object: formatKey(v.key),
          message: `${v.message} (skipped; its last good version, if any, stays in force)`,
        }));
        this.noteProblems();
      },
    });
  }

  private onSyncerStatus(status: SyncerStatus, detail: string | undefined): void {
    const was = this.syncerStatus.status;
    this.syncerStatus = { status, detail };
    if (status === 'error') {
      this.o.log.error({ syncer: status, detail }, 'datastore syncer failing: agent NOT ready; the kernel keeps its last programmed state');
    } else if (was === 'error') {
      this.o.log.warn({ syncer: status, detail }, 'datastore syncer recovered');
    } else {
      this.o.log.info({ syncer: status, detail }, 'datastore syncer status');
    }
  }

  /** Logs calc's problems that are new (warn) or gone (info), and publishes the count. */
  private noteProblems(): void {
    const list = [...this.corrupt, ...(this.o.calc.problems?.() ?? [])];
    const now = new Set(list.map((p) => `${p.object}: ${p.message}`));
    for (const p of list) {
      if (!this.reportedProblems.has(`${p.object}: ${p.message}`)) this.o.log.warn({ object: p.object, problem: p.message }, 'datastore object cannot be fully used');
    }
    for (const t of this.reportedProblems) if (!now.has(t)) this.o.log.info({ problem: t }, 'datastore object problem resolved');
    this.reportedProblems = now;
    this.badObjects = list;
    this.o.metrics?.setBadObjects?.(new Set(list.map((p) => p.object)).size);
  }

  /** Stops syncing and timers. The kernel is left exactly as programmed. */
  async stop(): Promise<void> {
    await this.syncer?.stop();
    await this.o.dataplane.stop();
  }

  private readonly genWaiters: { gen: number; resolve: () => void }[] = [];

  /** Resolves once the agent has received at least `gen` batches of datastore updates. */
  whenReceived(gen: number): Promise<void> {
    if (this.generation >= gen) return Promise.resolve();
    return new Promise((resolve) => this.genWaiters.push({ gen, resolve }));
  }

  /** Resolves once everything received so far is programmed in the kernel. */
  whenProgrammed(gen = this.generation): Promise<void> {
    if (this.programmedGeneration >= gen) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ gen, resolve }));
  }

  snapshotStatus(): FelixAgentStatus {
    const programmed = this.o.dataplane.programmedEndpoints();
    return {
      inSync: this.inSync,
      localEndpoints: this.lastState?.endpoints.size ?? 0,
      programmedEndpoints: programmed.size,
      dataplane: this.o.dataplane.health(),
      lastApply: this.o.dataplane.lastReport,
      syncer: { ...this.syncerStatus },
      badObjects: [...this.badObjects],
    };
  }

  /**
   * Resolves once the endpoint namespace/name with exactly this spec (workloadSpecHash) has its
   * policy, routes and sysctls in the kernel — what the status write-back then reports, known here
   * without the datastore round trip. Never rejects; `signal` (e.g. a timeout) drops the wait.
   */
  whenEndpointProgrammed(namespace: string, name: string, specHash: string, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const w: EndpointWaiter = { key: `${namespace}/${name}`, specHash, resolve };
      if (this.endpointProgrammed(w, this.o.dataplane.programmedEndpoints())) return resolve();
      this.endpointWaiters.add(w);
      signal?.addEventListener('abort', () => this.endpointWaiters.delete(w), { once: true });
    });
  }

  private endpointProgrammed(w: EndpointWaiter, programmed: ReadonlySet<string>): boolean {
    const rec = this.localSpecs.get(w.key);
    if (!rec || rec.gen > this.policyGeneration) return false;
    return rec.hash === w.specHash && programmed.has(rec.spec.interfaceName);
  }

  private onUpdates(events: SyncEvent[]): void {
    for (const e of events) {
      if (e.type === 'set' && e.resource.kind === 'WorkloadEndpoint') {
        const wep = e.resource as WorkloadEndpointResource;
        this.status.noteSet(wep);
        const key = `${wep.metadata.namespace ?? 'default'}/${wep.metadata.name}`;
        if (wep.spec.node === this.o.nodeName) {
          // A write of the same spec (the status write-back) keeps the generation that brought it.
          const hash = workloadSpecHash(wep.spec);
          if (this.localSpecs.get(key)?.hash !== hash) this.localSpecs.set(key, { spec: wep.spec, gen: this.generation + 1, hash });
        } else this.localSpecs.delete(key);
      } else if (e.type === 'deleted' && e.key.kind === 'WorkloadEndpoint') {
        this.status.noteDeleted(e.key);
        this.localSpecs.delete(`${e.key.namespace ?? 'default'}/${e.key.name}`);
      }
    }
    try {
      this.o.calc.apply(events);
    } catch (e) {
      // calc isolates each object; this is a bug in calc itself: rebuild from a whole snapshot.
      this.o.log.error({ err: errorMessage(e) }, 'calculation failed on a datastore update');
      this.reload = true;
    }
    this.generation++;
    for (let i = this.genWaiters.length - 1; i >= 0; i--) {
      const w = this.genWaiters[i]!;
      if (w.gen <= this.generation) {
        this.genWaiters.splice(i, 1);
        w.resolve();
      }
    }
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (!this.inSync) return; // before the first in-sync we know too little: keep the skeleton
    const t0 = performance.now();
    let state: DataplaneState | undefined;
    let rendered: Rendered | undefined;
    let renderDelta: RenderDelta | undefined;
    try {
      const delta = this.o.calc.flush();
      this.noteProblems();
      let endpointsChanged = false;
      let routesChanged = false;
      let configChanged = false;
      if (this.reload) {
        const full = this.o.calc.snapshot();
        this.o.renderer.load(full);
        this.config = full.config;
        this.endpoints.clear();
        this.routes.clear();
        for (const [k, v] of full.endpoints) this.endpoints.set(k, v);
        for (const [k, v] of full.routes) this.routes.set(k, v);
        this.reload = false;
        this.wholeNext = true;
      } else {
        if (delta.config) {
          this.config = delta.config;
          configChanged = true;
        }
        endpointsChanged = delta.endpoints.upserts.size > 0 || delta.endpoints.deletes.length > 0;
        routesChanged = delta.routes.upserts.size > 0 || delta.routes.deletes.length > 0;
        applyKeyed(this.endpoints, delta.endpoints);
        applyKeyed(this.routes, delta.routes);
        renderDelta = this.o.renderer.update(delta);
      }
      const last = this.lastDataplaneState;
      if (this.wholeNext || last === undefined) {
        rendered = this.o.renderer.current();
        state = { config: this.config ?? this.o.calc.snapshot().config, endpoints: new Map(this.endpoints), routes: new Map(this.routes) };
      } else if (endpointsChanged || routesChanged || configChanged) {
        // The dataplane keeps the maps it is given: hand it copies, new ones only for what changed.
        state = {
          config: this.config ?? last.config,
          endpoints: endpointsChanged ? new Map(this.endpoints) : last.endpoints,
          routes: routesChanged ? new Map(this.routes) : last.routes,
        };
      }
    } catch (e) {
      this.o.log.error({ err: errorMessage(e) }, 'rendering the desired state failed; the kernel keeps the previous state');
      this.reload = true;
      return;
    }
    if (this.config !== undefined && this.config !== this.announcedConfig) {
      this.announcedConfig = this.config;
      try {
        this.o.onConfig?.(this.config);
      } catch (e) {
        this.o.log.error({ err: errorMessage(e) }, 'a configuration listener failed');
      }
    }
    this.lastFlushMs = performance.now() - t0;
    this.o.metrics?.observeCalc(this.lastFlushMs);
    if (rendered !== undefined && state !== undefined) {
      this.o.dataplane.setDesired({ state, rendered, tag: this.generation });
      this.wholeNext = false;
    } else {
      this.o.dataplane.updateDesired({ ...(state ? { state } : {}), delta: renderDelta!, tag: this.generation });
    }
    if (state !== undefined) this.lastDataplaneState = state;
    this.lastState = this.lastDataplaneState;
    this.o.dataplane.markInSync();
    this.o.dataplane.requestApply();
  }

  private afterApply(r: ApplyReport): void {
    this.o.metrics?.observeApply(r);
    const h = this.o.dataplane.health();
    this.o.metrics?.setHealth(h);
    if (h.failing.length > 0) {
      for (const f of h.failing) {
        const err = new DataplaneWriteError(f.key, f.attempts, f.error);
        this.o.log.error({ key: f.key, attempts: f.attempts, code: err.code, err: err.describe() }, 'dataplane write keeps failing: agent NOT ready');
      }
    }
    if (!this.inSync || !this.lastState) return;
    if (r.converged && r.tag !== undefined && r.tag > this.programmedGeneration) {
      this.programmedGeneration = r.tag;
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        const w = this.waiters[i]!;
        if (w.gen <= this.programmedGeneration) {
          this.waiters.splice(i, 1);
          w.resolve();
        }
      }
    }
    if (r.policyConverged && r.tag !== undefined && r.tag > this.policyGeneration) this.policyGeneration = r.tag;
    const programmed = this.o.dataplane.programmedEndpoints();
    for (const w of this.endpointWaiters) {
      if (this.endpointProgrammed(w, programmed)) {
        this.endpointWaiters.delete(w);
        w.resolve();
      }
    }
    this.o.metrics?.setEndpoints(this.lastState.endpoints.size, programmed.size);
    if (this.o.writeStatus !== false) {
      const before = this.status.writes;
      void this.status.update(programmed).then(() => this.o.metrics?.addStatusWrites(this.status.writes - before));
    }
  }
}
