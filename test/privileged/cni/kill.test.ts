// 200 ADDs of the built twill-cni, 50 of them SIGKILLed at random points, then GC with the
// survivors as valid attachments: IPAM clean (`twillctl ipam check`), no address twice, exactly
// the survivors' endpoints and veths left; a GC with no valid attachment then frees everything.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, type WorkloadEndpointResource } from '../../../src/api/types.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';
import { missing, uniquePrefix } from '../../support/env.js';
import { startEtcd, type EtcdServer } from '../../support/etcd.js';
import { NetnsPool, ipIn } from '../../support/netns.js';
import { bridgePortIntoNetns, type Bridge } from '../../support/netns-bridge.js';
import { startTwillNode, type TwillNodeProcess } from '../felix/harness.js';
import { assertBuilt, twillCni, twillctl, type Proc } from './harness.js';
import { runLimited as pool } from '../../bench/concurrency.js';

const reason = missing({ root: true, tools: ['etcd', 'iptables-restore', 'ipset', 'ip', 'socat', 'nsenter'] });
const N = 200;
const KILLED = 50;

describe.skipIf(reason)('twill-cni under SIGKILL (privileged)', () => {
  const ns = new NetnsPool(uniquePrefix('ck'));
  let etcd: EtcdServer;
  let ds: Datastore;
  let host: string;
  let node: TwillNodeProcess | undefined;
  let bridge: Bridge | undefined;

  beforeAll(async () => {
    assertBuilt();
    etcd = await startEtcd();
    ds = await openDatastore(etcd.url);
    host = ns.create('h');
    ipIn(host, ['link', 'set', 'lo', 'up']);
    bridge = await bridgePortIntoNetns(host, Number(new URL(etcd.endpoint).port));
    await ds.create({ apiVersion: API_VERSION, kind: 'IPPool', metadata: { name: 'k' }, spec: { cidr: '10.75.0.0/22', blockSize: 26 } });
    await ds.create({ apiVersion: API_VERSION, kind: 'Node', metadata: { name: 'host1' }, spec: {} });
    node = startTwillNode(host, 'host1', etcd.url, ['--log-level', 'warn']);
  });

  afterAll(async () => {
    await node?.stop();
    bridge?.stop();
    ns.cleanup();
    await ds?.close();
    await etcd?.destroy();
  });

  it(`${N} ADDs, ${KILLED} killed at random points, GC with the survivors: clean`, async () => {
    const conf = { cniVersion: '1.1.0', name: 'kn', type: 'twill-cni', datastore: etcd.url, nodename: 'host1', policySetupTimeout: 30 };
    const cid = (i: number): string => `kill-${i}`;
    const victims = new Set<number>();
    while (victims.size < KILLED) victims.add(Math.floor(Math.random() * N));
    for (let i = 0; i < N; i++) ns.create(`c${i}`);
    const results: Proc[] = await pool(
      Array.from({ length: N }, (_, i) => () =>
        twillCni(host, { command: 'ADD', containerID: cid(i), netns: `/run/netns/${ns.prefix}-c${i}`, ifname: 'eth0' }, conf, victims.has(i) ? 100 + Math.random() * 1500 : undefined),
      ),
      10,
    );
    const survivors = results.map((r, i) => ({ r, i })).filter(({ r, i }) => r.code === 0 || !victims.has(i));
    for (const { r } of survivors) expect(r.code, r.stdout + r.stderr).toBe(0);
    const addrs = survivors.map(({ r }) => (JSON.parse(r.stdout) as { ips: { address: string }[] }).ips[0]!.address);
    expect(new Set(addrs).size).toBe(addrs.length);

    const valid = survivors.map(({ i }) => ({ containerID: cid(i), ifname: 'eth0' }));
    const gc = await twillCni(host, { command: 'GC' }, { ...conf, 'cni.dev/valid-attachments': valid });
    expect(gc.code, gc.stdout).toBe(0);
    const check = await twillctl(etcd.url, 'ipam', 'check', '--grace', '0s');
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const eps = (await ds.list<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint' })).items;
    expect(eps.map((e) => e.spec.ipNetworks[0]).sort()).toEqual([...addrs].sort());
    const veths = ipIn(host, ['-o', 'link']).match(/ tw[0-9a-f]{13}[@:]/g) ?? [];
    expect(veths.length).toBe(survivors.length);

    const all = await twillCni(host, { command: 'GC' }, { ...conf, 'cni.dev/valid-attachments': [] });
    expect(all.code, all.stdout).toBe(0);
    expect((await ds.list({ kind: 'WorkloadEndpoint' })).items).toEqual([]);
    expect(ipIn(host, ['-o', 'link'])).not.toMatch(/ tw[0-9a-f]{13}/);
    const after = await twillctl(etcd.url, 'ipam', 'check', '--grace', '0s');
    expect(after.code, after.stdout + after.stderr).toBe(0);
  }, 600_000);
});
