// Prometheus metrics of twill-kube-controllers (prom-client, its own registry).
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly leader: Gauge;
  readonly synced: Gauge;
  readonly objects: Gauge;
  readonly writes: Counter;
  readonly rejected: Gauge;
  readonly rejectedObject: Gauge;
  readonly lists: Gauge;
  readonly errors: Counter;
  readonly queueDepth: Gauge;
  readonly gcEndpoints: Counter;
  readonly gcReleased: Counter;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const r = [this.registry];
    this.leader = new Gauge({ name: 'twill_kube_leader', help: '1 while this replica holds the lease and writes', registers: r });
    this.synced = new Gauge({ name: 'twill_kube_synced', help: '1 once every list has been delivered and stale objects removed', registers: r });
    this.objects = new Gauge({ name: 'twill_kube_objects', help: 'Kubernetes objects in the cache', labelNames: ['resource'], registers: r });
    this.writes = new Counter({ name: 'twill_kube_datastore_writes_total', help: 'Datastore writes made for Kubernetes objects', labelNames: ['kind', 'op'], registers: r });
    this.rejected = new Gauge({ name: 'twill_kube_rejected_objects', help: 'Kubernetes objects Twill cannot express (nothing of them applied)', registers: r });
    this.rejectedObject = new Gauge({ name: 'twill_kube_rejected', help: '1 per object Twill cannot express, by the field at fault', labelNames: ['object', 'field'], registers: r });
    this.lists = new Gauge({ name: 'twill_kube_lists', help: 'Lists made per resource (the first, and one per relist after 410 Gone or an error)', labelNames: ['resource'], registers: r });
    this.errors = new Counter({ name: 'twill_kube_sync_errors_total', help: 'Reconciles that failed (retried with backoff)', labelNames: ['kind'], registers: r });
    this.queueDepth = new Gauge({ name: 'twill_kube_queue_depth', help: 'Objects waiting to be reconciled', registers: r });
    this.gcEndpoints = new Counter({ name: 'twill_kube_gc_endpoints_deleted_total', help: 'WorkloadEndpoints of gone pods deleted by garbage collection', registers: r });
    this.gcReleased = new Counter({ name: 'twill_kube_gc_addresses_released_total', help: 'IP addresses released by garbage collection', registers: r });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }
}
