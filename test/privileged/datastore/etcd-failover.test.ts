// A client of a 3-member etcd cluster (TLS, client certificates) with one member dead: every call
// succeeds on the first try as the user sees it — fresh `twillctl` processes (each picks its hosts
// afresh) and one long-lived in-process client, reads and writes — and a restarted member is used
// again. One cluster for the whole file.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GlobalNetworkSetResource, IPPoolResource } from '../../../src/api/types.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';
import { missing } from '../../support/env.js';
import { startEtcdCluster, type EtcdCluster } from '../../support/etcd-cluster.js';
import { makePki, type TestPki } from '../../support/pki.js';
import { TWILLCTL } from '../cni/harness.js';

const reason = missing({ tools: ['etcd', 'openssl'] });

function pool(name: string, cidr: string): IPPoolResource {
  return { apiVersion: 'twill.io/v1', kind: 'IPPool', metadata: { name }, spec: { cidr, blockSize: 26 } };
}

function netSet(name: string, cidr: string): GlobalNetworkSetResource {
  return { apiVersion: 'twill.io/v1', kind: 'GlobalNetworkSet', metadata: { name }, spec: { nets: [cidr] } };
}

/** One twillctl process; resolves with its exit code and output. */
function twillctl(cluster: EtcdCluster, args: string[], stdin = ''): Promise<{ code: number | null; out: string }> {
  const t = cluster.tls;
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [TWILLCTL, '--datastore', cluster.url, '--etcd-ca', t.etcdCa, '--etcd-cert', t.etcdCert, '--etcd-key', t.etcdKey, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => void (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => void (out += d.toString()));
    p.on('close', (code) => resolve({ code, out }));
    p.stdin.end(stdin);
  });
}

/** Runs `n` jobs, `width` at a time. */
async function inBatches<T>(n: number, width: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += width) {
    out.push(...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, j) => job(i + j)))));
  }
  return out;
}

/** How many Range calls the member on `port` has served (its own /metrics, over client TLS). */
function rangesServed(cluster: EtcdCluster, port: number): Promise<number> {
  const t = cluster.tls;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/metrics', ca: readFileSync(t.etcdCa), cert: readFileSync(t.etcdCert), key: readFileSync(t.etcdKey) },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => void (body += d.toString()));
        res.on('end', () => {
          const line = body.split('\n').find((l) => l.startsWith('grpc_server_handled_total{') && l.includes('grpc_method="Range"') && l.includes('grpc_code="OK"'));
          resolve(line ? Number(line.split(' ').pop()) : 0);
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe.skipIf(reason)('etcd client failover: one member of three dead (privileged tier: real TLS cluster)', () => {
  let dir: string;
  let pki: TestPki;
  let cluster: EtcdCluster;
  let ds: Datastore;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twill-etcd-failover-'));
    pki = makePki(dir);
    cluster = await startEtcdCluster(pki, dir);
    ds = await openDatastore(cluster.url, { ...cluster.tls, timeoutMs: 5000 });
    await ds.create(pool('seed', '10.70.0.0/16'));
  }, 60_000);

  afterAll(async () => {
    await ds?.close();
    await cluster?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('with one member killed, 30 fresh twillctl reads and writes (20 + 10) and 60 in-process calls all succeed at the first try', async () => {
    const dead = cluster.members.find((m) => m.name === 'm2')!;
    await dead.kill();

    const reads = await inBatches(20, 10, () => twillctl(cluster, ['get', 'ippool', 'seed', '-o', 'json']));
    expect(reads.filter((r) => r.code !== 0).map((r) => r.out)).toEqual([]);
    for (const r of reads) expect(r.out).toContain('10.70.0.0/16');
    // TLS to an IP endpoint: no Node deprecation noise (DEP0123) on the user's terminal.
    for (const r of reads) expect(r.out).not.toContain('DEP0123');

    const writes = await inBatches(10, 10, (i) => twillctl(cluster, ['create', '-f', '-'], JSON.stringify(netSet(`cli-${i}`, `10.71.${i}.0/24`))));
    expect(writes.filter((r) => r.code !== 0).map((r) => r.out)).toEqual([]);

    const failures: string[] = [];
    for (let i = 0; i < 30; i++) {
      await ds.create(netSet(`lib-${i}`, `10.72.${i}.0/24`)).catch((e: unknown) => failures.push(`create: ${String(e)}`));
      await ds.get({ kind: 'IPPool', name: 'seed' }).catch((e: unknown) => failures.push(`get: ${String(e)}`));
    }
    expect(failures).toEqual([]);
    expect((await ds.list({ kind: 'GlobalNetworkSet' })).items).toHaveLength(40);
  }, 120_000);

  it('a restarted member is used again by a client that saw it dead', async () => {
    const member = cluster.members.find((m) => m.name === 'm2')!;
    await member.start();
    const before = await rangesServed(cluster, member.clientPort);
    // Reads spread over the members again once the member has been skipped for its second (more
    // than a few: the member's own readiness probe may be counted after `before`).
    let served = before;
    for (let i = 0; i < 300 && served < before + 5; i++) {
      await ds.get({ kind: 'IPPool', name: 'seed' });
      await new Promise((r) => setTimeout(r, 20));
      if (i % 10 === 9) served = await rangesServed(cluster, member.clientPort);
    }
    expect(served).toBeGreaterThanOrEqual(before + 5);
  }, 60_000);

  it('quorum lost: a watch on the member that survives reports the outage (it would stay open and silent), and resumes with quorum', async () => {
    const [m1, m2, m3] = cluster.members;
    // A client of m1 alone, so its watch is certainly on the member that survives.
    const one = await openDatastore(`etcd://127.0.0.1:${m1!.clientPort}`, { ...cluster.tls, timeoutMs: 3000 });
    const events: string[] = [];
    // From a listed revision: a watch "from now" may start after the create below.
    const { revision } = await one.list({ kind: 'GlobalNetworkSet' });
    const w = one.watch({ kind: 'GlobalNetworkSet', afterRevision: revision }, (ev) => events.push(ev.type));
    try {
      await one.create(netSet('watch-probe', '10.73.0.0/24'));
      await waitUntil(() => events.includes('added'), 20_000, `the watch sees a create (events: ${events.join(',')})`);
      await Promise.all([m2!.kill(), m3!.kill()]);
      await waitUntil(() => events.includes('error'), 30_000, `an error event on quorum loss (events: ${events.join(',')})`);
      await Promise.all([m2!.start(), m3!.start()]);
      await waitUntil(() => events.includes('resumed'), 30_000, `a resumed event once quorum is back (events: ${events.join(',')})`);
    } finally {
      await w.close();
      await one.close();
    }
  }, 120_000);
});

async function waitUntil(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
