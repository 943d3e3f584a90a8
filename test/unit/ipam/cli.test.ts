import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run, type CliIo } from '../../../src/cli/program.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';
import { Ipam } from '../../../ipam/index.js';
import { node, pool, snapshot, wep } from './fixtures.js';

let dir: string;
let url: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'twill-ipam-cli-'));
  url = `file:${join(dir, 'ds.json')}`;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function withStore<T>(f: (ds: Datastore) => Promise<T>): Promise<T> {
  const ds = await openDatastore(url);
  try {
    return await f(ds);
  } finally {
    await ds.close();
  }
}

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), readStdin: async () => '', env: {} };
  const code = await run(['--datastore', url, ...argv], io);
  return { code, out, err };
}

describe('twillctl ipam', () => {
  it('show counts addresses per pool and per block with owners', async () => {
    await withStore(async (ds) => {
      await ds.create(pool('pool-a', '10.65.0.0/24', { blockSize: 28 }));
      await ds.create(node('h1'));
      const ipam = new Ipam(ds);
      await ipam.autoAssign({ node: 'h1', handleID: 'n.1', num4: 3 });
      await ipam.autoAssign({ node: 'gone', handleID: 'n.2', num4: 2 });
    });
    const r = await cli('ipam', 'show', '--show-blocks');
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^POOL\s+CIDR\s+BLOCK SIZE\s+IPS TOTAL\s+IPS IN USE\s+IPS FREE\s+BLOCKS CLAIMED$/);
    expect(lines[1]).toMatch(/^pool-a\s+10\.65\.0\.0\/24\s+\/28\s+256\s+5 \(2%\)\s+251\s+2\/16$/);
    expect(r.out).toMatch(/10\.65\.0\.0\/28\s+pool-a\s+h1\s+16\s+3 \(19%\)\s+13\s+0/);
    expect(r.out).toMatch(/10\.65\.0\.16\/28\s+pool-a\s+gone \(no Node resource\)\s+16\s+2 \(13%\)\s+14/);
    const j = await cli('ipam', 'show', '-o', 'json');
    expect(JSON.parse(j.out).totals).toEqual({ inUse: 5, blocks: 2 });
  });

  it('check exits 3 with evidence, writes a report, release --from-report fixes it, check is then clean', async () => {
    let leaked = '';
    await withStore(async (ds) => {
      await ds.create(pool('pool-a', '10.65.0.0/24'));
      await ds.create(node('h1'));
      const ipam = new Ipam(ds);
      const ok = (await ipam.autoAssign({ node: 'h1', handleID: 'n.ok', num4: 1 })).ips[0]!;
      await ds.create(wep('ok', 'h1', [ok.ip], 'ok'));
      leaked = (await ipam.autoAssign({ node: 'h1', handleID: 'n.leak', num4: 1, attrs: { namespace: 'ns', pod: 'p' } })).ips[0]!.ip;
    });
    const report = join(dir, 'report.json');
    const c = await cli('ipam', 'check', '--grace', '0s', '-o', report);
    expect(c.code).toBe(4);
    expect(c.out).toContain(`PROBLEM [leaked-allocation] address ${leaked} is allocated to handle n.leak (pod ns/p, node h1) but no workload endpoint uses it`);
    expect(c.out).toContain(`twillctl ipam release --from-report ${report}`);
    const saved = JSON.parse(readFileSync(report, 'utf8'));
    expect(saved.problems[0].evidence).toMatchObject({ ip: leaked, handleID: 'n.leak', reason: 'no WorkloadEndpoint lists this address' });
    const rel = await cli('ipam', 'release', '--from-report', report);
    expect(rel.code).toBe(0);
    expect(rel.out).toContain(`fixed   released ${leaked} (handle n.leak)`);
    const again = await cli('ipam', 'check', '--grace', '0s');
    expect(again.code).toBe(0);
    expect(again.out).toContain('No problems found.');
    // Applying the same (now stale) report again changes nothing.
    const stale = await cli('ipam', 'release', '--from-report', report);
    expect(stale.out).toContain(`skipped ${leaked} is no longer allocated`);
  });

  it('release --ip frees an address; bad input gets a clear message and changes nothing', async () => {
    let ip = '';
    await withStore(async (ds) => {
      await ds.create(pool('pool-a', '10.65.0.0/24'));
      ip = (await new Ipam(ds).autoAssign({ node: 'h1', handleID: 'n.1', num4: 1 })).ips[0]!.ip;
    });
    const before = await withStore(snapshot);
    const free = ip === '10.65.0.9' ? '10.65.0.10' : '10.65.0.9';
    const cases: [string[], string][] = [
      [['ipam', 'release', '--ip', free], `error: address ${free} is not allocated`],
      [['ipam', 'release', '--ip', ip, '--ip', free], `error: address ${free} is not allocated`],
      [['ipam', 'release', '--ip', 'banana'], 'error: cannot release "banana"'],
      [['ipam', 'release', '--handle', 'n.none'], 'error: IPAM handle "n.none" does not exist'],
      [['ipam', 'release'], 'error: say what to release'],
      [['ipam', 'release', '--ip', ip, '--handle', 'n.1'], 'error: use only one of --ip, --handle'],
      [['ipam', 'release', '--from-report', join(dir, 'missing.json')], 'error: cannot read report'],
      [['ipam', 'check', '--grace', '10'], 'has no unit'],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli(...argv);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.err, argv.join(' ')).toContain(msg);
    }
    expect(await withStore(snapshot)).toBe(before);
    const ok = await cli('ipam', 'release', '--ip', ip);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain(`released ${ip} (handle n.1`);
    const show = await cli('ipam', 'show');
    expect(show.out).toContain('0 address(es) in use');
  });
});
