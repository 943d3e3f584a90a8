// twill-cni in-process over fakes (memory datastore, in-memory netlink kernel): the command logic,
// fast. The real thing (kernel, etcd, twill-node, podman) is test/privileged/cni/.
import { describe, expect, it } from 'vitest';
import { API_VERSION, type WorkloadEndpointResource } from '../../../src/api/types.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';
import { FakeKernel } from '../../../src/netlink/fake/index.js';
import { runTwillCni } from '../../../cni/plugin.js';
import { readTwillCniConfig } from '../../../cni/config.js';
import { parseNetConf } from '../../../cni/protocol.js';
import { workloadEndpointName, workloadIface, workloadSpecHash } from '../../../src/workload/index.js';

interface Rig {
  ds: Datastore;
  kernel: FakeKernel;
  call(env: Record<string, string>, conf: Record<string, unknown> | string): Promise<{ exitCode: number; json: Record<string, unknown> | undefined }>;
}

async function rig(): Promise<Rig> {
  const ds = await openDatastore('memory:');
  await ds.create({ apiVersion: API_VERSION, kind: 'IPPool', metadata: { name: 'p' }, spec: { cidr: '10.80.0.0/24' } });
  const kernel = new FakeKernel();
  // Every call shares the one store; the plugin's close() must not close it.
  const shared = new Proxy(ds, {
    get: (t, k: string | symbol) => {
      if (k === 'close') return async () => undefined;
      const v = Reflect.get(t, k, t) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
  return {
    ds,
    kernel,
    call: async (env, conf) => {
      const out = await runTwillCni({
        env,
        stdin: typeof conf === 'string' ? conf : JSON.stringify(conf),
        openStore: async () => shared,
        hostname: () => 'h1',
        openNetlink: (ref) => kernel.open(ref),
      });
      return { exitCode: out.exitCode, json: out.stdout ? (JSON.parse(out.stdout) as Record<string, unknown>) : undefined };
    },
  };
}

const conf = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ cniVersion: '1.0.0', name: 'net1', type: 'twill-cni', datastore: 'memory:', policySetupTimeout: 0, mtu: 1400, ...extra });
const env = (command: string, cid: string, ns = 'c1'): Record<string, string> => ({ CNI_COMMAND: command, CNI_CONTAINERID: cid, CNI_NETNS: `/run/netns/${ns}`, CNI_IFNAME: 'eth0', CNI_PATH: '/nonexistent' });

/** Plays twill-node: marks every endpoint of node h1 programmed with its spec hash. */
function fakeNode(ds: Datastore): { stop(): Promise<void> } {
  const w = ds.watch({ kind: 'WorkloadEndpoint' }, (ev) => {
    if (ev.type !== 'added') return;
    const r = ev.resource as WorkloadEndpointResource;
    void ds.update({ ...r, status: { programmed: true, programmedBy: 'h1', specHash: workloadSpecHash(r.spec) } });
  });
  return { stop: () => w.close() };
}

describe('twill-cni (in-process, fakes)', () => {
  it('ADD wires the veth, writes endpoint and profile, waits for programming; DEL removes all, twice', async () => {
    const { ds, kernel, call } = await rig();
    kernel.addNetns('c1');
    const node = fakeNode(ds);
    const r = await call(env('ADD', 'abc'), conf({ policySetupTimeout: 5, args: { cni: { labels: [{ key: 'app', value: 'web' }] } } }));
    await node.stop();
    expect(r.exitCode, JSON.stringify(r.json)).toBe(0);
    const hostIf = workloadIface('abc');
    expect(r.json).toMatchObject({ cniVersion: '1.0.0', interfaces: [{ name: hostIf, mac: 'ee:ee:ee:ee:ee:ee' }, { name: 'eth0', sandbox: '/run/netns/c1' }] });
    const ip = ((r.json!.ips as { address: string }[])[0]!.address).replace('/32', '');
    const host = await kernel.open();
    const link = await host.linkGet(hostIf);
    expect(link).toMatchObject({ mac: 'ee:ee:ee:ee:ee:ee', mtu: 1400, up: true });
    expect(await host.sysctlGet(`net/ipv4/conf/${hostIf}/proxy_arp`)).toBe('1');
    const ctr = await kernel.open({ name: 'c1' });
    const eth0 = await ctr.linkGet('eth0');
    expect((await ctr.addrList({ ifindex: eth0!.index })).map((a) => `${a.address}/${a.prefixLength}`)).toContain(`${ip}/32`);
    expect((await ctr.routeList({ family: 4 })).some((x) => x.dst === '0.0.0.0/0' && x.gateway === '169.254.1.1')).toBe(true);
    expect((await ctr.neighList()).find((n) => n.address === '169.254.1.1')).toMatchObject({ mac: 'ee:ee:ee:ee:ee:ee', state: 'permanent' });
    const name = workloadEndpointName({ node: 'h1', orchestrator: 'cni', workload: 'abc', endpoint: 'eth0' });
    const w = await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: 'default', name });
    expect(w?.metadata.labels).toEqual({ app: 'web' });
    expect(w?.spec).toMatchObject({ interfaceName: hostIf, ipNetworks: [`${ip}/32`], profiles: ['net1'], containerID: 'abc' });
    expect(await ds.get({ kind: 'Profile', name: 'net1' })).toMatchObject({ spec: { labelsToApply: { 'twill.io/network': 'net1' } } });

    expect((await call(env('DEL', 'abc'), conf())).exitCode).toBe(0);
    expect(await host.linkGet(hostIf)).toBeUndefined();
    expect(await ds.get({ kind: 'WorkloadEndpoint', namespace: 'default', name })).toBeUndefined();
    expect((await ds.list({ kind: 'IPAMHandle' })).items).toEqual([]);
    expect((await call(env('DEL', 'abc'), conf())).exitCode).toBe(0);
  });

  it('a policy that is not programmed in time: code 113 and nothing left behind', async () => {
    const { ds, kernel, call } = await rig();
    kernel.addNetns('c1');
    const r = await call(env('ADD', 'slow'), conf({ policySetupTimeout: 0.2 }));
    expect(r.exitCode).toBe(1);
    expect(r.json).toMatchObject({ code: 113 });
    expect(String(r.json!.msg)).toContain('did not program the policy');
    expect(await (await kernel.open()).linkGet(workloadIface('slow'))).toBeUndefined();
    expect((await ds.list({ kind: 'WorkloadEndpoint' })).items).toEqual([]);
    expect((await ds.list({ kind: 'IPAMHandle' })).items).toEqual([]);
  });

  it('an existing eth0 in the container fails the ADD and releases the address', async () => {
    const { ds, kernel, call } = await rig();
    kernel.addNetns('c1');
    const ctr = await kernel.open({ name: 'c1' });
    await (await kernel.open()).vethAdd({ name: 'other0', peerName: 'eth0', peerNetns: { name: 'c1' } });
    expect(await ctr.linkGet('eth0')).toBeDefined();
    const r = await call(env('ADD', 'dup'), conf());
    expect(r.exitCode).toBe(1);
    expect((await ds.list({ kind: 'IPAMHandle' })).items).toEqual([]);
    expect(await (await kernel.open()).linkGet(workloadIface('dup'))).toBeUndefined();
  });

  it('errors: unknown keys named, unknown netns, missing variables, unsupported version', async () => {
    const { call } = await rig();
    const unknown = await call(env('ADD', 'x'), conf({ policy_setup_timeout: 3, foo: 1 }));
    expect(unknown.json).toMatchObject({ code: 7 });
    expect(String(unknown.json!.msg)).toContain('"policy_setup_timeout", "foo"');
    expect((await call(env('ADD', 'x', 'nope'), conf())).json).toMatchObject({ code: 4, msg: expect.stringContaining('CNI_NETNS /run/netns/nope does not exist') });
    expect((await call({ CNI_COMMAND: 'ADD' }, conf())).json).toMatchObject({ code: 4 });
    expect((await call(env('ADD', 'x'), conf({ cniVersion: '2.0.0' }))).json).toMatchObject({ code: 1 });
    expect((await call(env('ADD', 'x'), '{nope')).json).toMatchObject({ code: 6 });
    const v = await call({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"1.1.0"}');
    expect(v.json).toMatchObject({ cniVersion: '1.1.0', supportedVersions: expect.arrayContaining(['1.0.0', '1.1.0']) });
  });

  it('config: defaults, policySetupTimeout forms, labels and named ports from args', () => {
    const c = readTwillCniConfig(parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'twill-cni', datastore: 'memory:' })), {}, () => 'myhost');
    expect(c).toMatchObject({ nodename: 'myhost', policySetupTimeoutMs: 10_000, ipam: { type: 'twill-ipam' }, mtu: undefined, kubernetes: false });
    const d = readTwillCniConfig(
      parseNetConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'twill-cni', datastore: 'memory:', policySetupTimeout: '1m', args: { cni: { labels: { a: 'b' }, ports: [{ name: 'http', port: 80 }] } } })),
      {},
      () => 'h',
    );
    expect(d).toMatchObject({ policySetupTimeoutMs: 60_000, labels: { a: 'b' }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] });
  });
});
