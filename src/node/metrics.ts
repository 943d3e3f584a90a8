// Prometheus metrics of the policy agent (prom-client, its own registry).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApplyReport, DataplaneHealth } from '../../felix/dataplane/index.js';
import type { FelixMetrics } from '../../felix/agent.js';

export class AgentMetrics implements FelixMetrics {
  readonly registry = new Registry();
  private readonly applySeconds: Histogram;
  private readonly restoreSeconds: Histogram;
  private readonly calcSeconds: Histogram;
  private readonly inSync: Gauge;
  private readonly ready: Gauge;
  private readonly failingKeys: Gauge;
  private readonly localEndpoints: Gauge;
  private readonly programmedEndpoints: Gauge;
  private readonly statusWrites: Counter;
  private readonly chainsWritten: Counter;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const r = [this.registry];
    const buckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    this.applySeconds = new Histogram({ name: 'twill_felix_apply_seconds', help: 'Time for one dataplane apply', buckets, registers: r });
    this.restoreSeconds = new Histogram({ name: 'twill_felix_restore_seconds', help: 'Time inside iptables-restore / ipset restore per apply', buckets, registers: r });
    this.calcSeconds = new Histogram({ name: 'twill_felix_calc_render_seconds', help: 'Time to compute and render the desired state', buckets, registers: r });
    this.inSync = new Gauge({ name: 'twill_felix_in_sync', help: '1 once the datastore view is complete', registers: r });
    this.ready = new Gauge({ name: 'twill_felix_ready', help: '1 when the dataplane is programmed and nothing keeps failing', registers: r });
    this.failingKeys = new Gauge({ name: 'twill_felix_failing_keys', help: 'Kernel objects whose writes keep failing', registers: r });
    this.localEndpoints = new Gauge({ name: 'twill_felix_local_endpoints', help: 'Workload endpoints on this host', registers: r });
    this.programmedEndpoints = new Gauge({ name: 'twill_felix_programmed_endpoints', help: 'Local endpoints fully programmed', registers: r });
    this.statusWrites = new Counter({ name: 'twill_felix_status_writes_total', help: 'Endpoint statuses written to the datastore', registers: r });
    this.chainsWritten = new Counter({ name: 'twill_felix_chains_written_total', help: 'iptables chains written', registers: r });
    if (opts.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  observeApply(r: ApplyReport): void {
    this.applySeconds.observe(r.totalMs / 1000);
    this.restoreSeconds.observe(r.restoreMs / 1000);
    this.chainsWritten.inc(r.chainsWritten);
  }

  observeCalc(ms: number): void {
    this.calcSeconds.observe(ms / 1000);
  }

  setHealth(h: DataplaneHealth): void {
    this.inSync.set(h.inSync ? 1 : 0);
    this.ready.set(h.ready ? 1 : 0);
    this.failingKeys.set(h.failing.length);
  }

  addStatusWrites(n: number): void {
    this.statusWrites.inc(n);
  }

  setEndpoints(local: number, programmed: number): void {
    this.localEndpoints.set(local);
    this.programmedEndpoints.set(programmed);
  }
}
