// twill-ipam against a real etcd, run exactly as a container runtime runs it: the BUILT program
// (`node dist/src/cni/twill-ipam.js`, so run `npm run build` first), one process per call, many at
// once. Then twillctl (also built) shows and checks the result.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../../../src/api/types.js';
import { cidrContains, parseCidr, parseIp } from '../../../src/api/cidr.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';
import type { IPAMBlockResource } from '../../../src/api/types.js';
import { gcPass, newGcState, checkIpam, Ipam } from '../../../ipam/index.js';
import { missing } from '../../support/env.js';
import { EXIT_PROBLEMS } from '../../../src/lib/exit-codes.js';
import { startEtcd, type EtcdServer } from '../../support/etcd.js';
import { runLimited as pool } from '../../bench/concurrency.js';

const ROOT = resolve(__dirname, '../../..');
const PLUGIN = join(ROOT, 'dist/src/cni/twill-ipam.js');
const CTL = join(ROOT, 'dist/src/cli/main.js');
const skip = missing({ tools: ['etcd'] });

interface Proc {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runProc(cmd: string, args: string[], env: Record<string, string>, stdin: string, killAfterMs?: number): Promise<Proc> {
  return new Promise((done, fail) => {
    const p = spawn(cmd, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', fail);
    p.stdin.on('error', () => undefined); // a killed child may not read its stdin
    p.stdin.end(stdin);
    const t = killAfterMs !== undefined ? setTimeout(() => p.kill('SIGKILL'), killAfterMs) : undefined;
    p.on('close', (code, signal) => {
      if (t) clearTimeout(t);
      done({ code, signal, stdout, stderr });
    });
  });
}

describe.skipIf(skip)('twill-ipam CNI plugin with real etcd (built programs)', () => {
  let server: EtcdServer;
  let ds: Datastore;
  let dir: string;
  const HOSTS = Array.from({ length: 10 }, (_, i) => `host${i}`);

  beforeAll(async () => {
    if (!existsSync(PLUGIN) || !existsSync(CTL)) {
      throw new Error(`${PLUGIN} or ${CTL} is missing: run "npm run build" first`);
    }
    dir = mkdtempSync(join(tmpdir(), 'twill-ipam-e-'));
    server = await startEtcd();
    ds = await openDatastore(server.url);
    await ds.create({ apiVersion: API_VERSION, kind: 'IPPool', metadata: { name: 'pool-a' }, spec: { cidr: '10.65.0.0/16' } });
    for (const h of HOSTS) await ds.create({ apiVersion: API_VERSION, kind: 'Node', metadata: { name: h }, spec: {} });
  });
  afterAll(async () => {
    await ds?.close();
    await server?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const conf = (node: string): string =>
    JSON.stringify({ cniVersion: '1.0.0', name: 'twnet', type: 'twill-cni', ipam: { type: 'twill-ipam', datastore: server.url, nodename: node } });
  const cni = (command: string, node: string, cid: string, killAfterMs?: number): Promise<Proc> =>
    runProc(
      process.execPath,
      [PLUGIN],
      { CNI_COMMAND: command, CNI_CONTAINERID: cid, CNI_IFNAME: 'eth0', CNI_NETNS: `/var/run/netns/${cid}`, CNI_ARGS: `K8S_POD_NAMESPACE=load;K8S_POD_NAME=${cid}` },
      conf(node),
      killAfterMs,
    );
  const ctl = (...args: string[]): Promise<Proc> => runProc(process.execPath, [CTL, '--datastore', server.url, ...args], {}, '');

  it('500 concurrent ADDs from 10 hosts: distinct addresses in the hosts\' own blocks; 500 DELs free them all', async () => {
    const jobs = Array.from({ length: 500 }, (_, i) => ({ node: HOSTS[i % HOSTS.length] as string, cid: `c${String(i).padStart(4, '0')}` }));
    const adds = await pool(jobs.map((j) => () => cni('ADD', j.node, j.cid)), 25);
    const failures = adds.map((r, i) => ({ r, i })).filter(({ r }) => r.code !== 0);
    expect(failures.map(({ r }) => r.stdout + r.stderr)).toEqual([]);
    const addresses = adds.map((r) => {
      const res = JSON.parse(r.stdout) as { cniVersion: string; ips: { address: string }[] };
      expect(res.cniVersion).toBe('1.0.0');
      expect(res.ips).toHaveLength(1);
      return res.ips[0]!.address;
    });
    expect(new Set(addresses).size).toBe(500);

    // Each address lies in a block of its own host, unless ipam reports it as borrowed.
    const { items: blocks } = await ds.list<IPAMBlockResource>({ kind: 'IPAMBlock' });
    const ipam = new Ipam(ds);
    let borrowed = 0;
    for (let i = 0; i < jobs.length; i++) {
      const ip = parseIp(addresses[i]!.replace(/\/32$/, ''));
      const block = blocks.find((b) => cidrContains(parseCidr(b.spec.cidr), ip));
      expect(block, addresses[i]).toBeDefined();
      if (block!.spec.affinity !== `host:${jobs[i]!.node}`) {
        const held = await ipam.handleAssignments(`twnet.${jobs[i]!.cid}`);
        expect(held[0]!.borrowed).toBe(true);
        borrowed++;
      }
    }
    expect(borrowed).toBe(0); // the pool has room: nobody needs to borrow
    process.stdout.write(`500 ADDs: ${blocks.length} blocks claimed by ${HOSTS.length} hosts\n`);
    // Every block belongs to exactly one host; no host holds a block of another.
    for (const b of blocks) expect(HOSTS.map((h) => `host:${h}`)).toContain(b.spec.affinity);

    const show = await ctl('ipam', 'show', '--show-blocks');
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^pool-a\s+10\.65\.0\.0\/16\s+\/26\s+65536\s+500 \(0\.76%\)\s+65036\s+\d+\/1024$/m);
    expect(show.stdout).toContain('500 address(es) in use');

    const dels = await pool(jobs.map((j) => () => cni('DEL', j.node, j.cid)), 25);
    expect(dels.filter((r) => r.code !== 0).map((r) => r.stdout + r.stderr)).toEqual([]);
    const after = await ctl('ipam', 'show');
    expect(after.stdout).toContain('0 address(es) in use');
    expect(after.stdout).toMatch(/^pool-a\s+10\.65\.0\.0\/16\s+\/26\s+65536\s+0 \(0%\)\s+65536\s/m);
    const check = await ctl('ipam', 'check', '--grace', '0s');
    expect(check.stdout).toContain('No problems found.');
    expect(check.code).toBe(0);
    expect((await ds.list({ kind: 'IPAMHandle' })).items).toEqual([]);
  }, 900_000);

  it('ADD processes killed with SIGKILL leave only explained leaks, which GC reclaims after the grace period', async () => {
    // Start from a clean slate even if the test before failed half-way.
    for (const kind of ['IPAMHandle', 'IPAMBlock', 'BlockAffinity'] as const) {
      for (const r of (await ds.list({ kind })).items) await ds.delete({ kind, name: r.metadata.name });
    }
    // Kill at spread-out moments, so some die before writing and some right after.
    const victims = Array.from({ length: 16 }, (_, i) => ({ node: HOSTS[i % 3] as string, cid: `k${i}`, after: 150 + i * 60 }));
    const results = await pool(victims.map((v) => () => cni('ADD', v.node, v.cid, v.after)), 8);
    const killed = results.filter((r) => r.signal === 'SIGKILL').length;
    expect(killed).toBeGreaterThan(0);

    const reportFile = join(dir, 'report.json');
    const check = await ctl('ipam', 'check', '--grace', '0s', '-o', reportFile);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Awaited<ReturnType<typeof checkIpam>>;
    const victimHandles = new Set(victims.map((v) => `twnet.${v.cid}`));
    // Nothing unexplained: only leaked allocations of the processes we started, with their evidence.
    for (const p of report.problems) {
      expect(p.type, p.message).toBe('leaked-allocation');
      expect(victimHandles.has(String(p.evidence.handleID)), p.message).toBe(true);
      expect(p.evidence.reason).toBe('no WorkloadEndpoint lists this address');
    }
    expect(check.code).toBe(report.problems.length > 0 ? EXIT_PROBLEMS : 0);
    const leaks = report.problems.length;
    // Every process that finished (not killed) got an address, and it is among the leaks (no endpoints here).
    const finished = results.filter((r) => r.code === 0).length;
    expect(leaks).toBeGreaterThanOrEqual(finished);

    // GC: nothing before the grace period, all of it after.
    const st = newGcState();
    const t0 = Date.now();
    const first = await gcPass(ds, st, t0, { graceMs: 60_000 });
    expect(first.released).toEqual([]);
    expect(first.waiting).toBe(leaks);
    const second = await gcPass(ds, st, t0 + 60_000, { graceMs: 60_000 });
    expect(second.released).toHaveLength(leaks);
    const clean = await ctl('ipam', 'check', '--grace', '0s');
    expect(clean.stdout).toContain('No problems found.');
    expect(clean.code).toBe(0);
  }, 300_000);
});
