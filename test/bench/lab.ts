// `npm run bench -- lab [--sizes 3x9,10x10]`: seconds from `twill-lab up` to a verified matrix for
// H hosts × W workloads per host (one rack, mesh, no policy: every cell must answer), and the
// peak memory of the Twill processes (the twill-node of every host: the sum of each one's peak RSS,
// an upper bound of their peak together). One line per size. Runs the built twill-lab as a user does.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LAB = join(DIST, 'src/lab/main.js');
const ROOT = '/run/twill-lab-bench';

function model(hosts: number, perHost: number): string {
  const lines = ['name: bench', `hosts: ${hosts}`, 'namespaces: [{ name: b }]', 'workloads:'];
  for (let h = 1; h <= hosts; h++) {
    for (let w = 1; w <= perHost; w++) lines.push(`  - { name: w${h}-${w}, namespace: b, host: h${h}, ports: [80] }`);
  }
  return `${lines.join('\n')}\n`;
}

function lab(args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [LAB, ...args], { encoding: 'utf8', timeout: 1_800_000, env: { ...process.env, TWILL_LAB_ROOT: ROOT }, maxBuffer: 1 << 28 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

function peakRssMb(pid: number): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export default async function main(args: string[]): Promise<void> {
  const i = args.indexOf('--sizes');
  const sizes = (i >= 0 ? args[i + 1]! : '3x9,10x10').split(',').map((s) => s.split('x').map(Number) as [number, number]);
  for (const [hosts, perHost] of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'twill-lab-bench-'));
    const file = join(dir, 'model.yaml');
    writeFileSync(file, model(hosts, perHost));
    lab(['down', '--name', 'bench']);
    const t0 = Date.now();
    const up = lab(['up', '-f', file, '--name', 'bench']);
    const tUp = (Date.now() - t0) / 1000;
    if (up.code !== 0) {
      process.stdout.write(`lab hosts=${hosts} workloads=${hosts * perHost} up failed: ${(up.out + up.err).slice(-2000)}\n`);
      lab(['down', '--name', 'bench']);
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    const v = lab(['verify', '--name', 'bench', '-o', 'json']);
    const tVerified = (Date.now() - t0) / 1000;
    let cells = 0;
    let ok = false;
    try {
      const r = JSON.parse(v.out) as { ok: boolean; cells: unknown[] };
      cells = r.cells.length;
      ok = r.ok;
    } catch {
      process.stderr.write(`lab verify gave no JSON (exit ${v.code}): ${v.err.slice(-2000)}\n`);
    }
    const state = JSON.parse(readFileSync(join(ROOT, 'bench', 'state.json'), 'utf8')) as { procs: { role: string; pid: number }[] };
    const nodes = state.procs.filter((p) => p.role === 'node');
    const rss = nodes.map((p) => peakRssMb(p.pid));
    const total = rss.reduce((a, b) => a + b, 0);
    process.stdout.write(
      `lab hosts=${hosts} workloads=${hosts * perHost} up_s=${tUp.toFixed(1)} up_to_verified_s=${tVerified.toFixed(1)} cells=${cells} verified=${ok} ` +
        `twill_node_peak_rss_mb_sum=${total.toFixed(0)} per_node_mb=${(total / Math.max(1, nodes.length)).toFixed(0)} loadavg=${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}\n`,
    );
    lab(['down', '--name', 'bench']);
    rmSync(dir, { recursive: true, force: true });
  }
}
