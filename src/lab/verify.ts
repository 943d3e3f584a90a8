// `twill-lab verify`: real traffic between every ordered pair of workloads (and from each outside
// client) on every served port, in parallel and bounded in time; the matrix next to the model's
// expectations; and each host's agent checked (alive, endpoints programmed, BGP sessions up).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Resource, WorkloadEndpointResource } from '../api/types.js';
import { EXPLAIN_KINDS, Explainer } from '../../felix/explain/index.js';
import { openDatastore } from '../datastore/index.js';
import { errorMessage } from '../errors.js';
import type { Expectation } from './model.js';
import { PROGRAMS } from './paths.js';
import type { ProbeResult, ProbeTarget } from './probe.js';
import { isAlive } from './procs.js';
import { hostReadiness } from './readiness.js';
import { nodeKernel, nodeSessions } from './sessions.js';
import type { LabState } from './state.js';
import { isEstablished, torProcName, torSessions } from './tor.js';

export interface Cell {
  from: string;
  to: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  allowed: boolean;
  /** What felix's semantics say (felix/explain, the evaluator `twillctl policy explain` uses). */
  predicted?: boolean;
  answer?: string;
  error?: string;
}

export interface ExpectationResult extends Expectation {
  observed: boolean;
  ok: boolean;
}

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

export interface VerifyReport {
  lab: string;
  cells: Cell[];
  expectations: ExpectationResult[];
  checks: Check[];
  ok: boolean;
  seconds: number;
}

interface Source {
  id: string;
  ns: string;
}

function runProber(ns: string, targets: ProbeTarget[], timeoutMs: number): Promise<ProbeResult[]> {
  return new Promise((resolve, reject) => {
    const p = spawn('nsenter', [`--net=/run/netns/${ns}`, '--', process.execPath, PROGRAMS.probe], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', reject);
    // 'close', not 'exit': only then has all of stdout been read.
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`prober in ${ns} exited ${code}: ${err.trim()}`));
      try {
        resolve(JSON.parse(out) as ProbeResult[]);
      } catch (e) {
        reject(new Error(`prober in ${ns}: ${errorMessage(e)}`));
      }
    });
    p.stdin.end(JSON.stringify({ targets, timeoutMs }));
  });
}

async function mapBounded<T, R>(items: T[], limit: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Probes every pair. A cell is allowed when the answer is the target's own name. */
export async function probeMatrix(s: LabState, timeoutMs = 1500): Promise<Cell[]> {
  const byId = new Map(s.plan.workloads.map((w) => [w.id, w]));
  const sources: Source[] = [...s.workloads.map((w) => ({ id: w.id, ns: w.ns })), ...s.plan.outside.map((o) => ({ id: o.name, ns: o.ns }))];
  const targets = s.workloads.flatMap((w) => (byId.get(w.id)?.ports ?? []).map((p) => ({ to: w.id, ip: w.ips[0]!, port: p.port, protocol: p.protocol })));
  const perSource = await mapBounded(sources, 6, async (src) => {
    const mine = targets.filter((t) => t.to !== src.id);
    const res = await runProber(src.ns, mine.map(({ ip, port, protocol }) => ({ ip, port, protocol })), timeoutMs);
    return res.map((r, i): Cell => {
      const t = mine[i]!;
      return {
        from: src.id,
        to: t.to,
        port: t.port,
        protocol: t.protocol,
        allowed: r.answer === t.to,
        ...(r.answer !== undefined ? { answer: r.answer } : {}),
        ...(r.error !== undefined ? { error: r.error } : {}),
      };
    });
  });
  return perSource.flat();
}

export async function checkHosts(s: LabState): Promise<Check[]> {
  const checks: Check[] = [];
  for (const p of s.procs.filter((x) => x.role === 'node' || x.role === 'tor' || x.role === 'etcd')) {
    checks.push({ what: `${p.role} ${p.name} running`, ok: isAlive(p), detail: isAlive(p) ? `pid ${p.pid}` : `not running (log: ${p.log})` });
  }
  for (const h of s.plan.hosts) {
    const r = await hostReadiness(h.ns);
    checks.push({ what: `${h.name} ready`, ok: r.ready, detail: r.ready ? 'ready' : r.reasons.join('; ') });
    const st = await nodeSessions(join(s.dir, `${h.name}.sock`));
    const down = st.peers.filter((p) => p.state !== 'Established');
    checks.push({
      what: `${h.name} BGP sessions`,
      ok: st.ok && st.peers.length > 0 && down.length === 0,
      detail: !st.ok ? (st.error ?? 'no answer') : down.length > 0 ? down.map((p) => `${p.peerAddress} ${p.state}${p.info ? ` (${p.info})` : ''}`).join('; ') : `${st.peers.length} Established`,
    });
    if (st.ok) checks.push({ what: `${h.name} kernel as its agent wants it`, ...(await nodeKernel(join(s.dir, `${h.name}.sock`))) });
  }
  for (const t of s.plan.tors) {
    const st = await torSessions(t, s.dir);
    const down = st.sessions.filter((x) => !isEstablished(x));
    checks.push({
      what: `${torProcName(t)} BGP sessions`,
      ok: st.ok && down.length === 0,
      detail: !st.ok ? (st.error ?? 'no answer') : down.length > 0 ? down.map((x) => `${x.peer} ${x.peerAddress} ${x.state}`).join('; ') : `${st.sessions.length} Established`,
    });
  }
  if (s.datastore) {
    try {
      const ds = await openDatastore(s.datastore);
      try {
        const weps = (await ds.list<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint' })).items;
        const notProgrammed = weps.filter((w) => w.status?.programmed !== true).map((w) => `${w.metadata.namespace}/${w.metadata.name}`);
        checks.push({ what: 'endpoints programmed', ok: notProgrammed.length === 0 && weps.length >= s.workloads.length, detail: notProgrammed.length ? `not programmed: ${notProgrammed.join(', ')}` : `${weps.length} of ${weps.length}` });
      } finally {
        await ds.close();
      }
    } catch (e) {
      checks.push({ what: 'datastore', ok: false, detail: errorMessage(e) });
    }
  }
  return checks;
}

/** Fills in each cell's prediction from the datastore (undefined when it cannot be explained). */
export async function predict(s: LabState, cells: Cell[]): Promise<void> {
  if (!s.datastore) return;
  const ds = await openDatastore(s.datastore);
  let resources: Resource[];
  try {
    resources = (await Promise.all(EXPLAIN_KINDS.map(async (kind) => (await ds.list({ kind })).items))).flat();
  } finally {
    await ds.close();
  }
  const x = new Explainer(resources);
  const ipOf = new Map<string, string>([...s.workloads.map((w): [string, string] => [w.id, w.ips[0]!]), ...s.plan.outside.map((o): [string, string] => [o.name, o.addr])]);
  for (const c of cells) {
    try {
      c.predicted = x.explain({ from: ipOf.get(c.from)!, to: ipOf.get(c.to)!, protocol: c.protocol === 'TCP' ? 'tcp' : 'udp', port: c.port }).verdict === 'allow';
    } catch {
      /* left undefined: shown as unknown */
    }
  }
}

export async function verifyLab(s: LabState): Promise<VerifyReport> {
  const t0 = Date.now();
  const [cells, checks] = await Promise.all([probeMatrix(s), checkHosts(s)]);
  await predict(s, cells);
  const unexplained = cells.filter((c) => c.predicted === undefined).length;
  const disagree = cells.filter((c) => c.predicted !== undefined && c.predicted !== c.allowed);
  checks.push({
    what: 'traffic as the policy model predicts',
    ok: disagree.length === 0 && unexplained === 0,
    detail:
      disagree.length > 0
        ? disagree.map((c) => `${c.from} → ${c.to} ${c.protocol}/${c.port}: predicted ${c.predicted ? 'allowed' : 'denied'}, observed ${c.allowed ? 'allowed' : 'denied'}`).join('; ')
        : unexplained > 0
          ? `${unexplained} cell(s) could not be explained`
          : `${cells.length} of ${cells.length} cells`,
  });
  const expectations = s.model.expect.map((e): ExpectationResult => {
    const c = cells.find((x) => x.from === e.from && x.to === e.to && x.port === e.port && x.protocol === e.protocol);
    const observed = c?.allowed ?? false;
    return { ...e, observed, ok: observed === e.allowed };
  });
  return {
    lab: s.name,
    cells,
    expectations,
    checks,
    ok: expectations.every((e) => e.ok) && checks.every((c) => c.ok),
    seconds: (Date.now() - t0) / 1000,
  };
}

const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const BOLD = '\x1b[1m';
const RESET = '\x1b[0m';

/** The matrix a person reads: one row per source, one column per target, one mark per served port. */
export function formatReport(r: VerifyReport, color: boolean): string {
  const paint = (c: string, s: string): string => (color ? `${c}${s}${RESET}` : s);
  const sources = [...new Set(r.cells.map((c) => c.from))];
  const targets = [...new Set(r.cells.map((c) => c.to))].sort();
  const portsOf = new Map<string, string[]>();
  for (const c of r.cells) {
    const k = `${c.protocol === 'TCP' ? 'T' : 'U'}${c.port}`;
    const l = portsOf.get(c.to) ?? [];
    if (!l.includes(k)) l.push(k);
    portsOf.set(c.to, l);
  }
  const wrong = new Set(r.expectations.filter((e) => !e.ok).map((e) => `${e.from}|${e.to}|${e.port}|${e.protocol}`));
  const width = Math.max(4, ...sources.map((s) => s.length));
  const colW = targets.map((t) => Math.max(t.length, (portsOf.get(t) ?? []).length));
  const lines: string[] = [];
  lines.push(`${paint(BOLD, 'connectivity')} (row → column; one mark per served port: ${paint(GREEN, '✓')} answered, ${paint(RED, '✗')} no answer; ! = disagrees with the policy model or an expectation)`);
  lines.push(`${''.padEnd(width)}  ${targets.map((t, i) => t.padEnd(colW[i]!)).join('  ')}`);
  for (const s of sources) {
    const cells = targets.map((t, i) => {
      const ports = portsOf.get(t) ?? [];
      let text = '';
      let plain = 0;
      for (const p of ports) {
        const c = r.cells.find((x) => x.from === s && x.to === t && `${x.protocol === 'TCP' ? 'T' : 'U'}${x.port}` === p);
        if (!c) {
          text += ' ';
          plain++;
          continue;
        }
        const bad = wrong.has(`${s}|${t}|${c.port}|${c.protocol}`) || (c.predicted !== undefined && c.predicted !== c.allowed);
        text += bad ? paint(BOLD + (c.allowed ? GREEN : RED), '!') : c.allowed ? paint(GREEN, '✓') : paint(RED, '✗');
        plain++;
      }
      return text + ' '.repeat(Math.max(0, colW[i]! - plain));
    });
    lines.push(`${s.padEnd(width)}  ${cells.join('  ')}`);
  }
  lines.push(`ports per column: ${targets.map((t) => `${t} ${(portsOf.get(t) ?? []).join(',')}`).join('; ')}`);
  if (r.expectations.length > 0) {
    const bad = r.expectations.filter((e) => !e.ok);
    lines.push('');
    lines.push(`expectations: ${r.expectations.length - bad.length} of ${r.expectations.length} hold`);
    for (const e of bad) {
      lines.push(paint(RED, `  DISAGREES (model line ${e.line}): ${e.from} → ${e.to} ${e.protocol} ${e.port}: expected ${e.allowed ? 'allowed' : 'denied'}, observed ${e.observed ? 'allowed' : 'denied'}`));
    }
  }
  lines.push('');
  for (const c of r.checks) lines.push(`${c.ok ? paint(GREEN, 'ok  ') : paint(RED, 'FAIL')} ${c.what}: ${c.detail}`);
  lines.push('');
  lines.push(r.ok ? paint(GREEN, `verified in ${r.seconds.toFixed(1)} s`) : paint(RED, `NOT verified (${r.seconds.toFixed(1)} s): see above`));
  return `${lines.join('\n')}\n`;
}
