// `npm run bench -- felix [--endpoints N] [--local N] [--policies N] [--updates N]` (root)
//
// The policy agent against the real kernel, in a network namespace made here: a cluster of
// 10,000 endpoints (250 on this host, each with its own veth) and 1,000 policies with selectors
// in an in-memory datastore (./felix-setup.ts, shared with the node benchmark). Prints
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
import { benchDebug, labelChange, parseCounts, pct, rerunInNetns, startPolicyAgent } from './felix-setup.js';

const DEFAULTS = { endpoints: 10_000, local: 250, policies: 1000, updates: 200 };

export default async function felixBench(argv: string[]): Promise<void> {
  if (argv.includes('--inner')) return inner(parseCounts(argv, DEFAULTS));
  if (process.getuid?.() !== 0) throw new Error('the felix benchmark needs root (network namespace, iptables, ipset)');
  // Like twill-node, the measured agent runs INSIDE the host namespace (no nsenter per command):
  // this process makes the namespace and runs itself again in it.
  const ns = `twbf${process.pid.toString(36)}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    rerunInNetns(ns, 'felix', argv);
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
}

async function inner(a: typeof DEFAULTS): Promise<void> {
  const b = await startPolicyAgent(a);
  try {
    if (benchDebug) for (const r of b.reports) process.stderr.write(`apply: ${JSON.stringify(r)}\n`);
    const save = spawnSync('iptables-save', { encoding: 'utf8' }).stdout;
    const rules = save.split('\n').filter((l) => l.startsWith('-A ')).length;
    const sets = spawnSync('ipset', ['list', '-n'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;
    process.stderr.write(`felix: load average before the run ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} CPUs (numbers scale with contention)\n`);
    process.stderr.write(`felix: cold start programmed ${rules} iptables rules and ${sets} ipsets (${b.backend}) in ${b.coldS.toFixed(2)} s\n`);

    const lat: number[] = [];
    const restore: number[] = [];
    for (let k = 0; k < a.updates; k++) {
      const t = await labelChange(b, k);
      lat.push(t.totalMs);
      restore.push(t.restoreMs);
    }
    const own = lat.map((l, i) => l - restore[i]!);
    process.stderr.write(
      `felix: update total p50=${pct(lat, 50).toFixed(1)} p99=${pct(lat, 99).toFixed(1)} ms; restore p50=${pct(restore, 50).toFixed(1)} p99=${pct(restore, 99).toFixed(1)} ms; twill's own share p50=${pct(own, 50).toFixed(1)} p99=${pct(own, 99).toFixed(1)} ms\n`,
    );
    process.stdout.write(
      `felix endpoints=${a.endpoints} local=${a.local} policies=${a.policies} cold_s=${b.coldS.toFixed(2)} update_p50_ms=${pct(lat, 50).toFixed(0)} update_p99_ms=${pct(lat, 99).toFixed(0)} restore_p99_ms=${pct(restore, 99).toFixed(0)}\n`,
    );
  } finally {
    await b.stop();
  }
}
