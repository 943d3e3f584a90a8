// The policy agent's side of the benchmarks (`felix` and `node`): a cluster of endpoints and
// policies in an in-memory datastore, a FelixAgent programming the real kernel of the namespace
// this process runs in (as twill-node does), and one measured label change.
//
//   startPolicyAgent(a) → PolicyAgentBench   (cold start: every local endpoint programmed)
//   startBenchAgent({nl, ds, local})         (the agent alone, on a datastore of the caller's; k8s uses it)
//   labelChange(b, k)   → { totalMs, restoreMs } (one change written → programmed in the kernel)
//   rerunInNetns(ns, bench, argv)             (runs `npm run bench -- BENCH --inner ARGV` inside ns)
//
// The cluster (./felix-cluster.ts, shared with the explain benchmark): `endpoints` endpoints in
// 10 namespaces (the first `local` on this host, each with its own veth), `policies` policies.
import { execFileSync, spawnSync } from 'node:child_process';
import type { WorkloadEndpointResource } from '../../src/api/types.js';
import { openDatastore } from '../../src/datastore/index.js';
import type { Datastore } from '../../src/datastore/types.js';
import { detectBackend, ipset, iptables } from '../../src/iptables/index.js';
import { monitor, openNetlink, type NetlinkHandle } from '../../src/netlink/index.js';
import { CalcGraph } from '../../felix/calc/index.js';
import { RuleRenderer, renderAll } from '../../felix/rules/index.js';
import { Dataplane, silentLogger, type ApplyReport } from '../../felix/dataplane/index.js';
import { FelixAgent, type FelixAgentOptions } from '../../felix/agent.js';
import { APPS, endpoint, GROUPS, loadCluster, NAMESPACES, NODE, type ClusterSize } from './felix-cluster.js';

export type { ClusterSize } from './felix-cluster.js';
export { parseCounts, pct } from './stats.js';

/** The host the benchmarks program (local endpoints have spec.node = BENCH_NODE). */
export const BENCH_NODE = NODE;

/** BENCH_DEBUG=1: warnings and errors on stderr, plus per-update detail. */
export const benchDebug = !!process.env.BENCH_DEBUG;

const debugLog = {
  debug: () => undefined,
  info: () => undefined,
  warn: (o: object, m?: string) => process.stderr.write(`WARN ${m ?? ''} ${JSON.stringify(o).slice(0, 400)}\n`),
  error: (o: object, m?: string) => process.stderr.write(`ERROR ${m ?? ''} ${JSON.stringify(o).slice(0, 400)}\n`),
};

export interface PolicyAgentBench {
  size: ClusterSize;
  agent: FelixAgent;
  ds: Datastore;
  /** Every dataplane apply since the start, in order. */
  reports: ApplyReport[];
  /** Agent start → every local endpoint programmed (s). */
  coldS: number;
  /** iptables backend in use (legacy / nft). */
  backend: string;
  stop(): Promise<void>;
}

/**
 * Makes the local veths, loads the cluster into a memory datastore and starts a FelixAgent on the
 * real kernel of this process's namespace, with twill-node's production dataplane settings (one
 * netlink monitor for links and routes). Resolves once every local endpoint is programmed.
 */
export async function startPolicyAgent(size: ClusterSize): Promise<PolicyAgentBench> {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const nl: NetlinkHandle = await openNetlink();
  // The local workloads' host-side veths (the peers stay in the same namespace, unused).
  for (let i = 0; i < size.local; i++) {
    const name = endpoint(i, size.local).spec.interfaceName;
    await nl.vethAdd({ name, peerName: `pb${i.toString(16).padStart(5, '0')}` });
    await nl.linkSetUp(name, true);
  }
  const ds = await openDatastore('memory:');
  await loadCluster(ds, size);

  try {
    const a = await startBenchAgent({ nl, ds, local: size.local });
    return { size, agent: a.agent, ds, reports: a.reports, coldS: a.coldS, backend: a.backend, stop: async () => {
      await a.stop();
      nl.close();
      await ds.close();
    } };
  } catch (e) {
    nl.close();
    await ds.close();
    throw e;
  }
}

export interface BenchAgent {
  agent: FelixAgent;
  reports: ApplyReport[];
  coldS: number;
  backend: string;
  /** Stops the agent (the netlink handle and the datastore stay the caller's). */
  stop(): Promise<void>;
}

/**
 * A FelixAgent for NODE on the real kernel of this process's namespace, with twill-node's
 * production dataplane settings (one netlink monitor for links and routes), reading `ds` (or
 * `subscribe`). Resolves once `local` endpoints are programmed. Also used by the k8s benchmark.
 */
export async function startBenchAgent(o: { nl: NetlinkHandle; ds: Datastore; local: number; subscribe?: FelixAgentOptions['subscribe'] }): Promise<BenchAgent> {
  const { nl, ds } = o;
  const backend = (await detectBackend()).backend;
  const reports: ApplyReport[] = [];
  const dataplane = new Dataplane({
    netlink: nl,
    iptables4: iptables({ family: 4, backend }),
    iptables6: iptables({ family: 6, backend }),
    ipset: ipset(),
    monitor: (cb) => monitor({ current: true }, ['link', 'route'], cb),
    ...(benchDebug ? { log: debugLog } : {}),
    // Production settings: read-back 2 s after writes (in the background), full refresh per FelixConfiguration (90 s).
  });
  dataplane.onApplied((r) => reports.push(r));
  const agent = new FelixAgent({
    nodeName: NODE,
    ds,
    calc: new CalcGraph({ nodeName: NODE }),
    renderer: new RuleRenderer(),
    renderAll: (s) => renderAll(s),
    dataplane,
    log: benchDebug ? debugLog : silentLogger,
    writeStatus: false,
    ...(o.subscribe ? { subscribe: o.subscribe } : {}),
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await agent.stop().catch(() => undefined);
  };
  try {
    const t0 = performance.now();
    await agent.start();
    await agent.whenReceived(1);
    for (;;) {
      await agent.whenProgrammed(agent.generation);
      if (dataplane.programmedEndpoints().size >= o.local) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    return { agent, reports, coldS: (performance.now() - t0) / 1000, backend, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

export interface ChangeTiming {
  /** Written to the datastore → programmed in the kernel (ms). */
  totalMs: number;
  /** Of which inside iptables-restore / ipset restore (ms). */
  restoreMs: number;
}

/**
 * The k-th label change of a local endpoint, timed from the datastore write until the kernel is
 * programmed. Even k moves the endpoint between policies (its app label, staying in its
 * namespace so still selected by others); odd k moves it between rule ipsets (its group).
 */
export async function labelChange(b: PolicyAgentBench, k: number): Promise<ChangeTiming> {
  const { ds, agent, reports } = b;
  const i = (k * 7) % b.size.local;
  const cur = await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: `ns${i % NAMESPACES}`, name: `wep-${i}` });
  if (!cur) throw new Error(`benchmark endpoint wep-${i} is missing from the datastore`);
  const labels = { ...cur.metadata.labels };
  if (k % 2 === 0) labels.app = labels.app === `app-${i % APPS}` ? `app-${(i + NAMESPACES) % APPS}` : `app-${i % APPS}`;
  else labels.group = labels.group === `g${i % GROUPS}` ? `g${(i + 1) % GROUPS}` : `g${i % GROUPS}`;
  const before = reports.length;
  const g0 = agent.generation;
  const s = performance.now();
  await ds.update({ ...cur, metadata: { ...cur.metadata, labels } });
  await agent.whenReceived(g0 + 1);
  const recv = performance.now() - s;
  await agent.whenProgrammed(agent.generation);
  const totalMs = performance.now() - s;
  const mine = reports.slice(before);
  if (benchDebug && (k < 10 || totalMs > 300)) {
    const rs = mine.map((r) => `apply ${r.totalMs.toFixed(1)} (restore ${r.restoreMs.toFixed(1)}, chains ${r.chainsWritten}, sets ${r.setsWritten})`);
    process.stderr.write(`update ${k}: ${totalMs.toFixed(1)} ms: received ${recv.toFixed(1)}, calc+render ${agent.lastFlushMs.toFixed(1)}, ${rs.join('; ')}\n`);
  }
  return { totalMs, restoreMs: mine.reduce((t, r) => t + r.restoreMs, 0) };
}

/**
 * Runs this benchmark again inside network namespace `ns` (`ip netns exec`), with `--inner` and
 * the same arguments: like twill-node, the measured agent lives in the host namespace itself and
 * its iptables / ipset commands need no nsenter.
 */
export function rerunInNetns(ns: string, bench: string, argv: readonly string[]): void {
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, process.argv[1]!, bench, '--inner', ...argv], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`the ${bench} benchmark failed inside namespace ${ns} (exit ${r.status ?? r.signal})`);
}
