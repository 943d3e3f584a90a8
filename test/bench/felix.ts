// `npm run bench -- felix [--endpoints N] [--local N] [--policies N] [--updates N]` (root)
//
// The policy agent against the real kernel, in a network namespace made here: a cluster of
// 10,000 endpoints (250 on this host, each with its own veth) and 1,000 policies with selectors
// in an in-memory datastore. Prints
//
//   felix endpoints=10000 local=250 policies=1000 cold_s=3.1 update_p50_ms=21 update_p99_ms=48 restore_p99_ms=30
//
// cold_s: agent start → every local endpoint programmed (iptables, ipsets, routes, sysctls).
// update_*: one label change written to the datastore → the kernel programmed (200 changes,
// alternating a change that moves an endpoint between policies and one that moves it between
// rule ipsets). restore_*: the time spent inside iptables-restore / ipset restore in those same
// updates, measured in the same run: total minus restore is Twill's own share.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import type { NetworkPolicyResource, ProfileResource, Resource, WorkloadEndpointResource } from '../../src/api/types.js';
import { openDatastore } from '../../src/datastore/index.js';
import type { TxnOp } from '../../src/datastore/types.js';
import { detectBackend, ipset, iptables } from '../../src/iptables/index.js';
import { monitor, openNetlink } from '../../src/netlink/index.js';
import { CalcGraph } from '../../felix/calc/index.js';
import { RuleRenderer, renderAll } from '../../felix/rules/index.js';
import { Dataplane, silentLogger, type ApplyReport } from '../../felix/dataplane/index.js';
import { FelixAgent } from '../../felix/agent.js';

interface Args {
  endpoints: number;
  local: number;
  policies: number;
  updates: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { endpoints: 10_000, local: 250, policies: 1000, updates: 200 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]?.replace(/^--/, '') as keyof Args | undefined;
    const v = Number(argv[i + 1]);
    if (k && k in a && Number.isInteger(v) && v > 0) {
      a[k] = v;
      i++;
    }
  }
  return a;
}

const NAMESPACES = 10;
const APPS = 50;
const GROUPS = 1000;
const NODE = 'bench-host';

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? 0;
}

function ipOf(i: number): string {
  return `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
}

function endpoint(i: number, local: number, app = i % APPS, group = i % GROUPS): WorkloadEndpointResource {
  const isLocal = i < local;
  return {
    apiVersion: 'twill.io/v1',
    kind: 'WorkloadEndpoint',
    metadata: { name: `wep-${i}`, namespace: `ns${i % NAMESPACES}`, labels: { app: `app-${app}`, group: `g${group}`, tier: ['frontend', 'backend', 'db'][i % 3]! } },
    spec: {
      node: isLocal ? NODE : `node-${1 + Math.floor(i / local)}`,
      interfaceName: `twb${i.toString(16).padStart(5, '0')}`,
      ipNetworks: [`${ipOf(i)}/32`],
      profiles: [`kns.ns${i % NAMESPACES}`],
    },
  };
}

function policy(p: number): NetworkPolicyResource {
  const x = p % NAMESPACES;
  const app = x + NAMESPACES * (Math.floor(p / NAMESPACES) % (APPS / NAMESPACES));
  return {
    apiVersion: 'twill.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: `pol-${p}`, namespace: `ns${x}` },
    spec: {
      order: p,
      selector: `app == 'app-${app}'`,
      types: ['Ingress', 'Egress'],
      ingress: [
        { action: 'Allow', protocol: 'TCP', source: { selector: `group == 'g${p % GROUPS}'` }, destination: { ports: [80 + (p % 10), 443] } },
        { action: 'Deny', protocol: 'UDP', source: { selector: `tier == 'db'` } },
      ],
      egress: [{ action: 'Allow', protocol: 'TCP', destination: { selector: `group == 'g${(p + 7) % GROUPS}'`, ports: [5432] } }],
    },
  };
}

const debugLog = {
  debug: () => undefined,
  info: () => undefined,
  warn: (o: object, m?: string) => process.stderr.write(`WARN ${m ?? ''} ${JSON.stringify(o).slice(0, 400)}\n`),
  error: (o: object, m?: string) => process.stderr.write(`ERROR ${m ?? ''} ${JSON.stringify(o).slice(0, 400)}\n`),
};

export default async function felixBench(argv: string[]): Promise<void> {
  if (argv.includes('--inner')) return inner(parseArgs(argv.filter((x) => x !== '--inner')));
  if (process.getuid?.() !== 0) throw new Error('the felix benchmark needs root (network namespace, iptables, ipset)');
  // Like twill-node, the measured agent runs INSIDE the host namespace (no nsenter per command):
  // this process makes the namespace and runs itself again in it.
  const ns = `twbf${process.pid.toString(36)}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, process.argv[1]!, 'felix', '--inner', ...argv], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`the felix benchmark failed inside namespace ${ns} (exit ${r.status ?? r.signal})`);
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
}

async function inner(a: Args): Promise<void> {
  let agent: FelixAgent | undefined;
  try {
    execFileSync('ip', ['link', 'set', 'lo', 'up']);
    const nl = await openNetlink();
    // The local workloads' host-side veths (the peers stay in the same namespace, unused).
    for (let i = 0; i < a.local; i++) {
      const name = endpoint(i, a.local).spec.interfaceName;
      await nl.vethAdd({ name, peerName: `pb${i.toString(16).padStart(5, '0')}` });
      await nl.linkSetUp(name, true);
    }
    const ds = await openDatastore('memory:');
    const objs: Resource[] = [];
    for (let n = 0; n < NAMESPACES; n++) {
      const prof: ProfileResource = { apiVersion: 'twill.io/v1', kind: 'Profile', metadata: { name: `kns.ns${n}`, labels: {} }, spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] } };
      objs.push(prof);
    }
    for (let i = 0; i < a.endpoints; i++) objs.push(endpoint(i, a.local));
    for (let p = 0; p < a.policies; p++) objs.push(policy(p));
    for (let i = 0; i < objs.length; i += 100) await ds.txn(objs.slice(i, i + 100).map((resource): TxnOp => ({ op: 'create', resource })));

    const backend = (await detectBackend()).backend;
    const reports: ApplyReport[] = [];
    const dataplane = new Dataplane({
      netlink: nl,
      iptables4: iptables({ family: 4, backend }),
      iptables6: iptables({ family: 6, backend }),
      ipset: ipset(),
      monitor: (cb) => monitor({ current: true }, ['link', 'route'], cb),
      ...(process.env.BENCH_DEBUG ? { log: debugLog } : {}),
      // Production settings: read-back 2 s after writes (in the background), full refresh per FelixConfiguration (90 s).
    });
    dataplane.onApplied((r) => reports.push(r));
    agent = new FelixAgent({
      nodeName: NODE,
      ds,
      calc: new CalcGraph({ nodeName: NODE }),
      renderer: new RuleRenderer(),
      renderAll: (s) => renderAll(s),
      dataplane,
      log: process.env.BENCH_DEBUG ? debugLog : silentLogger,
      writeStatus: false,
    });

    const t0 = performance.now();
    await agent.start();
    await agent.whenReceived(1);
    for (;;) {
      await agent.whenProgrammed(agent.generation);
      if (dataplane.programmedEndpoints().size >= a.local) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const coldS = (performance.now() - t0) / 1000;
    if (process.env.BENCH_DEBUG) for (const r of reports) process.stderr.write(`apply: ${JSON.stringify(r)}\n`);
    const save = spawnSync('iptables-save', { encoding: 'utf8' }).stdout;
    const rules = save.split('\n').filter((l) => l.startsWith('-A ')).length;
    const sets = spawnSync('ipset', ['list', '-n'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;
    process.stderr.write(`felix: load average before the run ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} CPUs (numbers scale with contention)\n`);
    process.stderr.write(`felix: cold start programmed ${rules} iptables rules and ${sets} ipsets (${backend}) in ${coldS.toFixed(2)} s\n`);

    const lat: number[] = [];
    const restore: number[] = [];
    for (let k = 0; k < a.updates; k++) {
      const i = (k * 7) % a.local;
      const cur = await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: `ns${i % NAMESPACES}`, name: `wep-${i}` });
      const labels = { ...cur!.metadata.labels };
      // Even k: move between policies (app, same namespace so still selected by 20 others); odd: between rule sets.
      if (k % 2 === 0) labels.app = labels.app === `app-${i % APPS}` ? `app-${(i + NAMESPACES) % APPS}` : `app-${i % APPS}`;
      else labels.group = labels.group === `g${i % GROUPS}` ? `g${(i + 1) % GROUPS}` : `g${i % GROUPS}`;
      const before = reports.length;
      const g0 = agent.generation;
      const s = performance.now();
      await ds.update({ ...cur!, metadata: { ...cur!.metadata, labels } });
      await agent.whenReceived(g0 + 1);
      const recv = performance.now() - s;
      await agent.whenProgrammed(agent.generation);
      lat.push(performance.now() - s);
      restore.push(reports.slice(before).reduce((t, r) => t + r.restoreMs, 0));
      if (process.env.BENCH_DEBUG && (k < 10 || performance.now() - s > 300)) {
        const rs = reports.slice(before).map((r) => `apply ${r.totalMs.toFixed(1)} (restore ${r.restoreMs.toFixed(1)}, chains ${r.chainsWritten}, sets ${r.setsWritten})`);
        process.stderr.write(`update ${k}: ${(performance.now() - s).toFixed(1)} ms: received ${recv.toFixed(1)}, calc+render ${agent.lastFlushMs.toFixed(1)}, ${rs.join('; ')}\n`);
      }
    }
    const own = lat.map((l, i) => l - restore[i]!);
    process.stderr.write(
      `felix: update total p50=${pct(lat, 50).toFixed(1)} p99=${pct(lat, 99).toFixed(1)} ms; restore p50=${pct(restore, 50).toFixed(1)} p99=${pct(restore, 99).toFixed(1)} ms; twill's own share p50=${pct(own, 50).toFixed(1)} p99=${pct(own, 99).toFixed(1)} ms\n`,
    );
    process.stdout.write(
      `felix endpoints=${a.endpoints} local=${a.local} policies=${a.policies} cold_s=${coldS.toFixed(2)} update_p50_ms=${pct(lat, 50).toFixed(0)} update_p99_ms=${pct(lat, 99).toFixed(0)} restore_p99_ms=${pct(restore, 99).toFixed(0)}\n`,
    );
    await agent.stop();
    agent = undefined;
    nl.close();
    await ds.close();
  } finally {
    if (agent) await agent.stop().catch(() => undefined);
  }
}
