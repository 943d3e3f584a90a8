// Prometheus metrics of the policy agent (prom-client, its own registry).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ApplyReport, DataplaneHealth } from '../../felix/dataplane/index.js';
import type { FelixMetrics } from '../../felix/agent.js';
import type { PeerState, PeerStatus } from '../../bgp/server/types.js';

const PEER_STATES: readonly PeerState[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

/**
 * BGP metrics from the speaker's peer list (call observePeers from a periodic poll):
 * twill_bgp_sessions{state}, twill_bgp_prefixes_received / _accepted / _advertised{peer},
 * twill_bgp_updates_received_total / _sent_total{peer}, and for peers with maxPrefixes
 * twill_bgp_max_prefixes_exceeded_total{peer} (limit crossings) and
 * twill_bgp_prefixes_refused_total{peer} (action stop). A peer that disappears loses its series.
 */
export class BgpMetrics {
  private readonly sessions: Gauge;
  private readonly received: Gauge;
  private readonly accepted: Gauge;
  private readonly advertised: Gauge;
  private readonly updatesIn: Counter;
  private readonly updatesOut: Counter;
  private readonly limitExceeded: Counter;
  private readonly limitRefused: Counter;
  /** Last seen totals per peer, to turn the speaker's totals into counter increments. */
  private readonly last = new Map<string, { in: number; out: number; exceeded: number; refused: number }>();

  constructor(registry: Registry) {
    const r = [registry];
    this.sessions = new Gauge({ name: 'twill_bgp_sessions', help: 'BGP sessions by FSM state', labelNames: ['state'], registers: r });
    this.received = new Gauge({ name: 'twill_bgp_prefixes_received', help: 'Prefixes in the peer\'s Adj-RIB-In (before import policy)', labelNames: ['peer'], registers: r });
    this.accepted = new Gauge({ name: 'twill_bgp_prefixes_accepted', help: 'Prefixes from the peer accepted by import policy', labelNames: ['peer'], registers: r });
    this.advertised = new Gauge({ name: 'twill_bgp_prefixes_advertised', help: 'Prefixes currently advertised to the peer', labelNames: ['peer'], registers: r });
    this.updatesIn = new Counter({ name: 'twill_bgp_updates_received_total', help: 'UPDATE messages received from the peer', labelNames: ['peer'], registers: r });
    this.updatesOut = new Counter({ name: 'twill_bgp_updates_sent_total', help: 'UPDATE messages sent to the peer', labelNames: ['peer'], registers: r });
    this.limitExceeded = new Counter({ name: 'twill_bgp_max_prefixes_exceeded_total', help: 'Times the peer crossed a maxPrefixes limit', labelNames: ['peer'], registers: r });
    this.limitRefused = new Counter({ name: 'twill_bgp_prefixes_refused_total', help: 'Prefixes refused from the peer at its maxPrefixes limit (action stop)', labelNames: ['peer'], registers: r });
    for (const st of PEER_STATES) this.sessions.set({ state: st }, 0);
  }

  observePeers(peers: readonly PeerStatus[]): void {
    const byState = new Map<string, number>(PEER_STATES.map((s) => [s, 0]));
    const seen = new Set<string>();
    for (const p of peers) {
      byState.set(p.state, (byState.get(p.state) ?? 0) + 1);
      const peer = { peer: p.address };
      seen.add(p.address);
      this.received.set(peer, p.receivedPrefixes);
      this.accepted.set(peer, p.acceptedPrefixes);
      this.advertised.set(peer, p.advertisedPrefixes);
      const prev = this.last.get(p.address) ?? { in: 0, out: 0, exceeded: 0, refused: 0 };
      const now = { in: p.messages.received.update, out: p.messages.sent.update, exceeded: p.maxPrefixes?.exceeded ?? 0, refused: p.maxPrefixes?.refused ?? 0 };
      // A count lower than last time means the speaker's counter started again: count it all.
      const grow = (c: Counter, was: number, is: number): void => c.inc(peer, is >= was ? is - was : is);
      grow(this.updatesIn, prev.in, now.in);
      grow(this.updatesOut, prev.out, now.out);
      if (p.maxPrefixes) {
        grow(this.limitExceeded, prev.exceeded, now.exceeded);
        grow(this.limitRefused, prev.refused, now.refused);
      }
      this.last.set(p.address, now);
    }
    for (const [state, n] of byState) this.sessions.set({ state }, n);
    for (const gone of [...this.last.keys()].filter((a) => !seen.has(a))) {
      for (const m of [this.received, this.accepted, this.advertised, this.updatesIn, this.updatesOut, this.limitExceeded, this.limitRefused]) m.remove({ peer: gone });
      this.last.delete(gone);
    }
  }
}

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
  private readonly badObjects: Gauge;
  private readonly deniedPackets: Counter;
  private readonly cniCalls: Counter;
  private readonly cniSeconds: Histogram;
  private readonly cniStepSeconds: Histogram;
  /** BGP sessions and prefixes, on the same registry. */
  readonly bgp: BgpMetrics;

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
    this.badObjects = new Gauge({ name: 'twill_felix_bad_objects', help: 'Datastore objects the agent cannot fully use (it fails closed on them; see /readiness badObjects)', registers: r });
    this.deniedPackets = new Counter({
      name: 'twill_policy_denied_packets_total',
      help: 'Packets policy denied and logged (FelixConfiguration logDeniedPackets; rate limited like the log)',
      labelNames: ['policy', 'direction'],
      registers: r,
    });
    this.cniCalls = new Counter({ name: 'twill_cni_calls_total', help: 'CNI calls twill-node served on its CNI socket, by command and result (ok / error)', labelNames: ['command', 'result'], registers: r });
    this.cniSeconds = new Histogram({ name: 'twill_cni_call_seconds', help: 'Time twill-node spent serving one CNI call (ADD: including the wait for its policy)', labelNames: ['command'], buckets, registers: r });
    this.cniStepSeconds = new Histogram({ name: 'twill_cni_add_step_seconds', help: 'Time from the start of a served CNI ADD until each step was done: ipam, veth and endpoint (the network profile and the endpoint write; in parallel with veth), programmed (its policy in the kernel)', labelNames: ['step'], buckets, registers: r });
    this.bgp = new BgpMetrics(this.registry);
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

  /** One denied packet read from NFLOG (src/node/denied.ts). */
  countDenied(policy: string, direction: string): void {
    this.deniedPackets.inc({ policy, direction });
  }

  /** One CNI call served (src/node's CNI server). */
  observeCniCall(command: string, ok: boolean, ms: number, steps: Record<string, number> = {}): void {
    this.cniCalls.inc({ command, result: ok ? 'ok' : 'error' });
    this.cniSeconds.observe({ command }, ms / 1000);
    if (ok) for (const [step, s] of Object.entries(steps)) this.cniStepSeconds.observe({ step }, s / 1000);
  }

  setBadObjects(n: number): void {
    this.badObjects.set(n);
  }

  setEndpoints(local: number, programmed: number): void {
    this.localEndpoints.set(local);
    this.programmedEndpoints.set(programmed);
  }
}
