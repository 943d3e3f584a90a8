import { describe, expect, it } from 'vitest';
import { createFakeNetfilter } from '../../../../src/iptables/fake/index.js';
import { IptablesReconciler } from '../../../../felix/dataplane/index.js';
import type { FamilyDelta } from '../../../../felix/rules/types.js';
import { chain, family, hook } from './helpers.js';

function setup() {
  const nf = createFakeNetfilter();
  const ipt = nf.iptables({ family: 4, backend: 'nft' });
  const state = nf.tableState({ family: 4, backend: 'nft' });
  return { nf, ipt, state };
}

const base = () =>
  family({
    filter: [chain('tw-FORWARD', ['-i tw+ -j tw-from-wl', '-o tw+ -j DROP']), chain('tw-from-wl', ['-i twa -j ACCEPT', '-j DROP'])],
    hooks: [hook('filter', 'FORWARD', 'tw-FORWARD')],
  });

async function filterSave(ipt: { saveRaw(t: string): Promise<string> }): Promise<string[]> {
  return (await ipt.saveRaw('filter')).split('\n').filter((l) => l.startsWith('-A '));
}

describe('IptablesReconciler', () => {
  it('writes the desired chains and the hook once, then nothing while nothing changes', async () => {
    const { ipt, state } = setup();
    const r = new IptablesReconciler(ipt);
    r.markInSync();
    r.setDesired(base());
    const res = await r.apply();
    expect(res.written.sort()).toEqual(['filter/tw-FORWARD', 'filter/tw-from-wl']);
    expect(res.hooksWritten).toBe(1);
    const rules = await filterSave(ipt);
    expect(rules.filter((l) => l.startsWith('-A FORWARD '))).toHaveLength(1);
    expect(rules.some((l) => l.includes('-A tw-from-wl -i twa'))).toBe(true);
    const before = state.restores;
    const again = await r.apply();
    expect(again.written).toEqual([]);
    expect(state.restores).toBe(before);
    expect(r.converged()).toBe(true);
  });

  it('rewrites only the chain whose rules changed', async () => {
    const { ipt } = setup();
    const r = new IptablesReconciler(ipt);
    r.markInSync();
    r.setDesired(base());
    await r.apply();
    const next = base();
    next.filter[1] = chain('tw-from-wl', ['-i twa -j ACCEPT', '-i twb -j ACCEPT', '-j DROP']);
    r.setDesired(next);
    const res = await r.apply();
    expect(res.written).toEqual(['filter/tw-from-wl']);
    expect((await filterSave(ipt)).filter((l) => l.startsWith('-A tw-from-wl'))).toHaveLength(3);
  });

  it('before the first in-sync only fills gaps: existing chains stay, nothing is deleted', async () => {
    const { ipt } = setup();
    // A previous agent's programming.
    await ipt.restore(['*filter', ':tw-from-wl - [0:0]', ':tw-old - [0:0]', '-A tw-from-wl -i twz -j ACCEPT', '-A tw-old -j DROP', 'COMMIT'].join('\n'));
    const r = new IptablesReconciler(ipt);
    r.setDesired(base());
    const res = await r.apply();
    expect(res.written).toEqual(['filter/tw-FORWARD']);
    let rules = await filterSave(ipt);
    expect(rules).toContain('-A tw-from-wl -i twz -j ACCEPT');
    expect(rules.some((l) => l.startsWith('-A tw-old'))).toBe(true);
    r.markInSync();
    const after = await r.apply();
    expect(after.written).toEqual(['filter/tw-from-wl']);
    expect(after.deleted).toEqual(['filter/tw-old']);
    rules = await filterSave(ipt);
    expect(rules).not.toContain('-A tw-from-wl -i twz -j ACCEPT');
    expect(rules.some((l) => l.startsWith('-A tw-old'))).toBe(false);
  });

  it('a restarted agent recognises its own chains and writes nothing', async () => {
    const { ipt, state } = setup();
    const r1 = new IptablesReconciler(ipt);
    r1.markInSync();
    r1.setDesired(base());
    await r1.apply();
    const before = state.restores;
    const r2 = new IptablesReconciler(ipt);
    r2.setDesired(base());
    r2.markInSync();
    const res = await r2.apply();
    expect(res).toMatchObject({ written: [], deleted: [], hooksWritten: 0 });
    expect(state.restores).toBe(before);
  });

  it('keeps exactly one hook at the top of the built-in chain, whatever others did', async () => {
    const { ipt } = setup();
    const r = new IptablesReconciler(ipt);
    r.markInSync();
    r.setDesired(base());
    await r.apply();
    const h = base().hooks[0]!;
    // Someone inserted a rule above ours and appended a second copy of our hook.
    await ipt.restore(['*filter', '-I FORWARD 1 -s 192.0.2.1/32 -j ACCEPT', `-A FORWARD ${h.spec}`, 'COMMIT'].join('\n'));
    await r.readBack();
    const res = await r.apply();
    expect(res.hooksWritten).toBe(1);
    const fwd = (await filterSave(ipt)).filter((l) => l.startsWith('-A FORWARD '));
    expect(fwd).toHaveLength(2);
    expect(fwd[0]).toContain('-j tw-FORWARD');
    expect(fwd[1]).toContain('192.0.2.1');
  });

  it('repairs a rule deleted by hand after a read-back', async () => {
    const { ipt } = setup();
    const r = new IptablesReconciler(ipt);
    r.markInSync();
    r.setDesired(base());
    await r.apply();
    await ipt.restore(['*filter', '-D tw-from-wl 1', 'COMMIT'].join('\n'));
    await r.readBack();
    expect(r.converged()).toBe(false);
    const res = await r.apply();
    expect(res.written).toEqual(['filter/tw-from-wl']);
    expect((await filterSave(ipt)).filter((l) => l.startsWith('-A tw-from-wl'))).toHaveLength(2);
  });

  it('a rejected chain is set aside with backoff; the others are written; it is reported as failing', async () => {
    const { ipt } = setup();
    let now = 1000;
    const r = new IptablesReconciler(ipt, { now: () => now, initialMs: 100 });
    r.markInSync();
    const d = base();
    d.filter.push(chain('tw-bad', ['-j tw-missing']));
    r.setDesired(d);
    const res = await r.apply();
    expect(res.written.sort()).toEqual(['filter/tw-FORWARD', 'filter/tw-from-wl']);
    expect(res.pending).toContain('filter/tw-bad');
    // Backing off: an immediate apply does not retry it.
    const again = await r.apply();
    expect(again.written).toEqual([]);
    for (let i = 0; i < 3; i++) {
      now += 60_000;
      await r.apply();
    }
    expect([...r.failing(3).keys()]).toEqual(['filter/tw-bad']);
    // Fixed desired state: the failure clears.
    r.setDesired(base());
    now += 60_000;
    await r.apply();
    expect(r.converged()).toBe(true);
    expect(r.failing(1).size).toBe(0);
  });

  it('a chain unwanted by a change that arrives during a write is deleted only after its users no longer jump to it', async () => {
    const { ipt } = setup();
    const r = new IptablesReconciler(ipt);
    r.markInSync();
    const users = (targets: string[]) => chain('tw-tw-wl1', [...targets.map((t) => `-j ${t}`), '-j DROP']);
    r.setDesired(family({ filter: [users(['tw-pi-a', 'tw-pi-b']), chain('tw-pi-a', ['-j ACCEPT']), chain('tw-pi-b', ['-j ACCEPT'])] }));
    await r.apply();
    // A delta (policy b gone) lands while the next write is in iptables-restore, as the syncer's
    // updates do while the agent awaits the kernel.
    const empty = { upserts: [], deletes: [] };
    const delta = (filter: FamilyDelta['filter']): FamilyDelta => ({ family: 4, filter, nat: empty, raw: empty, mangle: empty, ipsetUpserts: [], ipsetDeletes: [] }) as FamilyDelta;
    r.updateDesired(delta({ upserts: [users(['tw-pi-a', 'tw-pi-b', 'tw-pi-c']), chain('tw-pi-c', ['-j ACCEPT'])], deletes: [] }));
    const restore = ipt.restore.bind(ipt);
    let once = false;
    ipt.restore = async (text, opts) => {
      await restore(text, opts);
      if (!once) {
        once = true;
        r.updateDesired(delta({ upserts: [users(['tw-pi-a', 'tw-pi-c'])], deletes: ['tw-pi-b'] }));
      }
    };
    const first = await r.apply();
    expect(r.failing(1).size, JSON.stringify([...r.failing(1)])).toBe(0);
    const second = await r.apply();
    expect(r.failing(1).size).toBe(0);
    expect([...first.deleted, ...second.deleted]).toEqual(['filter/tw-pi-b']);
    const rules = await filterSave(ipt);
    expect(rules.filter((l) => l.startsWith('-A tw-tw-wl1 '))).toHaveLength(3);
    expect(rules.some((l) => l.startsWith('-A tw-pi-b '))).toBe(false);
    expect(r.converged()).toBe(true);
  });
});
