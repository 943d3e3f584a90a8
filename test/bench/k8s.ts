// `npm run bench -- k8s [--policies N] [--namespaces N] [--local N] [--changes N]` (root)
//
// twill-kube-controllers (the built program, its own process) following a Kubernetes API — the
// recorded-API TEST DOUBLE of test/support/kube-api-double.ts, there being no kube-apiserver
// here — into a real etcd, and a FelixAgent programming the real kernel of a network namespace
// made here (the felix benchmark's harness, ./felix-setup.ts) with 250 local pods, each with its
// own veth. Prints
//
//   k8s policies=2000 namespaces=200 local=250 apply_to_programmed_s=6.06 controller_s=6.21 label_p50_ms=184 label_p99_ms=670
//
// apply_to_programmed_s: the NetworkPolicies appear in the API (one burst) → the agent has
// received every converted policy and the kernel is programmed. controller_s: the same burst →
// the last converted policy is in etcd, as seen by polling etcd every 20 ms (so it can read a
// little later than apply_to_programmed_s). label_*: one pod label change in the API → the
// controller relabels its WorkloadEndpoint → the kernel is programmed (`changes` changes, each
// moving a pod between the apps policies select).
import { spawn, spawnSync, execFileSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WorkloadEndpointResource } from '../../src/api/types.js';
import { openDatastore } from '../../src/datastore/index.js';
import { startSyncer, type SyncEvent, type SyncerCallbacks } from '../../src/datastore/syncer.js';
import type { Datastore, TxnOp } from '../../src/datastore/types.js';
import { openNetlink } from '../../src/netlink/index.js';
import { FELIX_KINDS } from '../../felix/agent.js';
import { KubeApiDouble, recorded } from '../support/kube-api-double.js';
import { BENCH_NODE, parseCounts, pct, rerunInNetns, startBenchAgent } from './felix-setup.js';
import { freePort, startBenchEtcd } from './ipam-etcd.js';

const DEFAULTS = { policies: 2000, namespaces: 200, local: 250, changes: 100 };
const APPS = 20;
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../../src/k8s/main.js');

export default async function k8sBench(argv: string[]): Promise<void> {
  if (argv.includes('--inner')) return inner(parseCounts(argv, DEFAULTS));
  if (process.getuid?.() !== 0) throw new Error('the k8s benchmark needs root (network namespace, iptables, ipset)');
  const ns = `twbk${process.pid.toString(36)}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    rerunInNetns(ns, 'k8s', argv);
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
}

async function until(what: string, f: () => Promise<boolean> | boolean, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await Promise.resolve().then(f).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`k8s bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const podName = (i: number): string => `p${i}`;
const podNs = (i: number, a: typeof DEFAULTS): string => `ns${i % a.namespaces}`;

function endpoint(i: number, a: typeof DEFAULTS): WorkloadEndpointResource {
  const ns = podNs(i, a);
  return {
    apiVersion: 'twill.io/v1',
    kind: 'WorkloadEndpoint',
    metadata: { name: `${BENCH_NODE}-k8s-${podName(i)}-eth0`, namespace: ns, labels: {} },
    spec: {
      node: BENCH_NODE,
      orchestrator: 'k8s',
      workload: podName(i),
      pod: podName(i),
      endpoint: 'eth0',
      containerID: `c${i}`,
      interfaceName: `twk${i.toString(16).padStart(5, '0')}`,
      ipNetworks: [`10.80.${i >> 8}.${i & 255}/32`],
      profiles: [`kns.${ns}`],
    },
  };
}

/** The j-th policy of namespace n: selects one app; ingress from web pods of some team's namespaces, a CIDR and ports; some with DNS egress. */
function policySpec(n: number, j: number): Record<string, unknown> {
  const spec: Record<string, unknown> = {
    podSelector: { matchLabels: { app: `app-${(n + j) % APPS}` } },
    ingress: [
      {
        from: [{ namespaceSelector: { matchLabels: { team: `team-${j % 10}` } }, podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['web', 'api'] }] } }, { ipBlock: { cidr: '198.18.0.0/16', except: ['198.18.1.0/24'] } }],
        ports: [{ port: 80 + (j % 5) }, { port: 'serve-80-tcp' }, { port: 8000, endPort: 8100 }],
      },
    ],
  };
  if (j % 3 === 0) {
    spec.policyTypes = ['Ingress', 'Egress'];
    spec.egress = [{ to: [{ namespaceSelector: {} }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53 }] }];
  }
  return spec;
}

/** Felix's syncer, with a hook that sees each batch after the agent took it (its generation already counts it). */
function observedSyncer(ds: Datastore, onBatch: (events: SyncEvent[]) => void): (cb: SyncerCallbacks) => { stop(): Promise<void> } {
  return (cb) =>
    startSyncer(ds, FELIX_KINDS, {
      ...cb,
      onUpdates: (events) => {
        cb.onUpdates(events);
        onBatch(events);
      },
    });
}

async function inner(a: typeof DEFAULTS): Promise<void> {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const etcd = await startBenchEtcd();
  const api = await KubeApiDouble.start();
  const ds = await openDatastore(etcd.url);
  const nl = await openNetlink();
  let ctl: ChildProcess | undefined;
  let agentStop: (() => Promise<void>) | undefined;
  try {
    // The cluster before the policies: namespaces, pods (labels), and the endpoints twill-cni wrote for the local pods.
    for (let n = 0; n < a.namespaces; n++) api.apply(recorded.namespace(`ns${n}`, { team: `team-${n % 10}`, env: n % 2 ? 'prod' : 'dev' }));
    for (let i = 0; i < a.local; i++) {
      api.apply(recorded.pod(podNs(i, a), podName(i), { app: `app-${i % APPS}`, tier: ['web', 'api', 'db'][i % 3]!, pod: podName(i) }));
      const w = endpoint(i, a);
      await nl.vethAdd({ name: w.spec.interfaceName, peerName: `pk${i.toString(16).padStart(5, '0')}` });
      await nl.linkSetUp(w.spec.interfaceName, true);
    }
    const weps = Array.from({ length: a.local }, (_, i) => endpoint(i, a));
    for (let i = 0; i < weps.length; i += 100) await ds.txn(weps.slice(i, i + 100).map((resource): TxnOp => ({ op: 'create', resource })));

    const port = await freePort();
    ctl = spawn(process.execPath, [MAIN, '--kubeconfig', api.kubeconfig(), '--datastore', etcd.url, '--health-port', String(port), '--gc-interval-seconds', '0', '--log-level', 'error', '--identity', 'bench'], { stdio: ['ignore', 'ignore', 'inherit'] });
    await until('the controller in sync', async () => ((await (await fetch(`http://127.0.0.1:${port}/health`)).json()) as { synced?: boolean }).synced === true, 120_000);

    // Felix, with a hook on what it receives.
    let knpSeen = new Set<string>();
    let hook: ((events: SyncEvent[]) => void) | undefined;
    const onBatch = (events: SyncEvent[]): void => {
      for (const e of events) if (e.type === 'set' && e.resource.kind === 'NetworkPolicy' && e.resource.metadata.name.startsWith('knp.default.')) knpSeen.add(`${e.resource.metadata.namespace}/${e.resource.metadata.name}`);
      hook?.(events);
    };
    const b = await startBenchAgent({ nl, ds, local: a.local, subscribe: observedSyncer(ds, onBatch) });
    agentStop = b.stop;
    // Every endpoint labelled by the controller and programmed.
    await until('pod labels programmed', async () => (await ds.list<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint' })).items.every((w) => w.metadata.labels?.pod !== undefined));
    await b.agent.whenProgrammed(b.agent.generation);
    knpSeen = new Set();

    // The burst: every NetworkPolicy appears in the API.
    const seenAll = new Promise<number>((resolve) => {
      hook = () => {
        if (knpSeen.size >= a.policies) {
          hook = undefined;
          resolve(b.agent.generation);
        }
      };
    });
    const t0 = performance.now();
    const perNs = Math.ceil(a.policies / a.namespaces);
    for (let p = 0; p < a.policies; p++) {
      const n = p % a.namespaces;
      const j = Math.floor(p / a.namespaces) % perNs;
      api.apply(recorded.networkPolicy(`ns${n}`, `np-${j}-${p}`, policySpec(n, j)));
    }
    let controllerS = 0;
    const ctlDone = until('the policies in etcd', async () => (await ds.list({ kind: 'NetworkPolicy', namePrefix: 'knp.default.' })).items.length >= a.policies).then(() => {
      controllerS = (performance.now() - t0) / 1000;
    });
    const gen = await seenAll;
    await b.agent.whenProgrammed(gen);
    const applyS = (performance.now() - t0) / 1000;
    await ctlDone;

    // Label changes: pod → endpoint → kernel.
    const lat: number[] = [];
    for (let k = 0; k < a.changes; k++) {
      const i = (k * 7) % a.local;
      const pod = api.get('Pod', podNs(i, a), podName(i))!;
      const cur = pod.metadata.labels!.app!;
      const next = cur === `app-${i % APPS}` ? `app-${(i + 1) % APPS}` : `app-${i % APPS}`;
      const seen = new Promise<number>((resolve) => {
        hook = (events) => {
          for (const e of events) {
            if (e.type === 'set' && e.resource.kind === 'WorkloadEndpoint' && (e.resource as WorkloadEndpointResource).spec.pod === podName(i) && e.resource.metadata.labels?.app === next) {
              hook = undefined;
              resolve(b.agent.generation);
            }
          }
        };
      });
      const s = performance.now();
      api.modify('Pod', podNs(i, a), podName(i), (o) => (o.metadata.labels = { ...o.metadata.labels, app: next }));
      await b.agent.whenProgrammed(await seen);
      lat.push(performance.now() - s);
    }
    process.stderr.write(`k8s: ${b.backend} iptables; controller wrote ${a.policies} policies in ${controllerS.toFixed(2)} s; label change p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms\n`);
    process.stdout.write(
      `k8s policies=${a.policies} namespaces=${a.namespaces} local=${a.local} apply_to_programmed_s=${applyS.toFixed(2)} controller_s=${controllerS.toFixed(2)} label_p50_ms=${pct(lat, 50).toFixed(0)} label_p99_ms=${pct(lat, 99).toFixed(0)}\n`,
    );
  } finally {
    await agentStop?.();
    if (ctl && ctl.exitCode === null) {
      const exited = new Promise((r) => ctl!.once('exit', r));
      ctl.kill('SIGTERM');
      await exited;
    }
    nl.close();
    await ds.close();
    await api.close();
    await etcd.stop();
  }
}
