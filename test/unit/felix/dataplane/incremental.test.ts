// Dataplane.updateDesired (render deltas, the agent's per-flush path) against setDesired (the
// whole rendered state): after any sequence of updates, flushes, applies and read-backs, the
// kernel (fake iptables / ipset) holds exactly what one whole-state apply of the final state gives.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createFakeNetfilter, type FakeNetfilter } from '../../../../src/iptables/fake/index.js';
import { FakeKernel } from '../../../../src/netlink/fake/index.js';
import { CalcGraph } from '../../../../felix/calc/index.js';
import type { DesiredState } from '../../../../felix/calc/types.js';
import { RuleRenderer, renderAll } from '../../../../felix/rules/index.js';
import { Dataplane } from '../../../../felix/dataplane/index.js';
import { opArb, toEvent } from '../calc/universe.js';

const TABLES = ['filter', 'nat', 'raw', 'mangle'];

async function makeDataplane(): Promise<{ dp: Dataplane; nf: FakeNetfilter }> {
  const nl = await new FakeKernel().open();
  const nf = createFakeNetfilter();
  const dp = new Dataplane({
    netlink: nl,
    iptables4: nf.iptables({ family: 4, backend: 'nft' }),
    iptables6: nf.iptables({ family: 6, backend: 'nft' }),
    ipset: nf.ipset(),
    refreshMs: 0,
    verifyAfterWriteMs: 0,
  });
  await dp.start();
  return { dp, nf };
}

/** What a user would look at: iptables-save of every table of both families, and the ipsets. */
async function kernelText(nf: FakeNetfilter): Promise<string> {
  const out: string[] = [];
  for (const family of [4, 6] as const) {
    const ipt = nf.iptables({ family, backend: 'nft' });
    for (const t of TABLES) out.push(await ipt.saveRaw(t));
  }
  const sets = await nf.ipset().list('tw');
  for (const name of [...sets.keys()].sort()) {
    const s = sets.get(name)!;
    out.push(`${name} ${s.type} ${s.family} ${[...s.members].sort().join(' ')}`);
  }
  return out.join('\n');
}

const dataplaneState = (s: DesiredState) => ({ config: s.config, endpoints: s.endpoints, routes: s.routes });

type Step = 'flush' | 'apply' | 'readback';

describe('Dataplane.updateDesired (incremental) == setDesired (whole)', () => {
  it('random updates, flushed / applied / read back anywhere, program the same kernel', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(opArb, fc.constantFrom<Step | undefined>(undefined, undefined, 'flush', 'apply', 'readback')), { minLength: 1, maxLength: 40 }),
        async (ops) => {
          const g = new CalcGraph({ nodeName: 'host1' });
          const rr = new RuleRenderer({ dispatchFanout: 2 });
          const inc = await makeDataplane();
          // As the agent does: a whole state first, then deltas.
          rr.update(g.flush());
          inc.dp.setDesired({ state: dataplaneState(g.snapshot()), rendered: rr.current() });
          inc.dp.markInSync();
          await inc.dp.applyNow();
          for (const [op, step] of ops) {
            g.apply([toEvent(op)]);
            if (step === undefined) continue;
            const delta = rr.update(g.flush());
            inc.dp.updateDesired({ state: dataplaneState(g.snapshot()), delta });
            if (step === 'apply') await inc.dp.applyNow();
            if (step === 'readback') {
              await inc.dp.readBackAll();
              await inc.dp.applyNow();
            }
          }
          inc.dp.updateDesired({ state: dataplaneState(g.snapshot()), delta: rr.update(g.flush()) });
          await inc.dp.applyNow();

          const whole = await makeDataplane();
          const final = g.snapshot();
          whole.dp.setDesired({ state: final, rendered: renderAll(final, { dispatchFanout: 2 }) });
          whole.dp.markInSync();
          await whole.dp.applyNow();

          expect(await kernelText(inc.nf)).toBe(await kernelText(whole.nf));
          // And an apply with nothing new writes nothing.
          const again = await inc.dp.applyNow();
          expect(again?.chainsWritten).toBe(0);
          expect(again?.setsWritten).toBe(0);
          await inc.dp.stop();
          await whole.dp.stop();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('an update that changes one endpoint writes only that endpoint\'s chains', async () => {
    const { dp, nf } = await makeDataplane();
    const g = new CalcGraph({ nodeName: 'host1' });
    const rr = new RuleRenderer();
    const wep = (name: string, app: string, ip: string) => ({
      type: 'set' as const,
      resource: {
        apiVersion: 'twill.io/v1' as const,
        kind: 'WorkloadEndpoint' as const,
        metadata: { name, namespace: 'default', labels: { app } },
        spec: { node: 'host1', interfaceName: `tw${name}`, ipNetworks: [`${ip}/32`] },
      },
    });
    const pol = {
      type: 'set' as const,
      resource: {
        apiVersion: 'twill.io/v1' as const,
        kind: 'NetworkPolicy' as const,
        metadata: { name: 'p', namespace: 'default' },
        spec: { selector: "app == 'x'", ingress: [{ action: 'Allow' as const }] },
      },
    };
    g.apply([wep('a', 'x', '10.65.0.1'), wep('b', 'y', '10.65.0.2'), pol]);
    rr.update(g.flush());
    dp.setDesired({ state: dataplaneState(g.snapshot()), rendered: rr.current() });
    dp.markInSync();
    await dp.applyNow();
    const before = await kernelText(nf);
    g.apply([wep('b', 'x', '10.65.0.2')]);
    dp.updateDesired({ state: dataplaneState(g.snapshot()), delta: rr.update(g.flush()) });
    const r = await dp.applyNow();
    // b's IPv4 ingress chain now jumps to the policy: exactly that one chain changes. b has no
    // IPv6 address, so its IPv6 chains only drop and a policy change leaves them alone.
    expect(r?.chainsWritten).toBe(1);
    const after = await kernelText(nf);
    expect(after).not.toBe(before);
    expect(after.match(/-A tw-tw-twb .*tw-pi-/g)?.length).toBe(1);
    await dp.stop();
  });
});
