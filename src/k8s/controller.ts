// The controller: informers on Namespaces, Pods and NetworkPolicies feed a keyed work queue
// whose workers reconcile one object at a time into the datastore (reconcile.ts); a datastore
// syncer keeps the WorkloadEndpoints in view, so a pod's endpoint written by twill-cni after the
// pod appeared gets its labels at once; the same syncer keeps the controller's own objects
// (knp.default.*, kns.*) in view, so a write needs no read first, and one changed behind the
// controller's back is put back. Only the lease holder runs any of it (lease.ts): a standby
// replica watches nothing and writes nothing. Started leading:
//
//   1. start the informers and the endpoint syncer; wait until every list has been delivered;
//   2. enqueue what the datastore holds under the controller's names (knp.default.*, kns.*) —
//      objects whose Kubernetes original is gone are deleted by the same reconcile;
//   3. from then on: events → queue → datastore; the IPAM garbage collection every gcIntervalMs.
//
// Losing the lease stops all of it (standby again, trying to re-acquire).
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { formatKey, keyOf, type Resource, type ResourceKey, type WorkloadEndpointResource } from '../api/types.js';
import { startSyncer } from '../datastore/syncer.js';
import type { Datastore } from '../datastore/types.js';
import { errorMessage } from '../errors.js';
import { KNP_PREFIX, KNS_PREFIX } from '../kube/index.js';
import { PodGc, type PodGcResult } from './gc.js';
import { Informer, NAMESPACES, NETWORK_POLICIES, PODS, type InformerEvent, type KubeItem } from './informers.js';
import { LeaderElector } from './lease.js';
import type { ControllerMetrics } from './metrics.js';
import { TxnBatcher } from './batch.js';
import { syncNamespace, syncNetworkPolicy, syncPod, type Current, type Outcome, type Rejection, type Writer } from './reconcile.js';
import { WorkQueue } from './queue.js';
import { KubeRest } from './rest.js';

export interface ControllerOptions {
  kubeconfig: KubeConfig;
  ds: Datastore;
  log: Logger;
  metrics: ControllerMetrics;
  /** This replica's lease identity (default: hostname_pid). */
  identity: string;
  leaseNamespace: string;
  leaseName: string;
  leaseDurationMs: number;
  /** How long a pod must be gone before its endpoint and addresses are collected. */
  gcGraceMs: number;
  /** Period of the IPAM garbage collection; 0 = never on its own (tests call gcPass). */
  gcIntervalMs: number;
  /** Reconciles in flight at once (default 32: etcd commits concurrent writes together). */
  workers?: number;
  now?: () => number;
}

export interface ControllerHealth {
  live: boolean;
  ready: boolean;
  detail: { role: 'leader' | 'standby'; holder: string; synced: boolean; queue: number; rejected: Rejection[]; lastError?: string };
}

type Key = { kind: 'np' | 'ns' | 'pod'; namespace: string; name: string };

function keyText(k: Key): string {
  return `${k.kind}/${k.namespace}/${k.name}`;
}

function parseKey(s: string): Key {
  const [kind, namespace, ...rest] = s.split('/');
  return { kind: kind as Key['kind'], namespace: namespace ?? '', name: rest.join('/') };
}

/** The queue key of the Kubernetes object a knp.default.* policy or kns.* profile stands for. */
function ownerKey(k: ResourceKey): string {
  return k.kind === 'NetworkPolicy'
    ? keyText({ kind: 'np', namespace: k.namespace ?? 'default', name: k.name.slice(KNP_PREFIX.length) })
    : keyText({ kind: 'ns', namespace: '', name: k.name.slice(KNS_PREFIX.length) });
}

/** A running sync (only while leading). */
class Sync {
  readonly informers: { ns: Informer; pods: Informer; np: Informer };
  private readonly endpoints = new Map<string, WorkloadEndpointResource>();
  /** The controller's own objects in the datastore (formatKey → resource), from the syncer. */
  private readonly owned = new Map<string, Resource>();
  readonly current: Current = (key) => this.owned.get(formatKey(key));
  /** Writes of concurrent reconciles, committed together (batch.ts). */
  readonly write: Writer;
  private readonly byPod = new Map<string, Set<string>>();
  private endpointsInSync = false;
  private endpointWaiters: (() => void)[] = [];
  private readonly syncer: { stop(): Promise<void> };
  readonly queue: WorkQueue;
  private gcTimer: NodeJS.Timeout | undefined;
  private readonly gc: PodGc;
  synced = false;
  private stopped = false;

  constructor(
    private readonly c: KubeController,
    rest: KubeRest,
    queue: WorkQueue,
  ) {
    const o = c.o;
    this.queue = queue;
    const batcher = new TxnBatcher(o.ds);
    this.write = (op) => batcher.write(op);
    const on = (kind: Key['kind']) => (ev: InformerEvent, obj: KubeItem) => {
      void ev;
      queue.add(keyText({ kind, namespace: kind === 'ns' ? '' : (obj.metadata.namespace ?? 'default'), name: obj.metadata.name }));
    };
    this.informers = {
      ns: new Informer(rest, NAMESPACES, on('ns'), o.log),
      pods: new Informer(rest, PODS, on('pod'), o.log),
      np: new Informer(rest, NETWORK_POLICIES, on('np'), o.log),
    };
    this.syncer = startSyncer(o.ds, ['WorkloadEndpoint', 'NetworkPolicy', 'Profile'], {
      onUpdates: (events) => {
        for (const e of events) {
          const key = e.type === 'set' ? keyOf(e.resource) : e.key;
          if (key.kind !== 'WorkloadEndpoint') {
            // Only what the controller owns (knp.default.*, kns.*): the write path's view.
            if (!key.name.startsWith(key.kind === 'Profile' ? KNS_PREFIX : KNP_PREFIX)) continue;
            if (e.type === 'set') this.owned.set(formatKey(key), e.resource);
            else this.owned.delete(formatKey(key));
            // Changed behind our back (or our own write arriving): reconcile it against the cluster again.
            if (this.endpointsInSync) queue.add(ownerKey(key));
            continue;
          }
          const id = `${key.namespace ?? 'default'}/${key.name}`;
          const old = this.endpoints.get(id);
          if (old?.spec.pod !== undefined) this.byPod.get(`${old.metadata.namespace ?? 'default'}/${old.spec.pod}`)?.delete(id);
          if (e.type === 'deleted') {
            this.endpoints.delete(id);
            continue;
          }
          const w = e.resource as WorkloadEndpointResource;
          this.endpoints.set(id, w);
          if (w.spec.pod === undefined) continue;
          const pk = `${w.metadata.namespace ?? 'default'}/${w.spec.pod}`;
          let set = this.byPod.get(pk);
          if (!set) this.byPod.set(pk, (set = new Set()));
          set.add(id);
          // A new or rewritten endpoint: give it its pod's labels (a no-op when they match).
          if (this.endpointsInSync) queue.add(keyText({ kind: 'pod', namespace: w.metadata.namespace ?? 'default', name: w.spec.pod }));
        }
      },
      onInSync: () => {
        this.endpointsInSync = true;
        for (const w of this.endpointWaiters.splice(0)) w();
      },
    });
    this.gc = new PodGc(o.ds, o.gcGraceMs, (ns, name) => this.informers.pods.get(name, ns) !== undefined);
  }

  podEndpoints(namespace: string, pod: string): WorkloadEndpointResource[] {
    return [...(this.byPod.get(`${namespace}/${pod}`) ?? [])].map((id) => this.endpoints.get(id)).filter((w): w is WorkloadEndpointResource => w !== undefined);
  }

  async start(): Promise<void> {
    const o = this.c.o;
    for (const i of Object.values(this.informers)) i.start();
    await Promise.all([...Object.values(this.informers).map((i) => i.whenSynced()), this.endpointsInSync ? Promise.resolve() : new Promise<void>((r) => this.endpointWaiters.push(r))]);
    if (this.stopped) return;
    // Every pod's endpoints may predate this start: reconcile them all once.
    for (const p of this.informers.pods.list()) this.queue.add(keyText({ kind: 'pod', namespace: p.metadata.namespace ?? 'default', name: p.metadata.name }));
    // Stale objects: what the datastore holds under our names; the reconcile deletes those whose original is gone.
    for (const r of this.owned.values()) this.queue.add(ownerKey(keyOf(r)));
    await this.queue.idle();
    if (this.stopped) return;
    this.synced = true;
    o.metrics.synced.set(1);
    o.log.info({ namespaces: this.informers.ns.list().length, pods: this.informers.pods.list().length, networkPolicies: this.informers.np.list().length }, 'in sync with the cluster');
    if (o.gcIntervalMs > 0) {
      const loop = (): void => {
        this.gcTimer = setTimeout(() => {
          this.gcPass(this.c.now()).then(loop, (e: unknown) => {
            o.log.warn({ err: errorMessage(e) }, 'IPAM garbage collection failed; trying again next period');
            loop();
          });
        }, o.gcIntervalMs);
      };
      loop();
    }
  }

  async gcPass(now: number): Promise<PodGcResult> {
    const o = this.c.o;
    const r = await this.gc.pass(now);
    o.metrics.gcEndpoints.inc(r.endpointsDeleted.length);
    o.metrics.gcReleased.inc(r.released.length);
    if (r.endpointsDeleted.length > 0 || r.released.length > 0) {
      o.log.info({ endpoints: r.endpointsDeleted, released: r.released.map((x) => x.ip), waiting: r.podsWaiting + r.waiting }, 'IPAM garbage collection: gone pods collected');
    }
    return r;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.endpointWaiters.splice(0)) w();
    if (this.gcTimer) clearTimeout(this.gcTimer);
    this.queue.stop();
    await Promise.all([...Object.values(this.informers).map((i) => i.stop()), this.syncer.stop()]);
    this.c.o.metrics.synced.set(0);
  }
}

export class KubeController {
  private readonly rest: KubeRest;
  private readonly elector: LeaderElector;
  private sync: Sync | undefined;
  private readonly rejections = new Map<string, Rejection>();
  private lastError: string | undefined;
  private chain: Promise<void> = Promise.resolve();
  private stopping = false;
  readonly now: () => number;

  constructor(readonly o: ControllerOptions) {
    this.rest = new KubeRest(o.kubeconfig);
    this.now = o.now ?? Date.now;
    this.elector = new LeaderElector(
      this.rest,
      { namespace: o.leaseNamespace, name: o.leaseName, identity: o.identity, durationMs: o.leaseDurationMs, now: this.now },
      o.log,
      {
        onStartedLeading: () => this.serial(() => this.lead()),
        onStoppedLeading: () => this.serial(() => this.standBy()),
      },
    );
  }

  private serial(f: () => Promise<void>): void {
    this.chain = this.chain.then(f).catch((e: unknown) => {
      this.lastError = errorMessage(e);
      this.o.log.error({ err: this.lastError }, 'controller: start/stop failed');
    });
  }

  start(): void {
    this.elector.start();
  }

  private async lead(): Promise<void> {
    if (this.stopping) return;
    this.o.metrics.leader.set(1);
    const queue = new WorkQueue((k) => this.reconcile(parseKey(k)), this.o.workers ?? 32, (key, e, attempt) => {
      this.lastError = `${key}: ${errorMessage(e)}`;
      this.o.metrics.errors.inc({ kind: parseKey(key).kind });
      this.o.log[attempt > 3 ? 'warn' : 'debug']({ key, attempt, err: errorMessage(e) }, 'reconcile failed; retrying');
    });
    const s = new Sync(this, this.rest, queue);
    this.sync = s;
    await s.start();
  }

  private async standBy(): Promise<void> {
    this.o.metrics.leader.set(0);
    const s = this.sync;
    this.sync = undefined;
    await s?.stop();
  }

  private async reconcile(k: Key): Promise<void> {
    const s = this.sync;
    if (!s) return;
    const o = this.o;
    let r: { outcome: Outcome; rejection?: Rejection };
    let kind: string;
    let id: string;
    if (k.kind === 'np') {
      kind = 'NetworkPolicy';
      id = `NetworkPolicy ${k.namespace}/${k.name}`;
      r = await syncNetworkPolicy(s.write, s.current, k.namespace, k.name, s.informers.np.get(k.name, k.namespace));
    } else if (k.kind === 'ns') {
      kind = 'Profile';
      id = `Namespace ${k.name}`;
      r = await syncNamespace(s.write, s.current, k.name, s.informers.ns.get(k.name));
    } else {
      kind = 'WorkloadEndpoint';
      id = `Pod ${k.namespace}/${k.name}`;
      r = await syncPod(s.write, k.namespace, k.name, s.informers.pods.get(k.name, k.namespace), s.podEndpoints(k.namespace, k.name));
    }
    const before = this.rejections.get(id);
    if (r.rejection) {
      if (before?.field !== r.rejection.field || before.reason !== r.rejection.reason) {
        o.log.warn({ object: r.rejection.object, field: r.rejection.field, reason: r.rejection.reason }, `${r.rejection.object}: ${r.rejection.field}: ${r.rejection.reason} — Twill cannot express it; nothing of it is applied`);
        if (before) o.metrics.rejectedObject.remove({ object: id, field: before.field });
      }
      this.rejections.set(id, r.rejection);
      o.metrics.rejectedObject.set({ object: id, field: r.rejection.field }, 1);
    } else if (before) {
      this.rejections.delete(id);
      o.metrics.rejectedObject.remove({ object: id, field: before.field });
    }
    o.metrics.rejected.set(this.rejections.size);
    if (r.outcome !== 'unchanged' && r.outcome !== 'rejected') {
      o.metrics.writes.inc({ kind, op: r.outcome });
      o.log.debug({ object: id, outcome: r.outcome }, 'datastore written');
    }
  }

  health(): ControllerHealth {
    const s = this.sync;
    if (s) {
      this.o.metrics.queueDepth.set(s.queue.depth);
      for (const i of Object.values(s.informers)) {
        this.o.metrics.objects.set({ resource: i.resource.name }, i.list().length);
        this.o.metrics.lists.set({ resource: i.resource.name }, i.stats.lists);
      }
    }
    const leader = this.elector.isLeader;
    const synced = s?.synced ?? false;
    return {
      live: true,
      // A standby replica is ready (it is doing its job: waiting); the leader once in sync.
      ready: !leader || synced,
      detail: {
        role: leader ? 'leader' : 'standby',
        holder: this.elector.holder,
        synced,
        queue: s?.queue.depth ?? 0,
        rejected: [...this.rejections.values()],
        ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
      },
    };
  }

  get isLeader(): boolean {
    return this.elector.isLeader;
  }

  /** Leading and in sync, with nothing queued (tests wait for this). */
  async settled(): Promise<boolean> {
    await this.chain;
    const s = this.sync;
    if (!s?.synced) return false;
    await s.queue.idle();
    return true;
  }

  /** One IPAM garbage-collection pass now (leader in sync only; tests drive the clock). */
  async gcPass(now: number): Promise<PodGcResult | undefined> {
    const s = this.sync;
    if (!s?.synced) return undefined;
    return s.gcPass(now);
  }

  /** Stops syncing and releases the lease (SIGTERM). */
  async stop(): Promise<void> {
    // Stop writing first, then release: a standby may start the moment the lease is free.
    this.stopping = true;
    await this.elector.stop(async () => {
      await this.standBy(); // unblocks a start still waiting for its lists
      await this.chain;
      await this.standBy();
    });
  }
}
