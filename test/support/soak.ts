// The soak's churn engine, shared by `npm run bench -- soak` (test/bench/soak.ts, 30 min) and the
// e2e test (test/e2e/soak.test.ts, ~60 s). On a running lab, driven with the built programs as a
// user drives them:
// - workloads added and removed with `twill-lab add` / `remove` (namespace, twill-cni ADD/DEL
//   called exactly as a runtime calls it, a server on port 80), one at a time, at most maxChurned
//   alive (by `churners` side by side); each goes to a host whose twill-node is not being restarted at that moment;
// - NetworkPolicies created, updated and deleted with `twillctl apply` / `delete` (three names,
//   four variants, all selecting the churned workloads), and all deleted at the end;
// - one twill-node restarted every restartEveryMs (`twill-lab restart HOST`, hosts in turn,
//   graceful and --kill alternately);
// - every Twill process sampled every sampleEveryMs: each twill-node (its BGP speaker is a worker
//   thread of the same process) — VmRSS and open fds from /proc, the event loop's p99 delay since
//   the last sample and the V8 heap in use from its /metrics (nodejs_eventloop_lag_p99_seconds,
//   prom-client's monitorEventLoopDelay at 10 ms resolution; nodejs_heap_size_used_bytes) read
//   inside the host's namespace — and etcd (not Twill; for reference).
// A restarted node is a new process: growth is a least-squares slope with one intercept per
// process lifetime and a common slope (so a restart's drop is not mistaken for a decrease, nor its
// new baseline for growth), over the samples after each lifetime's warm-up, scaled to /h.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostMetrics } from '../../src/lab/readiness.js';
import type { LabState } from '../../src/lab/state.js';

export interface SoakConfig {
  /** The lab's name and its TWILL_LAB_ROOT. */
  lab: string;
  root: string;
  /** The build's root (dist/), whose twill-lab and twillctl are run. */
  dist: string;
  durationMs: number;
  sampleEveryMs: number;
  /** 0: no restarts. */
  restartEveryMs: number;
  /** When the first restart happens (default restartEveryMs). */
  firstRestartMs?: number;
  maxChurned: number;
  /** Pause between two workload operations (of one churner). */
  opPauseMs: number;
  /** Workload churners running side by side (default 1). */
  churners?: number;
  policyEveryMs: number;
  /** The model namespace the churned workloads and policies live in. */
  namespace: string;
  say: (line: string) => void;
}

export interface SoakSample {
  /** ms since the churn started. */
  t: number;
  kind: 'twill-node' | 'etcd';
  name: string;
  pid: number;
  rssMb: number;
  fds: number;
  /** Event-loop p99 delay since the previous sample, ms (twill-node only; absent when /metrics did not answer). */
  lagP99Ms?: number;
  /** V8 heap in use, MB (twill-node only, from /metrics): tells a JS leak from the allocator keeping pages. */
  heapMb?: number;
}

export interface SoakCounts {
  adds: number;
  dels: number;
  policyChanges: number;
  restarts: number;
  /** Every operation that failed, with its error. */
  failures: string[];
}

export interface SoakRun {
  counts: SoakCounts;
  samples: SoakSample[];
  durationMs: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface CmdResult {
  code: number;
  out: string;
  err: string;
}

function runAsync(argv: string[], env: NodeJS.ProcessEnv, timeoutMs: number, input?: string): Promise<CmdResult> {
  return new Promise((resolve) => {
    const child = execFile(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: timeoutMs, env, maxBuffer: 64 * 1024 * 1024 }, (err, out, errOut) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, out, err: errOut });
    });
    child.stdin?.end(input ?? '');
  });
}

/** The built twill-lab, against the config's lab root. */
export function labCmd(c: Pick<SoakConfig, 'root' | 'dist'>, args: string[], timeoutMs = 300_000): Promise<CmdResult> {
  return runAsync([process.execPath, join(c.dist, 'src/lab/main.js'), ...args], { ...process.env, TWILL_LAB_ROOT: c.root }, timeoutMs);
}

export function loadLab(c: Pick<SoakConfig, 'root' | 'lab'>): LabState {
  return JSON.parse(readFileSync(join(c.root, c.lab, 'state.json'), 'utf8')) as LabState;
}

/** The built twillctl against the lab's datastore. */
export function twillctl(c: Pick<SoakConfig, 'root' | 'lab' | 'dist'>, args: string[], input?: string): Promise<CmdResult> {
  return runAsync([process.execPath, join(c.dist, 'src/cli/main.js'), '--datastore', loadLab(c).datastore!, ...args], process.env, 60_000, input);
}

/** The soak's lab: `hosts` hosts in one rack (BIRD ToR, full mesh), `perHost` long-lived workloads each (role=base, port 80), no policy. */
export function soakModel(hosts: number, perHost: number, namespace = 'soak'): string {
  const lines = ['name: soak', `hosts: ${hosts}`, `namespaces: [{ name: ${namespace} }]`, 'workloads:'];
  for (let h = 1; h <= hosts; h++) {
    for (let w = 1; w <= perHost; w++) lines.push(`  - { name: base${h}-${w}, namespace: ${namespace}, host: h${h}, labels: { role: base }, ports: [80] }`);
  }
  return `${lines.join('\n')}\n`;
}

/** The four policy variants the churn cycles through (all select the churned workloads). */
function policyYaml(name: string, ns: string, variant: number): string {
  const ingress = [
    '    - action: Allow\n      protocol: TCP\n      source:\n        selector: role == "base"\n      destination:\n        ports: [80]',
    '    - action: Allow',
    '    - action: Deny\n      protocol: UDP\n    - action: Allow\n      protocol: TCP',
    '    - action: Allow\n      source:\n        selector: role in {"base", "churn"}',
  ][variant % 4]!;
  return `apiVersion: twill.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  order: ${10 + variant}\n  selector: role == "churn"\n  types: [Ingress]\n  ingress:\n${ingress}\n`;
}

function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

function fdCount(pid: number): number | undefined {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return undefined;
  }
}

/** One sample of every twill-node (and etcd) of the lab, t ms after t0. Open fds are read before /metrics is asked (its connection is not counted). */
export async function sampleLab(c: Pick<SoakConfig, 'root' | 'lab'>, t: number): Promise<SoakSample[]> {
  const s = loadLab(c);
  const out: SoakSample[] = [];
  await Promise.all(
    s.procs
      .filter((p) => p.role === 'node' || p.role === 'etcd')
      .map(async (p) => {
        const fds = fdCount(p.pid);
        const rss = rssMb(p.pid);
        if (fds === undefined || rss === undefined) return; // not running (being restarted)
        const kind = p.role === 'node' ? 'twill-node' : 'etcd';
        const extra: Pick<SoakSample, 'lagP99Ms' | 'heapMb'> = {};
        if (kind === 'twill-node' && p.ns) {
          const m = await hostMetrics(p.ns);
          const lag = m?.get('nodejs_eventloop_lag_p99_seconds');
          const heap = m?.get('nodejs_heap_size_used_bytes');
          if (lag !== undefined && Number.isFinite(lag)) extra.lagP99Ms = lag * 1000;
          if (heap !== undefined && Number.isFinite(heap)) extra.heapMb = heap / 2 ** 20;
        }
        out.push({ t, kind, name: p.name, pid: p.pid, rssMb: rss, fds, ...extra });
      }),
  );
  return out;
}

/** Runs the churn for c.durationMs on the running lab; returns what it did and what it sampled. Never throws for a failed operation: it is counted. */
export async function runSoak(c: SoakConfig): Promise<SoakRun> {
  const t0 = Date.now();
  const deadline = t0 + c.durationMs;
  const counts: SoakCounts = { adds: 0, dels: 0, policyChanges: 0, restarts: 0, failures: [] };
  const samples: SoakSample[] = [];
  const hosts = loadLab(c).plan.hosts.map((h) => h.name);
  const restarting = new Set<string>();
  const fail = (what: string, r: CmdResult): void => {
    const line = `${((Date.now() - t0) / 1000).toFixed(0)}s ${what}: exit ${r.code}: ${(r.err || r.out).trim().split('\n').slice(-3).join(' | ')}`;
    counts.failures.push(line);
    c.say(`soak: FAILED ${line}`);
  };

  const churned: string[] = [];
  let seq = 0;
  const workloads = async (): Promise<void> => {
    while (Date.now() < deadline) {
      const add = churned.length === 0 || (churned.length < c.maxChurned && Math.random() < 0.55);
      if (add) {
        const up = hosts.filter((h) => !restarting.has(h));
        const host = up[Math.floor(Math.random() * up.length)];
        if (host) {
          const id = `${c.namespace}/c${++seq}`;
          const r = await labCmd(c, ['add', id, '--host', host, '--label', 'role=churn', '--port', '80', '--name', c.lab], 120_000);
          if (r.code === 0) {
            counts.adds++;
            churned.push(id);
          } else fail(`add ${id} on ${host}`, r);
        }
      } else {
        const s = loadLab(c);
        const candidates = churned.filter((id) => !restarting.has(s.workloads.find((w) => w.id === id)?.host ?? ''));
        const id = candidates[Math.floor(Math.random() * candidates.length)];
        if (id) {
          churned.splice(churned.indexOf(id), 1); // before the await: no other churner picks it; a failed remove is not retried (its leftovers show in the end checks)
          const r = await labCmd(c, ['remove', id, '--name', c.lab], 120_000);
          if (r.code === 0) counts.dels++;
          else fail(`remove ${id}`, r);
        }
      }
      await sleep(c.opPauseMs);
    }
  };

  const live = new Map<string, number>();
  const policyFile = join(c.root, c.lab, 'soak-policy.yaml');
  const applyPolicy = async (name: string, variant: number): Promise<void> => {
    writeFileSync(policyFile, policyYaml(name, c.namespace, variant));
    const r = await twillctl(c, ['apply', '-f', policyFile]);
    if (r.code === 0) {
      counts.policyChanges++;
      live.set(name, variant);
    } else fail(`apply policy ${name} v${variant}`, r);
  };
  const deletePolicy = async (name: string): Promise<void> => {
    const r = await twillctl(c, ['delete', 'networkpolicy', name, '-n', c.namespace]);
    if (r.code === 0) {
      counts.policyChanges++;
      live.delete(name);
    } else fail(`delete policy ${name}`, r);
  };
  const policies = async (): Promise<void> => {
    let i = 0;
    while (Date.now() < deadline) {
      const name = `soak-p${(i++ % 3) + 1}`;
      const was = live.get(name);
      if (was === undefined) await applyPolicy(name, Math.floor(Math.random() * 4));
      else if (Math.random() < 0.5) await applyPolicy(name, (was + 1 + Math.floor(Math.random() * 3)) % 4);
      else await deletePolicy(name);
      await sleep(c.policyEveryMs);
    }
  };

  const restarts = async (): Promise<void> => {
    if (c.restartEveryMs <= 0) return;
    let at = t0 + (c.firstRestartMs ?? c.restartEveryMs);
    for (let i = 0; at < deadline; i++, at += c.restartEveryMs) {
      await sleep(Math.max(0, at - Date.now()));
      const host = hosts[i % hosts.length]!;
      const kill = i % 2 === 1;
      restarting.add(host);
      const r = await labCmd(c, ['restart', host, ...(kill ? ['--kill'] : []), '--name', c.lab], 180_000);
      restarting.delete(host);
      if (r.code === 0) counts.restarts++;
      else fail(`restart ${host}${kill ? ' --kill' : ''}`, r);
      c.say(`soak: ${((Date.now() - t0) / 1000).toFixed(0)}s restarted ${host}${kill ? ' (SIGKILL)' : ' (graceful)'}: ${counts.adds} ADDs, ${counts.dels} DELs, ${counts.policyChanges} policy changes so far`);
    }
  };

  const sampler = async (): Promise<void> => {
    while (Date.now() < deadline) {
      samples.push(...(await sampleLab(c, Date.now() - t0)));
      await sleep(Math.max(0, c.sampleEveryMs - ((Date.now() - t0) % c.sampleEveryMs)));
    }
  };

  await Promise.all([...Array.from({ length: c.churners ?? 1 }, () => workloads()), policies(), restarts(), sampler()]);
  for (const name of [...live.keys()]) await deletePolicy(name);
  return { counts, samples, durationMs: Date.now() - t0 };
}

export type SoakMetric = 'rssMb' | 'heapMb' | 'fds' | 'lagP99Ms';
export const SOAK_METRICS: readonly SoakMetric[] = ['rssMb', 'heapMb', 'fds', 'lagP99Ms'];

export interface SoakGrowth {
  kind: string;
  metric: SoakMetric;
  /** Mean over the first lifetime of each process name of its first sample after warm-up; end: over each name's last lifetime, its last sample. */
  start: number;
  end: number;
  /** Common least-squares slope within lifetimes, per hour. */
  perHour: number;
  lifetimes: number;
  samples: number;
}

/**
 * Growth per hour of one metric of one kind: samples grouped by process (PID), each lifetime's
 * first warmupMs dropped, then the slope with one intercept per lifetime:
 * Σ_L Σ (t − t̄_L)(y − ȳ_L) / Σ_L Σ (t − t̄_L)², over lifetimes with at least 3 samples left.
 */
export function soakGrowth(samples: readonly SoakSample[], kind: string, metric: SoakMetric, warmupMs: number): SoakGrowth | undefined {
  const byPid = new Map<number, SoakSample[]>();
  for (const s of samples) if (s.kind === kind) byPid.set(s.pid, [...(byPid.get(s.pid) ?? []), s]);
  const lifetimes: { name: string; pts: { t: number; y: number }[] }[] = [];
  for (const ss of byPid.values()) {
    const born = ss[0]!.t;
    const pts = ss.filter((s) => s.t - born >= warmupMs && s[metric] !== undefined).map((s) => ({ t: s.t, y: s[metric]! }));
    if (pts.length >= 3) lifetimes.push({ name: ss[0]!.name, pts });
  }
  if (lifetimes.length === 0) return undefined;
  let sxy = 0;
  let sxx = 0;
  for (const l of lifetimes) {
    const tm = l.pts.reduce((a, p) => a + p.t, 0) / l.pts.length;
    const ym = l.pts.reduce((a, p) => a + p.y, 0) / l.pts.length;
    for (const p of l.pts) {
      sxy += (p.t - tm) * (p.y - ym);
      sxx += (p.t - tm) ** 2;
    }
  }
  const names = [...new Set(lifetimes.map((l) => l.name))];
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = names.map((n) => lifetimes.filter((l) => l.name === n).sort((a, b) => a.pts[0]!.t - b.pts[0]!.t)[0]!.pts[0]!.y);
  const last = names.map((n) => {
    const l = lifetimes.filter((x) => x.name === n).sort((a, b) => b.pts[0]!.t - a.pts[0]!.t)[0]!;
    return l.pts[l.pts.length - 1]!.y;
  });
  return {
    kind,
    metric,
    start: mean(first),
    end: mean(last),
    perHour: sxx > 0 ? (sxy / sxx) * 3_600_000 : 0,
    lifetimes: lifetimes.length,
    samples: lifetimes.reduce((a, l) => a + l.pts.length, 0),
  };
}

const LABEL: Record<SoakMetric, string> = { rssMb: 'rss_mb', heapMb: 'heap_used_mb', fds: 'fds', lagP99Ms: 'event_loop_p99_ms' };

/** One line per process kind: start → end and growth per hour of each metric it has. */
export function soakLines(samples: readonly SoakSample[], warmupMs: number): string[] {
  const lines: string[] = [];
  for (const kind of ['twill-node', 'etcd'] as const) {
    const parts: string[] = [];
    let lifetimes = 0;
    for (const m of SOAK_METRICS) {
      const g = soakGrowth(samples, kind, m, warmupMs);
      if (!g) continue;
      lifetimes = Math.max(lifetimes, g.lifetimes);
      const d = m === 'lagP99Ms' ? 2 : 1;
      parts.push(`${LABEL[m]} ${g.start.toFixed(d)}→${g.end.toFixed(d)} (${g.perHour >= 0 ? '+' : ''}${g.perHour.toFixed(d)}/h)`);
    }
    const procs = new Set(samples.filter((s) => s.kind === kind).map((s) => s.name)).size;
    if (parts.length) lines.push(`soak ${kind}${kind === 'etcd' ? ' (not Twill; reference)' : ''}: ${procs} process(es), ${lifetimes} lifetime(s): ${parts.join(', ')}`);
  }
  return lines;
}

export interface SoakCheck {
  what: string;
  ok: boolean;
  detail: string;
}

/**
 * What a user checks after the churn: `twillctl ipam check` clean; as many WorkloadEndpoints as
 * the lab has workloads; on each host as many workload veths (interfacePrefix `tw`) as workloads;
 * `twill-lab verify` clean with every cell answering (no policy is left).
 */
export async function soakChecks(c: Pick<SoakConfig, 'root' | 'lab' | 'dist'>): Promise<SoakCheck[]> {
  const checks: SoakCheck[] = [];
  const ipam = await twillctl(c, ['ipam', 'check']);
  checks.push({ what: 'twillctl ipam check', ok: ipam.code === 0 && /No problems found/.test(ipam.out), detail: (ipam.out + ipam.err).trim().split('\n').slice(-4).join(' | ') });
  const s = loadLab(c);
  const weps = await twillctl(c, ['get', 'workloadendpoints', '-A', '-o', 'json']);
  const n = weps.code === 0 ? (JSON.parse(weps.out) as { items: unknown[] }).items.length : -1;
  checks.push({ what: 'workload endpoints == workloads', ok: n === s.workloads.length, detail: `${n} endpoint(s), ${s.workloads.length} workload(s)` });
  for (const h of s.plan.hosts) {
    const links = await runAsync(['ip', '-n', h.ns, '-o', 'link', 'show'], process.env, 10_000);
    const veths = links.out.split('\n').filter((l) => /^\d+: tw/.test(l)).length;
    const wl = s.workloads.filter((w) => w.host === h.name).length;
    checks.push({ what: `${h.name}: workload veths == workloads`, ok: veths === wl, detail: `${veths} veth(s), ${wl} workload(s)` });
  }
  const v = await labCmd(c, ['verify', '--name', c.lab, '-o', 'json']);
  try {
    const r = JSON.parse(v.out) as { ok: boolean; cells: { from: string; to: string; port: number; protocol: string; allowed: boolean }[]; checks: { what: string; ok: boolean; detail: string }[] };
    const denied = r.cells.filter((x) => !x.allowed).map((x) => `${x.from}→${x.to} ${x.protocol}/${x.port}`);
    const bad = r.checks.filter((x) => !x.ok).map((x) => `${x.what}: ${x.detail}`);
    checks.push({ what: 'twill-lab verify', ok: r.ok && v.code === 0, detail: bad.length ? bad.join('; ') : `${r.cells.length} cells` });
    checks.push({ what: 'every remaining workload reachable', ok: denied.length === 0 && r.cells.length > 0, detail: denied.length ? `unreachable: ${denied.slice(0, 10).join(', ')}` : `${r.cells.length} of ${r.cells.length} cells answer` });
  } catch {
    checks.push({ what: 'twill-lab verify', ok: false, detail: `no JSON (exit ${v.code}): ${v.err.slice(-500)}` });
  }
  return checks;
}
