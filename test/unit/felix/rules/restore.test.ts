// What the renderer produces is accepted by the fake iptables-restore / ipset restore (which
// mirror the real tools' parsing and refusals), and reads back with the same rule hashes — for
// a full render and for a sequence of incremental render deltas.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CalcGraph } from '../../../../felix/calc/index.js';
import {
  RuleRenderer,
  renderAll,
  toIpsetRestoreText,
  toRestoreText,
  type FamilyDelta,
  type Hook,
  type RenderedFamily,
  type TableName,
} from '../../../../felix/rules/index.js';
import { createFakeNetfilter, type FakeNetfilter } from '../../../../src/iptables/fake/index.js';
import type { Family } from '../../../../src/iptables/types.js';
import type { SyncEvent } from '../../../../src/datastore/syncer.js';
import { gnetset, gnp, netset, np, pool, profile, set, wep } from '../calc/builders.js';
import { opArb, toEvent } from '../calc/universe.js';

const TABLES: TableName[] = ['filter', 'nat'];

/** Our chains as read back: name → rule hashes in order; plus the first rule hash of each hooked built-in chain. */
async function readBack(nf: FakeNetfilter, family: Family): Promise<Map<string, string[]>> {
  const ipt = nf.iptables({ family, backend: 'nft' });
  const out = new Map<string, string[]>();
  for (const t of TABLES) {
    const saved = await ipt.save(t);
    for (const c of saved.chains.values()) {
      if (c.name.startsWith('tw-')) out.set(`${t}/${c.name}`, c.rules.map((r) => r.hash ?? 'NONE'));
      else if (c.rules.length > 0) out.set(`${t}/${c.name}@1`, [c.rules[0]!.hash ?? 'NONE']);
    }
  }
  return out;
}

function expected(f: RenderedFamily): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const t of TABLES) for (const c of f[t]) out.set(`${t}/${c.name}`, c.rules.map((r) => r.hash));
  for (const h of f.hooks) out.set(`${h.table}/${h.chain}@1`, [h.hash]);
  return out;
}

function sorted(m: Map<string, string[]>): [string, string[]][] {
  return [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}

async function ipsetsOf(nf: FakeNetfilter, prefix: string): Promise<[string, string, string[]][]> {
  const sets = await nf.ipset().list(prefix);
  return [...sets.entries()].map(([n, s]) => [n, s.type, [...s.members].sort()] as [string, string, string[]]).sort(([a], [b]) => (a < b ? -1 : 1));
}

/** The restore input a dataplane would write for one family delta (our own minimal version). */
function deltaText(d: FamilyDelta, oldHooks: Hook[]): { ipsetBefore: string; iptables: string; ipsetAfter: string } {
  const inet = d.family === 4 ? 'inet' : 'inet6';
  const before: string[] = [];
  for (const s of d.ipsetUpserts) {
    before.push(`create ${s.name} ${s.type} family ${inet}`, `flush ${s.name}`, ...s.members.map((m) => `add ${s.name} ${m}`));
  }
  const ipt: string[] = [];
  for (const t of TABLES) {
    const td = d[t];
    const hooks = d.hooks?.filter((h) => h.table === t && !oldHooks.some((o) => o.spec === h.spec)) ?? [];
    const unhook = d.hooks === undefined ? [] : oldHooks.filter((o) => o.table === t && !d.hooks!.some((h) => h.spec === o.spec));
    if (td.upserts.length + td.deletes.length + hooks.length + unhook.length === 0) continue;
    ipt.push(`*${t}`);
    for (const c of td.upserts) ipt.push(`:${c.name} - [0:0]`);
    for (const n of td.deletes) ipt.push(`:${n} - [0:0]`);
    for (const c of td.upserts) for (const r of c.rules) ipt.push(`-A ${c.name} ${r.spec}`);
    for (const h of unhook) ipt.push(`-D ${h.chain} ${h.spec}`);
    for (const n of td.deletes) ipt.push(`-X ${n}`);
    for (const h of hooks) ipt.push(`-I ${h.chain} 1 ${h.spec}`);
    ipt.push('COMMIT');
  }
  return {
    ipsetBefore: before.join('\n'),
    iptables: ipt.length > 0 ? `${ipt.join('\n')}\n` : '',
    ipsetAfter: d.ipsetDeletes.map((n) => `destroy ${n}`).join('\n'),
  };
}

const RICH: SyncEvent[] = [
  set(profile('kns.prod', { labelsToApply: { env: 'prod' }, ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] })),
  set(wep('a', { ns: 'prod', ips: ['10.0.0.1/32', 'fd00::1/128'], labels: { app: 'db' }, profiles: ['kns.prod'], ports: [{ name: 'pg', protocol: 'TCP', port: 5432 }] })),
  set(wep('b', { ns: 'prod', ips: ['10.0.0.2/32'], labels: { app: 'web' }, profiles: ['kns.prod'] })),
  set(wep('c', { ns: 'dev', node: 'host2', ips: ['10.0.1.2/32', 'fd00::12/128'], labels: { app: 'web' } })),
  set(netset('ext', ['192.168.0.0/24'], { app: 'web' }, 'prod')),
  set(gnetset('world', ['0.0.0.0/1', '128.0.0.0/1'], { kind: 'world' })),
  set(pool('p4', '10.0.0.0/16', true)),
  set(pool('p6', 'fd00::/48', true)),
  set(
    np(
      'db',
      {
        order: 10,
        selector: 'app == "db"',
        ingress: [
          { action: 'Log', protocol: 'TCP' },
          { action: 'Allow', protocol: 'TCP', source: { selector: 'app == "web"' }, destination: { ports: ['pg', 5433, '6000:6010'] } },
          { action: 'Allow', protocol: 'ICMP', icmp: { type: 8, code: 0 } },
          { action: 'Allow', protocol: 'ICMPv6', icmp: { type: 128 } },
          { action: 'Deny', source: { nets: ['10.9.0.0/16', '10.8.0.0/16', 'fd09::/64'], notNets: ['10.9.9.0/24'] } },
          { action: 'Pass', protocol: 'UDP', source: { namespaceSelector: 'env == "prod"', ports: Array.from({ length: 20 }, (_, i) => 2000 + i) } },
          { action: 'Allow', notProtocol: 'SCTP', source: { notSelector: 'app == "web"' } },
        ],
        egress: [{ action: 'Allow', destination: { namespaceSelector: 'global()', selector: 'kind == "world"' } }],
      },
      'prod',
    ),
  ),
  set(gnp('default-deny', { selector: 'all()', types: ['Ingress', 'Egress'] })),
];

async function restoreFull(nf: FakeNetfilter, f: RenderedFamily): Promise<void> {
  await nf.ipset().restore(toIpsetRestoreText(f), { exist: true });
  await nf.iptables({ family: f.family, backend: 'nft' }).restore(toRestoreText(f));
}

describe('iptables-restore round trip (fake)', () => {
  it('a full render of a rich state is accepted and reads back with the same hashes', async () => {
    const g = new CalcGraph({ nodeName: 'host1' });
    g.apply(RICH);
    const r = renderAll(g.snapshot(), { dispatchFanout: 2 });
    const nf = createFakeNetfilter();
    for (const f of [r.v4, r.v6!]) {
      await restoreFull(nf, f);
      expect(sorted(await readBack(nf, f.family))).toEqual(sorted(expected(f)));
    }
    expect(await ipsetsOf(nf, 'tw4-')).toEqual(r.v4.ipsets.map((s) => [s.name, s.type, s.members]));
    expect(await ipsetsOf(nf, 'tw6-')).toEqual(r.v6!.ipsets.map((s) => [s.name, s.type, s.members]));
    // re-applying the same text changes nothing
    await restoreFull(nf, r.v4);
    expect(sorted(await readBack(nf, 4))).toEqual(sorted(expected(r.v4)));
  });

  it('incremental deltas written as restores keep the kernel equal to a full render', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.array(fc.nat({ max: 40 }), { maxLength: 5 }), async (ops, cutList) => {
        const g = new CalcGraph({ nodeName: 'host1' });
        const rr = new RuleRenderer({ dispatchFanout: 2 });
        const nf = createFakeNetfilter();
        const cuts = new Set(cutList);
        const hooks: Record<4 | 6, Hook[]> = { 4: [], 6: [] };
        const step = async (): Promise<void> => {
          const rd = rr.update(g.flush());
          for (const d of [rd.v4, rd.v6]) {
            const t = deltaText(d, hooks[d.family]);
            if (d.hooks !== undefined) hooks[d.family] = d.hooks;
            if (t.ipsetBefore !== '') await nf.ipset().restore(t.ipsetBefore, { exist: true });
            if (t.iptables !== '') await nf.iptables({ family: d.family, backend: 'nft' }).restore(t.iptables);
            if (t.ipsetAfter !== '') await nf.ipset().restore(t.ipsetAfter);
          }
        };
        for (const [i, op] of ops.entries()) {
          g.apply([toEvent(op)]);
          if (cuts.has(i)) await step();
        }
        await step();
        const full = renderAll(g.snapshot(), { dispatchFanout: 2 });
        expect(sorted(await readBack(nf, 4))).toEqual(sorted(expected(full.v4)));
        expect(sorted(await readBack(nf, 6))).toEqual(full.v6 ? sorted(expected(full.v6)) : []);
        expect(await ipsetsOf(nf, 'tw4-')).toEqual(full.v4.ipsets.map((s) => [s.name, s.type, s.members]));
      }),
      { numRuns: 60 },
    );
  });
});
