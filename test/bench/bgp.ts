// `npm run bench -- bgp`: BGP transit convergence of twill-bgp against BIRD, FRR and GoBGP, each as
// the device under test of ../shared/bench/bgp-converge.sh (injector → DUT → sink, in network
// namespaces), on the same prefix counts in one run. Prints each convergence time and peak RSS,
// and twill-bgp's ratios to each of the others. Needs root (the harness makes namespaces).
//
//   npm run bench -- bgp [--sizes 100000,1000000] [--duts twill,bird,frr,gobgp] [--reps 1]
//
// Environment: BGP_CONVERGE (path of bgp-converge.sh), BENCH_SKIP_GOBGP_1M=1 (GoBGP takes about a
// minute at 1M prefixes: skip it, with a note), BENCH_SIZES / BENCH_DUTS / BENCH_REPS (same as
// the flags). Anything else the harness reads (QUICKACK, PIN, KERNEL, ...) is passed through.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/lib/package-info.js';

const ALL_DUTS = ['twill', 'bird', 'frr', 'gobgp'] as const;
type Dut = (typeof ALL_DUTS)[number];

interface Result {
  dut: Dut;
  n: number;
  status: string;
  convergeS: number | undefined;
  rssMb: number | undefined;
  cpuS: number | undefined;
  line: string;
}

interface Options {
  sizes: number[];
  duts: Dut[];
  reps: number;
  script: string;
  skipGobgp1M: boolean;
}

function usage(): string {
  return [
    'usage: npm run bench -- bgp [--sizes 100000,1000000] [--duts twill,bird,frr,gobgp] [--reps N]',
    '  BENCH_SKIP_GOBGP_1M=1 skips GoBGP at 1,000,000 prefixes (it takes about a minute there).',
    '  BGP_CONVERGE=path/to/bgp-converge.sh overrides the harness location.',
  ].join('\n');
}

function parseArgs(args: string[]): Options {
  const root = packageRoot() ?? process.cwd();
  const o: Options = {
    sizes: (process.env.BENCH_SIZES ?? '100000,1000000').split(',').map(Number),
    duts: (process.env.BENCH_DUTS ?? ALL_DUTS.join(',')).split(',') as Dut[],
    reps: Number(process.env.BENCH_REPS ?? 1),
    script: process.env.BGP_CONVERGE ?? join(root, '..', 'shared', 'bench', 'bgp-converge.sh'),
    skipGobgp1M: process.env.BENCH_SKIP_GOBGP_1M === '1',
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const v = args[i + 1];
    if (a === '-h' || a === '--help') {
      process.stdout.write(`${usage()}\n`);
      process.exit(0);
    } else if (a === '--sizes' && v) o.sizes = v.split(',').map(Number);
    else if (a === '--duts' && v) o.duts = v.split(',') as Dut[];
    else if (a === '--reps' && v) o.reps = Number(v);
    else throw new Error(`unknown argument ${a}\n${usage()}`);
    i++;
  }
  for (const n of o.sizes) if (!Number.isInteger(n) || n <= 0) throw new Error(`--sizes: ${n} is not a positive prefix count`);
  for (const d of o.duts) if (!ALL_DUTS.includes(d)) throw new Error(`--duts: ${d} is not one of ${ALL_DUTS.join(', ')}`);
  if (!Number.isInteger(o.reps) || o.reps < 1) throw new Error('--reps must be a positive whole number');
  if (!existsSync(o.script)) throw new Error(`cannot find the harness at ${o.script} (set BGP_CONVERGE)`);
  return o;
}

function twillCommand(root: string): string {
  const main = join(root, 'dist', 'test', 'bench', 'twill-bgp-dut.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build`);
  // exec: the harness measures the process tree it started, which is then node itself (twill-bgp's
  // daemon, configured from the harness JSON by twill-bgp-dut.ts).
  return `exec node ${main} {CONFIG} --api unix://{WORKDIR}/twill.sock`;
}

function num(kv: Map<string, string>, k: string): number | undefined {
  const v = kv.get(k);
  return v === undefined || v === 'NA' ? undefined : Number(v);
}

async function runOnce(o: Options, dut: Dut, n: number, twillCmd: string): Promise<Result[]> {
  const env: NodeJS.ProcessEnv = { ...process.env, N: String(n), REPS: String(o.reps), DUT: dut === 'twill' ? 'custom' : dut, DUT_NAME: dut };
  if (dut === 'twill') env.DUT_CMD = twillCmd;
  const lines: string[] = [];
  const code = await new Promise<number>((resolve) => {
    const child = spawn('bash', [o.script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  const results = lines
    .filter((l) => l.startsWith('dut='))
    .map((line): Result => {
      const kv = new Map(line.split(/\s+/).map((p) => p.split('=', 2) as [string, string]));
      return { dut, n, status: kv.get('status') ?? 'unknown', convergeS: num(kv, 'converge_s'), rssMb: num(kv, 'dut_rss_mb'), cpuS: num(kv, 'dut_cpu_s'), line };
    });
  if (results.length === 0) results.push({ dut, n, status: `harness-exit-${code}`, convergeS: undefined, rssMb: undefined, cpuS: undefined, line: '' });
  return results;
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

function table(headers: string[], rows: string[][]): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => (i === 0 ? c.padEnd(w[i] ?? 0) : c.padStart(w[i] ?? 0)))
      .join('   ')
      .trimEnd();
  return [fmt(headers), ...rows.map(fmt)].join('\n');
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || b === 0 ? 'n/a' : `${(a / b).toFixed(2)}x`;
}

export default async function bench(args: string[]): Promise<void> {
  const o = parseArgs(args);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) throw new Error('the BGP benchmark needs root (it creates network namespaces)');
  const root = packageRoot() ?? process.cwd();
  const twillCmd = o.duts.includes('twill') ? twillCommand(root) : '';
  const all: Result[] = [];
  const notes: string[] = [];
  for (const n of o.sizes) {
    for (const dut of o.duts) {
      if (dut === 'gobgp' && n >= 1_000_000 && o.skipGobgp1M) {
        notes.push(`GoBGP at ${n.toLocaleString('en')} prefixes skipped (BENCH_SKIP_GOBGP_1M=1); measured here before: about 54 s, 1.78 GB.`);
        continue;
      }
      process.stderr.write(`bench bgp: ${dut} with ${n.toLocaleString('en')} prefixes (${o.reps} run${o.reps > 1 ? 's' : ''})...\n`);
      const rs = await runOnce(o, dut, n, twillCmd);
      for (const r of rs) process.stdout.write(`${r.line || `dut=${dut} n=${n} status=${r.status}`}\n`);
      all.push(...rs);
    }
  }

  // Medians per DUT and size, over the successful runs.
  const summary = new Map<string, { conv?: number; rss?: number; cpu?: number; ok: number; runs: number }>();
  for (const n of o.sizes) {
    for (const dut of o.duts) {
      const rs = all.filter((r) => r.dut === dut && r.n === n);
      if (rs.length === 0) continue;
      const ok = rs.filter((r) => r.status === 'ok');
      summary.set(`${dut}/${n}`, {
        conv: median(ok.flatMap((r) => (r.convergeS === undefined ? [] : [r.convergeS]))),
        rss: median(ok.flatMap((r) => (r.rssMb === undefined ? [] : [r.rssMb]))),
        cpu: median(ok.flatMap((r) => (r.cpuS === undefined ? [] : [r.cpuS]))),
        ok: ok.length,
        runs: rs.length,
      });
    }
  }
  const rows: string[][] = [];
  for (const n of o.sizes) {
    for (const dut of o.duts) {
      const s = summary.get(`${dut}/${n}`);
      if (!s) continue;
      rows.push([dut, n.toLocaleString('en'), s.conv?.toFixed(3) ?? '-', s.rss?.toFixed(1) ?? '-', s.cpu?.toFixed(2) ?? '-', `${s.ok}/${s.runs} ok`]);
    }
  }
  process.stdout.write(`\nBGP transit convergence (injector → DUT → sink), medians:\n${table(['DUT', 'prefixes', 'converge s', 'peak RSS MB', 'CPU s', 'runs'], rows)}\n`);

  if (o.duts.includes('twill')) {
    const rrows: string[][] = [];
    for (const n of o.sizes) {
      const t = summary.get(`twill/${n}`);
      for (const other of o.duts) {
        if (other === 'twill') continue;
        const s = summary.get(`${other}/${n}`);
        if (!t || !s) continue;
        const verdict = t.conv !== undefined && s.conv !== undefined ? (t.conv < s.conv ? 'faster' : 'slower') : '';
        const mem = t.rss !== undefined && s.rss !== undefined ? (t.rss < s.rss ? 'less memory' : 'more memory') : '';
        rrows.push([`twill / ${other}`, n.toLocaleString('en'), ratio(t.conv, s.conv), ratio(t.rss, s.rss), [verdict, mem].filter(Boolean).join(', ')]);
      }
    }
    if (rrows.length > 0) process.stdout.write(`\ntwill-bgp's ratios (below 1 = twill-bgp is better):\n${table(['', 'prefixes', 'time', 'RSS', ''], rrows)}\n`);
  }
  for (const note of notes) process.stdout.write(`note: ${note}\n`);
  const failed = all.filter((r) => r.status !== 'ok');
  if (failed.length > 0) {
    process.stdout.write(`\n${failed.length} run(s) did not converge: ${failed.map((r) => `${r.dut}@${r.n}=${r.status}`).join(', ')}\n`);
    process.exitCode = 1;
  }
}
