import { describe, expect, it } from 'vitest';
import { createFakeNetfilter } from '../../../../src/iptables/fake/index.js';
import type { Ipset } from '../../../../src/iptables/index.js';
import { FakeKernel } from '../../../../src/netlink/fake/index.js';
import { CalcGraph } from '../../../../felix/calc/index.js';
import type { SyncEvent } from '../../../../src/datastore/index.js';
import { renderAll } from '../../../../felix/rules/index.js';
import { Dataplane } from '../../../../felix/dataplane/index.js';

function stateWithEndpoint() {
  const g = new CalcGraph({ nodeName: 'h1' });
  const events: SyncEvent[] = [
    { type: 'set', resource: { apiVersion: 'twill.io/v1', kind: 'Profile', metadata: { name: 'p' }, spec: { ingress: [{ action: 'Allow', source: { nets: ['10.1.0.0/16', '10.2.0.0/16'] } }] } } },
    {
      type: 'set',
      resource: { apiVersion: 'twill.io/v1', kind: 'WorkloadEndpoint', metadata: { name: 'a', namespace: 'default' }, spec: { node: 'h1', interfaceName: 'twa', ipNetworks: ['10.65.0.1/32'], profiles: ['p'] } },
    },
  ];
  g.apply(events);
  return g.snapshot();
}

describe('Dataplane', () => {
  it('a write that keeps failing makes it not ready, names the key, and marks no endpoint programmed', async () => {
    const kernel = new FakeKernel();
    const nl = await kernel.open();
    await nl.vethAdd({ name: 'twa', peerName: 'pa' });
    await nl.linkSetUp('twa', true);
    const nf = createFakeNetfilter();
    const real = nf.ipset();
    let broken = true;
    const ipset: Ipset = {
      restore: async (text, o) => {
        if (broken) throw new Error('ipset: kernel module missing');
        return real.restore(text, o);
      },
      list: (p) => real.list(p),
      listNames: (p) => real.listNames(p),
    };
    const dp = new Dataplane({ netlink: nl, iptables4: nf.iptables({ family: 4, backend: 'nft' }), ipset, retryInitialMs: 1, refreshMs: 0, verifyAfterWriteMs: 0 });
    await dp.start();
    const state = stateWithEndpoint();
    expect(state.ipsets.size).toBeGreaterThan(0);
    dp.setDesired({ state, rendered: renderAll(state) });
    dp.markInSync();
    for (let i = 0; i < 6; i++) {
      await dp.applyNow();
      await new Promise((r) => setTimeout(r, 40));
    }
    const h = dp.health();
    expect(h.ready).toBe(false);
    expect(h.failing.map((f) => f.key).join(',')).toMatch(/(^|,)ipset:tw4-/);
    expect(h.failing.find((f) => f.key.startsWith('ipset:'))!.error).toContain('kernel module missing');
    expect(dp.programmedEndpoints().size).toBe(0);
    broken = false;
    // Backoff (1 ms doubling here) decides when: wait for the retries to get through.
    for (let i = 0; i < 100 && !dp.health().ready; i++) {
      await new Promise((r) => setTimeout(r, 50));
      await dp.applyNow();
    }
    expect(dp.health()).toMatchObject({ ready: true, failing: [] });
    expect([...dp.programmedEndpoints()]).toEqual(['twa']);
    await dp.stop();
  });
});
