// The agent loop over fakes: memory datastore, in-memory netlink and netfilter, real calc and rules.
import { afterEach, describe, expect, it } from 'vitest';
import type { ProfileResource, WorkloadEndpointResource } from '../../../src/api/types.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';
import { createFakeNetfilter, type FakeNetfilter } from '../../../src/iptables/fake/index.js';
import { FakeKernel } from '../../../src/netlink/fake/index.js';
import type { NetlinkHandle } from '../../../src/netlink/index.js';
import { CalcGraph } from '../../../felix/calc/index.js';
import { RuleRenderer, renderAll } from '../../../felix/rules/index.js';
import { policyChain } from '../../../felix/rules/names.js';
import { Dataplane, silentLogger } from '../../../felix/dataplane/index.js';
import { FelixAgent, type FelixAgentOptions } from '../../../felix/agent.js';
import type { SyncerCallbacks, SyncEvent } from '../../../src/datastore/index.js';
import type { NetworkPolicyResource } from '../../../src/api/types.js';
import { readiness } from '../../../src/node/readiness.js';
import { AgentMetrics } from '../../../src/node/metrics.js';
import { workloadSpecHash } from '../../../src/api/spec-hash.js';

const wep = (name: string, iface: string, ip: string): WorkloadEndpointResource => ({
  apiVersion: 'twill.io/v1',
  kind: 'WorkloadEndpoint',
  metadata: { name, namespace: 'default', labels: { app: name } },
  spec: { node: 'h1', interfaceName: iface, ipNetworks: [`${ip}/32`], profiles: ['kns.default'] },
});

const profile: ProfileResource = {
  apiVersion: 'twill.io/v1',
  kind: 'Profile',
  metadata: { name: 'kns.default' },
  spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
};

async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never happened: ${what}`);
}

interface World {
  kernel: FakeKernel;
  nl: NetlinkHandle;
  nf: FakeNetfilter;
  ds: Datastore;
}

async function world(): Promise<World> {
  const kernel = new FakeKernel();
  const nl = await kernel.open();
  return { kernel, nl, nf: createFakeNetfilter(), ds: await openDatastore('memory:') };
}

function agentOn(w: World, extra: Partial<FelixAgentOptions> = {}): { agent: FelixAgent; dp: Dataplane } {
  const dp = new Dataplane({
    netlink: w.nl,
    iptables4: w.nf.iptables({ family: 4, backend: 'nft' }),
    iptables6: w.nf.iptables({ family: 6, backend: 'nft' }),
    ipset: w.nf.ipset(),
    monitor: (cb) => w.kernel.monitor({ current: true }, ['link', 'route'], cb),
    refreshMs: 0,
    verifyAfterWriteMs: 0,
    log: silentLogger,
  });
  const agent = new FelixAgent({
    nodeName: 'h1',
    ds: w.ds,
    calc: new CalcGraph({ nodeName: 'h1' }),
    renderer: new RuleRenderer(),
    renderAll: (s) => renderAll(s),
    dataplane: dp,
    log: silentLogger,
    ...extra,
  });
  return { agent, dp };
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) await s();
});

const filterRules = async (w: World): Promise<string[]> =>
  (await w.nf.iptables({ family: 4, backend: 'nft' }).saveRaw('filter')).split('\n').filter((l) => l.startsWith('-A '));

describe('FelixAgent', () => {
  it('programs endpoints, writes their status, and a route waits for its interface', async () => {
    const w = await world();
    await w.nl.vethAdd({ name: 'twa', peerName: 'pa' });
    await w.nl.linkSetUp('twa', true);
    await w.ds.create(profile);
    await w.ds.create(wep('a', 'twa', '10.65.0.1'));
    await w.ds.create(wep('b', 'twb', '10.65.0.2'));
    const { agent } = agentOn(w);
    stops.push(() => agent.stop());
    await agent.start();
    const status = async (n: string) => (await w.ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: 'default', name: n }))?.status;
    await until('a programmed', async () => (await status('a'))?.programmed === true);
    expect(await status('a')).toMatchObject({ programmedBy: 'h1', specHash: expect.stringMatching(/^[0-9a-f]{16}$/) });
    // b's interface does not exist yet: no route, no status.
    expect(await status('b')).toBeUndefined();
    expect((await filterRules(w)).some((l) => l.includes('-o twa '))).toBe(true);
    await w.nl.vethAdd({ name: 'twb', peerName: 'pb' });
    await w.nl.linkSetUp('twb', true);
    await until('b programmed', async () => (await status('b'))?.programmed === true);
    const routes = (await w.nl.routeList({})).map((r) => r.dst);
    expect(routes).toEqual(expect.arrayContaining(['10.65.0.1/32', '10.65.0.2/32']));
  });

  it('whenEndpointProgrammed: resolves for exactly the spec written once it is in the kernel, not for an older one', async () => {
    const w = await world();
    await w.ds.create(profile);
    const { agent } = agentOn(w, { writeStatus: false });
    stops.push(() => agent.stop());
    await agent.start();
    const c = wep('c', 'twc', '10.65.0.3');
    let done = false;
    const waited = agent.whenEndpointProgrammed('default', 'c', workloadSpecHash(c.spec)).then(() => (done = true));
    await w.ds.create(c);
    // Written, but its interface is not there: policy may be, the route is not.
    await agent.whenReceived(agent.generation + 1);
    await new Promise((r) => setTimeout(r, 50));
    expect(done).toBe(false);
    await w.nl.vethAdd({ name: 'twc', peerName: 'pc' });
    await w.nl.linkSetUp('twc', true);
    await waited;
    expect((await w.nl.routeList({})).map((r) => r.dst)).toContain('10.65.0.3/32');
    expect((await filterRules(w)).some((l) => l.includes('-o twc '))).toBe(true);
    // A new spec (another address): the old hash never resolves, the new one once programmed.
    const c2 = { ...c, spec: { ...c.spec, ipNetworks: ['10.65.0.4/32'] } };
    let oldDone = false;
    const ac = new AbortController();
    void agent.whenEndpointProgrammed('default', 'c', workloadSpecHash(c.spec), ac.signal).then(() => (oldDone = true));
    await new Promise((r) => setTimeout(r, 0));
    expect(oldDone).toBe(true); // the old spec is what the kernel holds right now
    const upd = await w.ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: 'default', name: 'c' });
    await w.ds.update({ ...upd!, spec: c2.spec });
    await agent.whenEndpointProgrammed('default', 'c', workloadSpecHash(c2.spec));
    expect((await w.nl.routeList({})).map((r) => r.dst)).toContain('10.65.0.4/32');
    let staleDone = false;
    void agent.whenEndpointProgrammed('default', 'c', workloadSpecHash(c.spec), ac.signal).then(() => (staleDone = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(staleDone).toBe(false);
    ac.abort();
  });

  it('hands each new effective config to onConfig before the dataplane applies it (the denied-packet reader binds there)', async () => {
    const w = await world();
    await w.ds.create(profile);
    const seen: { logDeniedPackets: boolean | undefined; nflogInKernel: boolean }[] = [];
    const { agent } = agentOn(w, {
      onConfig: (c) => {
        // Synchronously, before the apply: the kernel must not hold the config's NFLOG rules yet.
        const rules = w.nf.iptables({ family: 4, backend: 'nft' }).saveRaw('filter');
        void rules.then((t) => seen.push({ logDeniedPackets: c.logDeniedPackets, nflogInKernel: t.includes('NFLOG') }));
      },
    });
    stops.push(() => agent.stop());
    await agent.start();
    await w.ds.create(wep('a', 'twa', '10.65.0.1'));
    await until('first config seen', () => seen.length === 1);
    await w.ds.create({ apiVersion: 'twill.io/v1', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { logDeniedPackets: true } });
    await until('second config seen', () => seen.length === 2);
    await until('NFLOG programmed', async () => (await filterRules(w)).some((l) => l.includes('NFLOG')));
    expect(seen).toEqual([
      { logDeniedPackets: undefined, nflogInKernel: false },
      { logDeniedPackets: true, nflogInKernel: false },
    ]);
    // An endpoint change is no config change.
    await w.ds.create(wep('b', 'twb', '10.65.0.2'));
    await agent.whenProgrammed(await agent.whenReceived(agent.generation + 1).then(() => agent.generation));
    expect(seen.length).toBe(2);
  });

  it('before the first in-sync installs only the fail-closed skeleton, which drops every workload interface', async () => {
    const w = await world();
    const { agent, dp } = agentOn(w);
    stops.push(() => dp.stop());
    // Start the dataplane part only, as the agent does before starting the syncer.
    await dp.start();
    const empty = new CalcGraph({ nodeName: 'h1' }).snapshot();
    dp.setDesired({ state: empty, rendered: renderAll(empty) });
    await dp.applyNow();
    const rules = await filterRules(w);
    expect(rules.filter((l) => l.startsWith('-A FORWARD ')).length).toBe(1);
    const dispatch = rules.filter((l) => l.includes('dispatch'));
    expect(dispatch.length).toBeGreaterThan(0);
    expect(dispatch.every((l) => !/ -i tw[0-9a-z]+ /.test(l))).toBe(true);
    expect(rules.some((l) => l.includes('dispatch') && l.endsWith('-j DROP'))).toBe(true);
    expect(dp.health().ready).toBe(false);
    void agent;
  });

  it('a restarted agent adopts the kernel state: no iptables write, no route change', async () => {
    const w = await world();
    await w.nl.vethAdd({ name: 'twa', peerName: 'pa' });
    await w.nl.linkSetUp('twa', true);
    await w.ds.create(profile);
    await w.ds.create(wep('a', 'twa', '10.65.0.1'));
    const first = agentOn(w);
    await first.agent.start();
    await until('programmed', () => first.dp.health().ready);
    await first.agent.stop();
    const restores = w.nf.tableState({ family: 4, backend: 'nft' }).restores;
    const rulesBefore = await filterRules(w);
    const second = agentOn(w);
    stops.push(() => second.agent.stop());
    await second.agent.start();
    await until('ready again', () => second.dp.health().ready);
    expect(w.nf.tableState({ family: 4, backend: 'nft' }).restores).toBe(restores);
    expect(await filterRules(w)).toEqual(rulesBefore);
    expect(second.dp.lastReport?.routesChanged).toBe(0);
  });
});

describe('FelixAgent on bad data and a failing datastore', () => {
  // A syncer the test drives: what etcd would deliver, including objects that bypassed validation.
  function drivenAgent(w: World, metrics?: AgentMetrics): { agent: FelixAgent; dp: Dataplane; sync: () => SyncerCallbacks } {
    let cb: SyncerCallbacks | undefined;
    const { agent, dp } = agentOn(w, {
      ...(metrics ? { metrics } : {}),
      writeStatus: false,
      subscribe: (c) => {
        cb = c;
        return { stop: async () => undefined };
      },
    });
    stops.push(() => agent.stop());
    return { agent, dp, sync: () => cb! };
  }

  it('a policy with ingress as a map: only its endpoint drops ingress, the others stay programmed, the status names it', async () => {
    const w = await world();
    for (const i of ['twa', 'twb']) {
      await w.nl.vethAdd({ name: i, peerName: `p${i}` });
      await w.nl.linkSetUp(i, true);
    }
    const metrics = new AgentMetrics();
    const { agent, sync } = drivenAgent(w, metrics);
    await agent.start();
    const bad = {
      apiVersion: 'twill.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'bad', namespace: 'default' },
      spec: { selector: 'app == "a"', ingress: { action: 'Allow' } },
    } as unknown as NetworkPolicyResource;
    const events: SyncEvent[] = [profile, wep('a', 'twa', '10.65.0.1'), bad, wep('b', 'twb', '10.65.0.2')].map((resource) => ({ type: 'set', resource }));
    sync().onUpdates(events);
    sync().onInSync();
    await agent.whenProgrammed(1);
    const st = agent.snapshotStatus();
    expect(st.programmedEndpoints).toBe(2);
    expect(st.badObjects.map((p) => p.object)).toEqual(['NetworkPolicy default/bad']);
    const rules = await filterRules(w);
    const chain = rules.filter((l) => l.startsWith(`-A ${policyChain('np/default/bad', 'in')} `));
    expect(chain).toHaveLength(1);
    expect(chain[0]).toMatch(/^-A \S+ (-m comment --comment \S+ )?-j DROP$/);
    const r = readiness(st);
    expect(r.ready).toBe(true);
    expect(JSON.stringify(r.detail)).toContain('NetworkPolicy default/bad');
    expect(await metrics.registry.metrics()).toMatch(/^twill_felix_bad_objects 1$/m);
  });

  it('while the syncer is in error the agent is not ready and says why; the kernel keeps its state', async () => {
    const w = await world();
    await w.nl.vethAdd({ name: 'twa', peerName: 'pa' });
    await w.nl.linkSetUp('twa', true);
    const { agent, sync } = drivenAgent(w);
    await agent.start();
    sync().onUpdates([profile, wep('a', 'twa', '10.65.0.1')].map((resource) => ({ type: 'set', resource })));
    sync().onInSync();
    sync().onStatus!('in-sync');
    await agent.whenProgrammed(1);
    expect(readiness(agent.snapshotStatus()).ready).toBe(true);
    const before = await filterRules(w);
    sync().onStatus!('error', 'listing from etcd://127.0.0.1:2379 failed: connection refused');
    const r = readiness(agent.snapshotStatus());
    expect(r.ready).toBe(false);
    expect(JSON.stringify(r.detail)).toContain('connection refused');
    expect(await filterRules(w)).toEqual(before);
    sync().onStatus!('in-sync');
    expect(readiness(agent.snapshotStatus()).ready).toBe(true);
  });

  it('a stored value the syncer could not read is a bad object by key until it is gone', async () => {
    const w = await world();
    const { agent, sync } = drivenAgent(w);
    await agent.start();
    sync().onInSync();
    const path = '/twill/v1/NetworkPolicy/default/x';
    sync().onCorrupt!([{ key: { kind: 'NetworkPolicy', namespace: 'default', name: 'x' }, path, message: `the value at ${path} is not JSON` }]);
    expect(agent.snapshotStatus().badObjects).toEqual([
      { object: 'NetworkPolicy default/x', message: expect.stringMatching(/not JSON .*last good version/) },
    ]);
    sync().onCorrupt!([]);
    expect(agent.snapshotStatus().badObjects).toEqual([]);
  });
});
