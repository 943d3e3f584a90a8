// twill-node on a real 3-member etcd cluster over TLS (client and peer certificates made with
// openssl here): the leader killed in the middle of 1,000 changes, quorum lost for 30 s, a watch
// resumed after a compaction, and clients without the right certificate. Asserted on the host's
// kernel (iptables-save, routes) and with real traffic between workloads, not on the agent's word.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IPPoolResource, NetworkPolicyResource, Resource, WorkloadEndpointResource } from '../../../src/api/types.js';
import { AlreadyExistsError, ConflictError, NotFoundError, openDatastore, type Datastore } from '../../../src/datastore/index.js';
import { EXIT_UNREACHABLE } from '../../../src/lib/exit-codes.js';
import { missing, uniquePrefix } from '../../support/env.js';
import { startEtcdCluster, type EtcdCluster } from '../../support/etcd-cluster.js';
import { NetnsPool, ipIn, nsExec } from '../../support/netns.js';
import { bridgePortIntoNetns, type Bridge } from '../../support/netns-bridge.js';
import { makePki, type TestPki } from '../../support/pki.js';
import { Servers, addWorkload, tcp, type Workload } from '../../support/workload.js';
import { TWILLCTL, twillCni } from '../cni/harness.js';
import { ALLOW_ALL_PROFILE, startTwillNode, waitFor, workloadEndpoint, type TwillNodeProcess } from '../felix/harness.js';

const reason = missing({ root: true, tools: ['etcd', 'openssl', 'iptables-restore', 'ipset', 'ip', 'socat', 'nsenter'] });
const HEALTH = 19097;
/** Run inside the host namespace: prints /readiness's body, exits 0 on 200, 1 on 503, 2 when not answering. */
const probe = `fetch('http://127.0.0.1:${HEALTH}/readiness').then(async (r) => { process.stdout.write(await r.text()); process.exit(r.status === 200 ? 0 : 1); }, () => process.exit(2))`;

const meta = (name: string, namespace?: string): Resource['metadata'] => ({ name, ...(namespace ? { namespace } : {}) });

/** Into the servers (role == 'server'): TCP `port` from anyone, or only from `source`. */
function allowInto(name: string, port: number, source?: string): NetworkPolicyResource {
  return {
    apiVersion: 'twill.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(name, 'default'),
    spec: {
      selector: "role == 'server'",
      types: ['Ingress'],
      ingress: [{ action: 'Allow', protocol: 'TCP', ...(source ? { source: { selector: source } } : {}), destination: { ports: [port] } }],
    },
  };
}

/** A write as a careful client makes it across a failover: retried while the cluster elects, an
 * "already there" / "already gone" on a retry meaning the first try was applied. */
async function write(op: () => Promise<unknown>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await op();
      return;
    } catch (e) {
      if (attempt > 0 && (e instanceof AlreadyExistsError || e instanceof NotFoundError)) return;
      if (attempt >= 50) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe.skipIf(reason)('twill-node on a 3-member etcd cluster over TLS (privileged: members killed, quorum lost, real traffic)', () => {
  const pool = new NetnsPool(uniquePrefix('ec'));
  const servers = new Servers();
  let dir: string;
  let pki: TestPki;
  let cluster: EtcdCluster;
  let ds: Datastore;
  let host: string;
  let a: Workload;
  let b: Workload;
  let bridges: Bridge[] = [];
  let agent: TwillNodeProcess | undefined;

  const ready = (): { code: number; body: string } => {
    const r = nsExec(host, [process.execPath, '-e', probe]);
    return { code: r.code, body: r.stdout };
  };
  /** The filter table as the kernel has it, without counters. */
  const filterRules = (): string =>
    nsExec(host, ['iptables-save', '-t', 'filter']).stdout.split('\n').filter((l) => l.startsWith('-') || l.startsWith(':')).map((l) => l.replace(/ \[\d+:\d+\]$/, '')).join('\n');
  const routes = (): string => ipIn(host, ['route', 'show', 'table', 'all']);
  /** Destination ports of the test's numbered policies, as rendered in the kernel. */
  const numberedPorts = (): number[] =>
    [...filterRules().matchAll(/--dports? (\d+)/g)].map((m) => Number(m[1])).filter((p) => p >= 20_000 && p < 40_000).sort((x, y) => x - y);
  const bridgeAll = async (): Promise<void> => {
    bridges = await Promise.all(cluster.members.map((m) => bridgePortIntoNetns(host, m.clientPort)));
  };
  const unbridgeAll = (): void => {
    for (const br of bridges) br.stop();
    bridges = [];
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twill-etcd-cluster-'));
    pki = makePki(dir);
    cluster = await startEtcdCluster(pki, dir);
    ds = await openDatastore(cluster.url, { ...cluster.tls, timeoutMs: 2000 });
    host = pool.create('h');
    ipIn(host, ['link', 'set', 'lo', 'up']);
    // The agent runs inside the host namespace: every member's client port on its loopback.
    await bridgeAll();
    a = await addWorkload(pool, host, 'a', '10.67.0.1');
    b = await addWorkload(pool, host, 'b', '10.67.0.2');
    servers.tcp(b, 8080);
    servers.tcp(b, 9090);
    const ippool: IPPoolResource = { apiVersion: 'twill.io/v1', kind: 'IPPool', metadata: meta('main'), spec: { cidr: '10.68.0.0/16', blockSize: 26 } };
    for (const r of [ALLOW_ALL_PROFILE, ippool, workloadEndpoint('a', a, { role: 'client', gen: '0' }), workloadEndpoint('b', b, { role: 'server' }), allowInto('from-last-gen', 9090, "gen == '999'")]) await ds.create(r);
    agent = startTwillNode(host, 'host1', cluster.url, [
      '--etcd-ca', pki.ca, '--etcd-cert', pki.client.cert, '--etcd-key', pki.client.key,
      '--health-port', String(HEALTH), '--no-bgp',
    ]);
    await waitFor('twill-node ready', () => ready().code === 0, 60_000);
  }, 120_000);

  afterAll(async () => {
    if (process.env.TW_DEBUG) process.stderr.write(`--- twill-node log ---\n${agent?.log() ?? ''}\n`);
    await agent?.stop();
    servers.stopAll();
    unbridgeAll();
    pool.cleanup();
    await ds?.close();
    await cluster?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the leader killed in the middle of 1,000 policy and endpoint changes: twill-node stays up and every change reaches the kernel', { timeout: 180_000 }, async () => {
    // 600 policies created, 300 of them changed, 50 deleted, and 50 label changes of workload a.
    const steps: (() => Promise<unknown>)[] = [];
    for (let k = 0; k < 600; k++) steps.push(() => ds.create(allowInto(`p-${k}`, 20_000 + k)));
    for (let k = 0; k < 300; k++) steps.push(() => ds.upsert(allowInto(`p-${k}`, 30_000 + k)));
    for (let k = 500; k < 550; k++) steps.push(() => ds.delete({ kind: 'NetworkPolicy', namespace: 'default', name: `p-${k}` }));
    // Label changes of one object are compare-and-swap: a write that timed out during the election
    // may still be committed later, and a blind retry would then be overwritten by its stale twin.
    const relabel = async (gen: string): Promise<void> => {
      for (;;) {
        const cur = await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: 'default', name: 'a' });
        if (cur?.metadata.labels?.gen === gen) return;
        try {
          await ds.update({ ...cur!, metadata: { ...cur!.metadata, labels: { role: 'client', gen } } });
          return;
        } catch (e) {
          if (!(e instanceof ConflictError)) throw e;
        }
      }
    };
    for (let g = 950; g < 1000; g++) steps.push(() => relabel(String(g)));
    expect(steps).toHaveLength(1000);

    const leader = await cluster.leader();
    let killed: Promise<void> | undefined;
    try {
      for (const [i, step] of steps.entries()) {
        if (i === 300) killed = leader.kill();
        await write(step);
      }
      await killed;
      expect(leader.alive).toBe(false);
    } finally {
      await killed;
      await leader.start();
    }

    const want = [...Array.from({ length: 300 }, (_, k) => 30_000 + k), ...Array.from({ length: 200 }, (_, k) => 20_300 + k), ...Array.from({ length: 50 }, (_, k) => 20_550 + k)].sort((x, y) => x - y);
    let got: number[] = [];
    await waitFor('every change in the kernel', () => JSON.stringify((got = numberedPorts())) === JSON.stringify(want), 90_000).catch(() => undefined);
    expect({ missing: want.filter((p) => !got.includes(p)), extra: got.filter((p) => !want.includes(p)) }).toEqual({ missing: [], extra: [] });
    // The last label change is in the kernel too: a (gen 999) reaches b's 9090, nobody allows 8080.
    await waitFor('a reaches b:9090', () => tcp(a, b.ip, 9090), 30_000).catch(() => undefined);
    expect(tcp(a, b.ip, 9090)).toBe(true);
    expect(tcp(a, b.ip, 8080)).toBe(false);
    expect(ready().code).toBe(0);
    expect(agent?.log()).not.toMatch(/"level":"fatal"/);
  });

  beforeEach(async () => {
    // Each case starts from a whole cluster, whatever the one before left.
    for (const m of cluster.members) await m.start();
  }, 60_000);

  it('quorum lost for 30 s: the dataplane stays exactly as it was and keeps enforcing, readiness says why, a CNI ADD fails fast and leaves nothing; everything resumes', { timeout: 180_000 }, async () => {
    await waitFor('a reaches b:9090', () => tcp(a, b.ip, 9090), 30_000);
    const rulesBefore = filterRules();
    const routesBefore = routes();
    const linksBefore = ipIn(host, ['-o', 'link']).split('\n').length;
    const [, m2, m3] = cluster.members;
    const lostAt = Date.now();
    await Promise.all([m2!.kill(), m3!.kill()]);

    let r = ready();
    await waitFor('readiness 503', () => (r = ready()).code === 1, 60_000);
    expect(JSON.parse(r.body)).toMatchObject({ ready: false, reasons: [expect.stringMatching(/datastore/)] });
    // Enforcing as before: the allowed flow passes, the denied one does not.
    expect(tcp(a, b.ip, 9090)).toBe(true);
    expect(tcp(a, b.ip, 8080)).toBe(false);

    // A runtime adding a container now gets a clear error, not a hang, and nothing is left behind.
    const netns = pool.create('c');
    const add = await twillCni(
      host,
      { command: 'ADD', containerID: `${pool.prefix}-quorum-0123456789`, netns: `/run/netns/${netns}`, ifname: 'eth0' },
      { cniVersion: '1.0.0', name: 'twnet', type: 'twill-cni', datastore: cluster.url, nodename: 'host1', etcd_ca_cert_file: pki.ca, etcd_cert_file: pki.client.cert, etcd_key_file: pki.client.key, ipam: { type: 'twill-ipam' } },
      60_000,
    );
    expect(add.code, `${add.stdout}\n${add.stderr}`).not.toBe(null); // not killed by our 60 s guard
    expect(add.code).not.toBe(0);
    const err = JSON.parse(add.stdout) as { msg: string; details?: string };
    expect(`${err.msg} ${err.details ?? ''}`).toMatch(/etcd|datastore/i);
    expect(ipIn(host, ['-o', 'link']).split('\n').length).toBe(linksBefore);

    // Hold the outage for the whole 30 s, checking the kernel is untouched throughout.
    while (Date.now() - lostAt < 30_000) {
      expect(filterRules()).toBe(rulesBefore);
      expect(routes()).toBe(routesBefore);
      await new Promise((res) => setTimeout(res, 2000));
    }
    expect(tcp(a, b.ip, 9090)).toBe(true);
    expect(tcp(a, b.ip, 8080)).toBe(false);

    await Promise.all([m2!.start(), m3!.start()]);
    await waitFor('ready again', () => ready().code === 0, 60_000);
    // A change made after the outage takes effect, and the failed ADD left no address behind.
    await write(() => ds.create(allowInto('after-outage', 8080)));
    await waitFor('a reaches b:8080', () => tcp(a, b.ip, 8080), 30_000);
    const check = spawnSync(process.execPath, [TWILLCTL, '--datastore', cluster.url, '--etcd-ca', pki.ca, '--etcd-cert', pki.client.cert, '--etcd-key', pki.client.key, 'ipam', 'check', '--grace', '0s'], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toContain('No problems found.');
  });

  it('a watch resumed after its history was compacted relists and misses no delete', { timeout: 120_000 }, async () => {
    expect(numberedPorts()).toContain(20_550);
    // Cut the agent off every member, change things, compact the history it would resume from.
    unbridgeAll();
    await write(() => ds.delete({ kind: 'NetworkPolicy', namespace: 'default', name: 'p-550' }));
    await write(() => ds.delete({ kind: 'NetworkPolicy', namespace: 'default', name: 'after-outage' }));
    await cluster.compact();
    await new Promise((res) => setTimeout(res, 2000));
    expect(numberedPorts()).toContain(20_550); // it could not have heard yet
    await bridgeAll();
    await waitFor('p-550 gone from the kernel', () => !numberedPorts().includes(20_550), 60_000);
    await waitFor('a no longer reaches b:8080', () => !tcp(a, b.ip, 8080), 30_000);
    expect(tcp(a, b.ip, 9090)).toBe(true);
    await waitFor('ready', () => ready().code === 0, 30_000);
  });

  it('a client with no certificate, or one signed by another CA, is refused and told why', () => {
    const ctl = (...args: string[]) => spawnSync(process.execPath, [TWILLCTL, '--datastore', cluster.url, ...args, 'get', 'ippool'], { encoding: 'utf8' });
    const noCert = ctl('--etcd-ca', pki.ca);
    expect(noCert.status).toBe(EXIT_UNREACHABLE);
    expect(noCert.stderr).toMatch(/--etcd-cert/);
    const wrongCa = ctl('--etcd-ca', pki.otherCa, '--etcd-cert', pki.client.cert, '--etcd-key', pki.client.key);
    expect(wrongCa.status).toBe(EXIT_UNREACHABLE);
    expect(wrongCa.stderr).toMatch(/--etcd-ca/);
    const good = ctl('--etcd-ca', pki.ca, '--etcd-cert', pki.client.cert, '--etcd-key', pki.client.key);
    expect(good.status, good.stderr).toBe(0);
    expect(good.stdout).toContain('main');
  });
});
