// `npm run bench -- explain [--endpoints N] [--local N] [--policies N] [--runs N]` (no root)
//
// `twillctl policy explain` as a user runs it: the built twillctl, spawned once per question,
// against a file datastore holding the felix benchmark's cluster (./felix-cluster.ts: 10,000
// endpoints on 40 nodes, 1,000 policies). Each run names two endpoints (on different nodes) and a
// port; twillctl runs calc for those two alone (felix/explain/README.md). Prints
//
//   explain endpoints=10000 policies=1000 runs=40 p50_ms=… p99_ms=… target_p50_ms=200 …
//
// p50/p99: spawn → exit of the whole command (start-up, module loading, reading the datastore,
// calc for both endpoints, the walk, printing JSON). For the breakdown, the same work measured in
// this process (warm: after the first run the code is compiled, unlike in a fresh twillctl):
// read_ms (readForQuery: read the file, parse every line but the endpoints'), explain_ms
// (Explainer + finding and parsing its endpoints + calc + the walk), and node_ms (spawning
// `node -e 0`); p50_per_node = p50_ms / node_ms, steadier than either on a loaded machine. In
// this cluster nothing is allowed between endpoints (egress allows 5432 only, ingress 80–89 and
// 443 only): every question walks all 20 policies of each side, so every verdict is deny.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { endpointSearch, EXPLAIN_KINDS, Explainer } from '../../felix/explain/index.js';
import type { WorkloadEndpointResource } from '../../src/api/types.js';
import { openDatastore, readForQuery } from '../../src/datastore/index.js';
import { loadCluster, NAMESPACES } from './felix-cluster.js';
import { parseCounts, pct } from './stats.js';

const DEFAULTS = { endpoints: 10_000, local: 250, policies: 1000, runs: 40 };
const TARGET_P50_MS = 200;

const twillctl = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

interface Question {
  from: string;
  to: string;
  port: number;
}

/** Run k: two endpoints `local` apart (so on two nodes) and one of the ports the policies name. */
function question(k: number, a: typeof DEFAULTS): Question {
  const i = (k * 7919) % a.endpoints;
  const j = (i + a.local + k) % a.endpoints;
  const ref = (n: number): string => `ns${n % NAMESPACES}/wep-${n}`;
  return { from: ref(i), to: ref(j), port: [80, 443, 5432, 81, 8080][k % 5]! };
}

function ms(t0: number): number {
  return performance.now() - t0;
}

export default async function explainBench(argv: string[]): Promise<void> {
  const a = parseCounts(argv, DEFAULTS);
  process.stdout.write(`# load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores\n`);
  const dir = mkdtempSync(join(tmpdir(), 'twill-bench-explain-'));
  const url = `file:${join(dir, 'datastore.json')}`;
  try {
    const ds = await openDatastore(url);
    try {
      await loadCluster(ds, a);
    } finally {
      await ds.close();
    }

    const wall: number[] = [];
    const verdicts = { allow: 0, deny: 0 };
    for (let k = 0; k < a.runs; k++) {
      const q = question(k, a);
      const t0 = performance.now();
      const r = spawnSync(process.execPath, [twillctl, '--datastore', url, 'policy', 'explain', '--from', q.from, '--to', q.to, '--port', String(q.port), '-o', 'json'], { encoding: 'utf8' });
      wall.push(ms(t0));
      if (r.status !== 0 && r.status !== 1) {
        throw new Error(`twillctl policy explain --from ${q.from} --to ${q.to} --port ${q.port} exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
      }
      const out = JSON.parse(r.stdout) as { verdict: 'allow' | 'deny' };
      if ((out.verdict === 'allow') !== (r.status === 0)) throw new Error(`verdict ${out.verdict} with exit code ${r.status}`);
      verdicts[out.verdict]++;
    }

    // The same work in this process, for the breakdown.
    const read: number[] = [];
    const explain: number[] = [];
    const node: number[] = [];
    for (let k = 0; k < Math.min(a.runs, 10); k++) {
      let t0 = performance.now();
      const snap = await readForQuery(url, { kinds: EXPLAIN_KINDS, lazy: ['WorkloadEndpoint'] });
      const resources = EXPLAIN_KINDS.filter((kind) => kind !== 'WorkloadEndpoint').flatMap((kind) => snap.list(kind));
      read.push(ms(t0));
      const q = question(k, a);
      t0 = performance.now();
      const endpoints = endpointSearch(snap.lazy<WorkloadEndpointResource>('WorkloadEndpoint'));
      new Explainer(resources, { scope: 'endpoints', endpoints }).explain({ from: q.from, to: q.to, protocol: 'tcp', port: q.port });
      explain.push(ms(t0));
      t0 = performance.now();
      spawnSync(process.execPath, ['-e', '0']);
      node.push(ms(t0));
    }

    const f = (x: number): string => x.toFixed(0);
    process.stdout.write(
      `explain endpoints=${a.endpoints} policies=${a.policies} runs=${a.runs} p50_ms=${f(pct(wall, 50))} p99_ms=${f(pct(wall, 99))} ` +
        `target_p50_ms=${TARGET_P50_MS} met=${pct(wall, 50) < TARGET_P50_MS ? 'yes' : 'no'} allow=${verdicts.allow} deny=${verdicts.deny} ` +
        `read_ms=${f(pct(read, 50))} explain_ms=${f(pct(explain, 50))} node_ms=${f(pct(node, 50))} p50_per_node=${(pct(wall, 50) / pct(node, 50)).toFixed(2)}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
