// twill-kube-controllers against a RECORDED-API TEST DOUBLE of the Kubernetes API server
// (test/support/kube-api-double.ts; there is no kube-apiserver on this machine) and a real etcd.
// The controller runs in process (its IPAM garbage collection on the test's clock) except for
// the lease test, which runs two replicas of the built program as processes and kills one.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import type { IPPoolResource, NetworkPolicyResource, ProfileResource, WorkloadEndpointResource } from '../../../src/api/types.js';
import { openDatastore } from '../../../src/datastore/index.js';
import type { Datastore } from '../../../src/datastore/types.js';
import { KubeController } from '../../../src/k8s/controller.js';
import { ControllerMetrics } from '../../../src/k8s/metrics.js';
import { Ipam, allAllocations, readIpamState } from '../../../ipam/index.js';
import { startEtcd, freePort, type EtcdServer } from '../../support/etcd.js';
import { until } from '../../support/bgp-peers.js';
import { isCI, missing } from '../../support/env.js';
import { KubeApiDouble, recorded } from '../../support/kube-api-double.js';

const ROOT = join(import.meta.dirname, '../../..');
const MAIN = join(ROOT, 'dist/src/k8s/main.js');
const noEtcd = missing({ tools: ['etcd'] });

/** The endpoint twill-cni writes for a pod in Kubernetes mode (orchestrator k8s, spec.pod). */
function podEndpoint(ns: string, pod: string, ip: string, containerID = `cid-${pod}`): WorkloadEndpointResource {
  return {
    apiVersion: 'twill.io/v1',
    kind: 'WorkloadEndpoint',
    metadata: {
      name: `node--1-k8s-${pod}-eth0`,
      namespace: ns,
      labels: {},
      annotations: { 'cni.twill.io/network': 'k8s-pod-network', 'cni.twill.io/containerID': containerID, 'cni.twill.io/ifname': 'eth0' },
    },
    spec: { node: 'node-1', orchestrator: 'k8s', workload: pod, pod, endpoint: 'eth0', containerID, interfaceName: `tw${pod}`.slice(0, 15), ipNetworks: [`${ip}/32`], profiles: [`kns.${ns}`] },
  };
}

describe.skipIf(noEtcd)('twill-kube-controllers (Kubernetes API test double + real etcd)', () => {
  let etcd: EtcdServer;
  let api: KubeApiDouble;
  let ds: Datastore;
  const running: KubeController[] = [];

  beforeAll(async () => {
    etcd = await startEtcd();
    ds = await openDatastore(etcd.url);
    api = await KubeApiDouble.start();
  });
  afterEach(async () => {
    for (const c of running.splice(0)) await c.stop();
  });
  afterAll(async () => {
    await ds?.close();
    await api?.close();
    await etcd?.destroy();
  });

  function controller(opts: { graceMs?: number; identity?: string } = {}): { c: KubeController; logs: string[]; metrics: ControllerMetrics } {
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfig());
    const logs: string[] = [];
    const log: Logger = pino({ level: 'info' }, { write: (s: string) => void logs.push(s) });
    const metrics = new ControllerMetrics();
    const c = new KubeController({
      kubeconfig: kc,
      ds,
      log,
      metrics,
      identity: opts.identity ?? `test-${running.length}`,
      leaseNamespace: 'kube-system',
      leaseName: `twill-${running.length}`, // each in-process controller leads its own lease
      leaseDurationMs: 2000,
      gcGraceMs: opts.graceMs ?? 60_000,
      gcIntervalMs: 0,
    });
    running.push(c);
    c.start();
    return { c, logs, metrics };
  }

  const np = (ns: string, name: string) => ds.get<NetworkPolicyResource>({ kind: 'NetworkPolicy', namespace: ns, name: `knp.default.${name}` });
  const profile = (ns: string) => ds.get<ProfileResource>({ kind: 'Profile', name: `kns.${ns}` });
  const wep = (ns: string, pod: string) => ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: ns, name: `node--1-k8s-${pod}-eth0` });

  test('namespaces, pods and network policies created, updated and deleted reach the datastore', async () => {
    api.apply(recorded.namespace('x', { ns: 'x' }));
    api.apply(recorded.pod('x', 'a', { pod: 'a' }));
    api.apply(recorded.networkPolicy('x', 'allow-80', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ port: 80 }] }] }));
    await ds.create(podEndpoint('x', 'a', '10.70.0.1'));
    const { c } = controller();
    await until('in sync', () => c.settled());

    expect((await profile('x'))?.spec.labelsToApply).toEqual({ 'kubernetes.io/metadata.name': 'x', ns: 'x' });
    const p = await np('x', 'allow-80');
    expect(p?.spec.selector).toContain('pod == "a"');
    expect(p?.spec.ingress?.[0]?.destination?.ports).toEqual([80]);
    const a = await wep('x', 'a');
    expect(a?.metadata.labels).toEqual({ pod: 'a' });
    expect(a?.spec.ports).toEqual([
      { name: 'serve-80-tcp', protocol: 'TCP', port: 80 },
      { name: 'serve-80-udp', protocol: 'UDP', port: 80 },
    ]);

    // A bookmark moves the watch on; later changes still arrive.
    api.bookmark();
    api.modify('NetworkPolicy', 'x', 'allow-80', (o) => {
      (o.spec as { ingress: unknown[] }).ingress = [{ ports: [{ port: 81, protocol: 'UDP' }] }];
    });
    await until('the policy updated', async () => (await np('x', 'allow-80'))?.spec.ingress?.[0]?.protocol === 'UDP');
    expect((await np('x', 'allow-80'))?.spec.ingress?.[0]?.destination?.ports).toEqual([81]);
    // Edited in the datastore behind the controller's back: put back as the cluster has it.
    const edited = (await np('x', 'allow-80'))!;
    await ds.update({ ...edited, spec: { ...edited.spec, ingress: [] } });
    await until('the edit undone', async () => (await np('x', 'allow-80'))?.spec.ingress?.[0]?.protocol === 'UDP');

    // A relabelled pod relabels its endpoint; a relabelled namespace its profile.
    api.modify('Pod', 'x', 'a', (o) => (o.metadata.labels = { pod: 'a', tier: 'web' }));
    await until('the endpoint relabelled', async () => (await wep('x', 'a'))?.metadata.labels?.tier === 'web');
    expect((await wep('x', 'a'))?.metadata.labels).toEqual({ pod: 'a', tier: 'web' });
    api.modify('Namespace', undefined, 'x', (o) => (o.metadata.labels = { ...o.metadata.labels, team: 'blue' }));
    await until('the profile relabelled', async () => (await profile('x'))?.spec.labelsToApply?.team === 'blue');

    // A pod whose endpoint twill-cni writes after the pod appeared gets its labels at once.
    api.apply(recorded.pod('x', 'b', { pod: 'b' }));
    await ds.create(podEndpoint('x', 'b', '10.70.0.2'));
    await until('the late endpoint labelled', async () => (await wep('x', 'b'))?.metadata.labels?.pod === 'b');

    // Deletes.
    api.delete('NetworkPolicy', 'x', 'allow-80');
    await until('the policy removed', async () => (await np('x', 'allow-80')) === undefined);
    api.apply(recorded.namespace('x2'));
    await until('namespace x2', async () => (await profile('x2')) !== undefined);
    api.delete('Namespace', undefined, 'x2');
    await until('the profile removed', async () => (await profile('x2')) === undefined);
  });

  test('at start, what it wrote for objects that are gone is removed; everything else stays', async () => {
    api.apply(recorded.namespace('y'));
    api.apply(recorded.networkPolicy('y', 'kept', { podSelector: {} }));
    // Written while no controller ran: a converted policy and a profile whose originals are gone, and a user's own policy.
    await ds.create<NetworkPolicyResource>({ apiVersion: 'twill.io/v1', kind: 'NetworkPolicy', metadata: { name: 'knp.default.gone', namespace: 'y' }, spec: { selector: 'all()', types: ['Ingress'] } });
    await ds.create<ProfileResource>({ apiVersion: 'twill.io/v1', kind: 'Profile', metadata: { name: 'kns.gone-ns' }, spec: {} });
    await ds.create<NetworkPolicyResource>({ apiVersion: 'twill.io/v1', kind: 'NetworkPolicy', metadata: { name: 'users-own', namespace: 'y' }, spec: { selector: 'all()', types: ['Ingress'] } });
    const { c } = controller();
    await until('in sync', () => c.settled());
    expect(await np('y', 'gone')).toBeUndefined();
    expect(await profile('gone-ns')).toBeUndefined();
    expect(await np('y', 'kept')).toBeDefined();
    expect(await profile('y')).toBeDefined();
    expect(await ds.get({ kind: 'NetworkPolicy', namespace: 'y', name: 'users-own' })).toBeDefined();
  });

  test('a 410 Gone forces a relist, and a delete the watch never saw is not missed', async () => {
    api.apply(recorded.namespace('z'));
    api.apply(recorded.networkPolicy('z', 'p1', { podSelector: {} }));
    api.apply(recorded.networkPolicy('z', 'p2', { podSelector: {} }));
    const { c } = controller();
    await until('in sync', () => c.settled());
    expect(await np('z', 'p1')).toBeDefined();
    const lists = (): number => api.requests.filter((r) => r.startsWith('GET /apis/networking.k8s.io/v1/networkpolicies') && !r.includes('watch=true')).length;
    const before = lists();

    // As an ERROR event in the watch stream: p1 deleted while the watch was down, history compacted.
    api.delete('NetworkPolicy', 'z', 'p1', { silently: true });
    api.compact();
    api.closeWatches();
    await until('p1 removed after the relist', async () => (await np('z', 'p1')) === undefined);
    expect(lists()).toBeGreaterThan(before);
    expect(await np('z', 'p2')).toBeDefined();

    // As an HTTP 410 answer to the watch request.
    api.goneAsHttpStatus = true;
    try {
      api.delete('Namespace', undefined, 'z', { silently: true });
      api.compact();
      api.closeWatches();
      await until('the profile of z removed after the relist', async () => (await profile('z')) === undefined);
    } finally {
      api.goneAsHttpStatus = false;
    }
  });

  test('a NetworkPolicy Twill cannot express is reported by field and nothing of it is applied', async () => {
    api.apply(recorded.namespace('w'));
    // A field of a newer API than the converter knows: it could change the meaning, so nothing is applied.
    api.apply(recorded.networkPolicy('w', 'newer', { podSelector: {}, ingress: [{ from: [{ podSelector: {}, serviceAccountSelector: { matchLabels: { sa: 'x' } } }] }] }));
    api.apply(recorded.networkPolicy('w', 'fine', { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] }));
    const { c, logs, metrics } = controller();
    await until('in sync', () => c.settled());
    expect(await np('w', 'newer')).toBeUndefined();
    const field = 'spec.ingress[0].from[0].serviceAccountSelector';
    expect(logs.join('')).toContain(field);
    expect(await metrics.registry.getSingleMetricAsString('twill_kube_rejected')).toContain(`twill_kube_rejected{object="NetworkPolicy w/newer",field="${field}"} 1`);
    expect(c.health().detail.rejected).toEqual([expect.objectContaining({ object: 'NetworkPolicy w/newer', field })]);

    // An update to a policy that converted: the version in force stays, the new one is reported.
    api.modify('NetworkPolicy', 'w', 'fine', (o) => {
      (o.spec as { ingress: unknown[] }).ingress = [{ ports: [{ port: 80, protocol: 'ICMP' }] }];
    });
    await until('the update reported', () => c.health().detail.rejected.some((r) => r.object === 'NetworkPolicy w/fine'));
    expect((await np('w', 'fine'))?.spec.ingress?.[0]?.protocol).toBe('TCP');
    expect(logs.join('')).toContain('spec.ingress[0].ports[0].protocol');
    // Fixed: applied, and no longer reported.
    api.modify('NetworkPolicy', 'w', 'newer', (o) => {
      (o.spec as { ingress: unknown[] }).ingress = [{ from: [{ podSelector: {} }] }];
    });
    await until('the fixed policy applied', async () => (await np('w', 'newer')) !== undefined);
    await until('no longer reported', () => !c.health().detail.rejected.some((r) => r.object === 'NetworkPolicy w/newer'));
  });

  test('IPAM garbage collection frees the address of a pod that is gone after the grace period, not before', async () => {
    await ds.create<IPPoolResource>({ apiVersion: 'twill.io/v1', kind: 'IPPool', metadata: { name: 'gc-pool' }, spec: { cidr: '10.71.0.0/24' } });
    const ipam = new Ipam(ds);
    const take = async (cid: string): Promise<string> => (await ipam.autoAssign({ node: 'node-1', handleID: `k8s-pod-network.${cid}`, num4: 1 })).ips[0]!.ip;
    const goneIp = await take('cid-gone');
    const liveIp = await take('cid-live');
    api.apply(recorded.namespace('g'));
    api.apply(recorded.pod('g', 'gone', { app: 'g' }));
    api.apply(recorded.pod('g', 'live', { app: 'g' }));
    await ds.create(podEndpoint('g', 'gone', goneIp, 'cid-gone'));
    await ds.create(podEndpoint('g', 'live', liveIp, 'cid-live'));
    const grace = 60_000;
    const { c } = controller({ graceMs: grace });
    await until('in sync', () => c.settled());
    const allocated = async (): Promise<string[]> => allAllocations(await readIpamState(ds)).map((a) => a.ip).sort();

    const t0 = 1_000_000;
    await c.gcPass(t0); // every pod exists: nothing to do
    api.delete('Pod', 'g', 'gone');
    await until('the pod deletion seen', async () => {
      await c.settled();
      return (await c.gcPass(t0))?.podsWaiting === 1;
    });
    expect(await wep('g', 'gone')).toBeDefined();
    const addingIp = await take('cid-adding'); // an ADD in progress: allocated, endpoint not written yet
    const r1 = await c.gcPass(t0 + grace - 1);
    expect(r1?.released).toEqual([]);
    expect(await allocated()).toEqual([goneIp, liveIp, addingIp].sort());
    expect(await wep('g', 'gone')).toBeDefined();

    const r2 = await c.gcPass(t0 + grace);
    expect(r2?.endpointsDeleted).toEqual(['g/node--1-k8s-gone-eth0']);
    expect(r2?.released.map((x) => x.ip)).toEqual([goneIp]);
    expect(await wep('g', 'gone')).toBeUndefined();
    expect(await allocated()).toEqual([liveIp, addingIp].sort()); // the live pod's, and the ADD in progress (its own grace)
    expect(await ipam.handleAssignments('k8s-pod-network.cid-gone')).toEqual([]);
    expect(await wep('g', 'live')).toBeDefined();
  });

  describe('two replicas of the built program', () => {
    const procs: ChildProcess[] = [];
    afterAll(() => {
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    });

    function notBuilt(): boolean {
      if (existsSync(MAIN)) return false;
      if (isCI) throw new Error(`${MAIN} missing (run npm run build)`);
      return true;
    }

    async function replica(identity: string): Promise<{ proc: ChildProcess; health: () => Promise<{ role: string; synced: boolean; holder: string }>; metrics: () => Promise<string>; exited: Promise<number | null> }> {
      const port = await freePort();
      const proc = spawn(process.execPath, [MAIN, '--kubeconfig', api.kubeconfig(), '--datastore', etcd.url, '--identity', identity, '--lease-duration-seconds', '2', '--health-port', String(port), '--gc-interval-seconds', '0', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
      procs.push(proc);
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      const base = `http://127.0.0.1:${port}`;
      return {
        proc,
        exited,
        health: async () => (await (await fetch(`${base}/health`)).json()) as { role: string; synced: boolean; holder: string },
        metrics: async () => (await fetch(`${base}/metrics`)).text(),
      };
    }

    test.skipIf(notBuilt())('only the lease holder writes; the standby takes over when the holder is killed; SIGTERM releases the lease', async () => {
      api.apply(recorded.namespace('l'));
      const a = await replica('replica-a');
      await until('a leads and is in sync', async () => {
        const h = await a.health();
        return h.role === 'leader' && h.synced;
      });
      const b = await replica('replica-b');
      await until('b stands by behind a', async () => {
        const h = await b.health();
        return h.role === 'standby' && h.holder === 'replica-a';
      });
      api.apply(recorded.networkPolicy('l', 'one', { podSelector: {} }));
      await until('policy one written', async () => (await np('l', 'one')) !== undefined);
      expect(await b.metrics()).not.toMatch(/^twill_kube_datastore_writes_total\{/m); // b wrote nothing
      expect(await b.metrics()).toMatch(/^twill_kube_leader 0$/m);
      expect(await a.metrics()).toMatch(/^twill_kube_datastore_writes_total\{kind="NetworkPolicy",op="created"\} [1-9]/m);
      expect(api.lease('kube-system', 'twill-kube-controllers')?.spec).toMatchObject({ holderIdentity: 'replica-a' });

      a.proc.kill('SIGKILL');
      await a.exited;
      await until('b leads and is in sync', async () => {
        const h = await b.health();
        return h.role === 'leader' && h.synced;
      });
      api.apply(recorded.networkPolicy('l', 'two', { podSelector: {} }));
      await until('policy two written by b', async () => (await np('l', 'two')) !== undefined);
      expect(api.lease('kube-system', 'twill-kube-controllers')?.spec).toMatchObject({ holderIdentity: 'replica-b', leaseTransitions: 1 });

      b.proc.kill('SIGTERM');
      expect(await b.exited).toBe(0);
      expect(api.lease('kube-system', 'twill-kube-controllers')?.spec).toMatchObject({ holderIdentity: '' });
    });
  });
});
