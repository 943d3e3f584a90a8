// `twillctl verify`, felix's part, on the fake kernel and fake netfilter: a programmed dataplane
// has no differences; each kind of change made behind the agent's back is reported by name, and
// verifying repairs nothing. Also the pure diff on hand-made inputs (hooks, order, extras).
import { describe, expect, it } from 'vitest';
import { createFakeNetfilter } from '../../../../src/iptables/fake/index.js';
import { FakeKernel } from '../../../../src/netlink/fake/index.js';
import { RTPROT_TWILL, type NetlinkHandle } from '../../../../src/netlink/index.js';
import { CalcGraph } from '../../../../felix/calc/index.js';
import type { SyncEvent } from '../../../../src/datastore/index.js';
import { renderAll } from '../../../../felix/rules/index.js';
import { Dataplane, diffKernel, type DataplaneDeps, type DesiredKernel, type KernelView } from '../../../../felix/dataplane/index.js';
import type { NodeDifference } from '../../../../src/nodeapi/types.js';

function state(withB = true) {
  const g = new CalcGraph({ nodeName: 'h1' });
  const wep = (name: string, iface: string, ip: string, role: string): SyncEvent => ({
    type: 'set',
    resource: { apiVersion: 'twill.io/v1', kind: 'WorkloadEndpoint', metadata: { name, namespace: 'default', labels: { role } }, spec: { node: 'h1', interfaceName: iface, ipNetworks: [`${ip}/32`], profiles: ['p'] } },
  });
  g.apply([
    // A rule selecting role == client: an ipset whose members are the clients' addresses.
    { type: 'set', resource: { apiVersion: 'twill.io/v1', kind: 'Profile', metadata: { name: 'p' }, spec: { ingress: [{ action: 'Allow', source: { selector: 'role == "client"' } }], egress: [{ action: 'Allow' }] } } },
    wep('a', 'twa', '10.65.0.1', 'client'),
    ...(withB ? [wep('b', 'twb', '10.65.0.2', 'client')] : []),
    wep('c', 'twc', '10.65.0.3', 'server'),
    {
      type: 'set',
      resource: { apiVersion: 'twill.io/v1', kind: 'IPAMBlock', metadata: { name: '10-65-0-0-26' }, spec: { cidr: '10.65.0.0/26', affinity: 'host:h1', allocations: [], unallocated: [], attributes: [], sequenceNumbers: [] } },
    },
    { type: 'set', resource: { apiVersion: 'twill.io/v1', kind: 'BlockAffinity', metadata: { name: 'h1-10-65-0-0-26' }, spec: { node: 'h1', cidr: '10.65.0.0/26', state: 'confirmed' } } },
  ]);
  return g.snapshot();
}

/** A dataplane that programmed state() into a fake kernel; with `monitor`, it watches route events as twill-node does. */
async function programmed(monitor = false): Promise<{ dp: Dataplane; nl: NetlinkHandle; nf: ReturnType<typeof createFakeNetfilter> }> {
  const kernel = new FakeKernel();
  const nl = await kernel.open();
  for (const n of ['twa', 'twb', 'twc']) {
    await nl.vethAdd({ name: n, peerName: `p${n}` });
    await nl.linkSetUp(n, true);
  }
  const nf = createFakeNetfilter();
  const dp = new Dataplane({
    netlink: nl,
    iptables4: nf.iptables({ family: 4, backend: 'nft' }),
    ipset: nf.ipset(),
    ...(monitor ? { monitor: (cb: Parameters<NonNullable<DataplaneDeps['monitor']>>[0]) => kernel.monitor({ current: true }, ['link', 'route'], cb) } : {}),
    refreshMs: 0,
    verifyAfterWriteMs: 0,
  });
  await dp.start();
  const s = state();
  dp.setDesired({ state: s, rendered: renderAll(s) });
  dp.markInSync();
  const r = await dp.applyNow();
  expect(r?.converged).toBe(true);
  return { dp, nl, nf };
}

const brief = (ds: NodeDifference[]): string[] => ds.map((d) => `${d.kind} ${d.object}: ${d.expected} → ${d.actual}`);

describe('Dataplane.verifyKernel', () => {
  it('a programmed kernel has no differences, and says what it compared', async () => {
    const { dp } = await programmed();
    const v = await dp.verifyKernel();
    expect(v.differences).toEqual([]);
    // 3 /32 routes + 1 blackhole; 3 interfaces × (5 IPv4 + 3 IPv6 sysctls) + IPv6 forwarding;
    // the selector's set (2 members) and the two (empty) pool sets.
    expect(v.checked).toMatchObject({ routes: 4, interfaces: 3, sysctls: 25, ipsets: 3, ipsetMembers: 2 });
    expect(v.checked.chains).toBeGreaterThan(5);
    await dp.stop();
  });

  it('reports a deleted route, a removed ipset member, a changed sysctl and a deleted rule by name, and repairs none of them', async () => {
    const { dp, nl, nf } = await programmed();
    const ipset = nf.ipset();
    const setName = [...(await ipset.list('tw4-')).entries()].find(([, i]) => i.members.size === 2)![0];
    await nl.routeDel({ family: 4, dst: '10.65.0.2/32', protocol: RTPROT_TWILL });
    await ipset.restore(`del ${setName} 10.65.0.1\n`);
    await nl.sysctlSet('net/ipv4/conf/twc/proxy_arp', '0');
    const ipt = nf.iptables({ family: 4, backend: 'nft' });
    const chain = (await ipt.save('filter')).chains.get('tw-FORWARD')!;
    await ipt.restore(`*filter\n-D tw-FORWARD ${chain.rules[1]!.spec}\nCOMMIT\n`);

    const first = await dp.verifyKernel();
    // The rule as rendered (iptables-save may order the matches differently): its hash names it.
    expect(first.differences[0]).toMatchObject({ kind: 'rule', object: 'v4 filter tw-FORWARD rule 2', actual: 'absent' });
    expect(first.differences[0]!.expected).toContain(`tw:${chain.rules[1]!.hash!}`);
    expect(brief(first.differences.slice(1))).toEqual([
      `ipset-member ${setName} 10.65.0.1: member → absent`,
      'route 10.65.0.2/32: dev twb scope link → absent',
      'sysctl net/ipv4/conf/twc/proxy_arp: 1 → 0',
    ]);
    // Read-only: the same differences a second time (nothing was put back).
    expect((await dp.verifyKernel()).differences).toEqual(first.differences);
    // The agent's own apply does repair them (after a read-back, as its periodic refresh does).
    await dp.readBackAll();
    await dp.applyNow();
    expect((await dp.verifyKernel()).differences).toEqual([]);
    await dp.stop();
  });

  it('reports what is there but not wanted: a foreign-added member, our protocol route, an owned chain', async () => {
    const { dp, nl, nf } = await programmed();
    const ipset = nf.ipset();
    const setName = [...(await ipset.list('tw4-')).entries()].find(([, i]) => i.members.size === 2)![0];
    await ipset.restore(`add ${setName} 10.99.0.9\n`);
    await nl.routeAdd({ family: 4, dst: '10.65.0.50/32', ifindex: (await nl.linkGet('twa'))!.index, protocol: RTPROT_TWILL });
    await nf.iptables({ family: 4, backend: 'nft' }).restore('*filter\n:tw-stray - [0:0]\n-A tw-stray -j ACCEPT\nCOMMIT\n');
    const v = await dp.verifyKernel();
    expect(brief(v.differences)).toEqual([
      'chain v4 filter tw-stray: absent → present (1 rules)',
      `ipset-member ${setName} 10.99.0.9: absent → member`,
      'route 10.65.0.50/32: absent → dev twa',
    ]);
    await dp.stop();
  });

  it('a route deleted by hand and put back at once (netlink monitor) is still reported, with when it was seen', async () => {
    const { dp, nl } = await programmed(true);
    await nl.routeDel({ family: 4, dst: '10.65.0.2/32', protocol: RTPROT_TWILL });
    // The monitor's event makes the agent put it back.
    for (let i = 0; i < 100 && !(await nl.routeList({ protocol: RTPROT_TWILL })).some((r) => r.dst === '10.65.0.2/32'); i++) {
      await new Promise((r) => setTimeout(r, 10));
      await dp.applyNow();
    }
    const v = await dp.verifyKernel();
    expect(v.differences).toHaveLength(1);
    expect(v.differences[0]).toMatchObject({ kind: 'route', object: '10.65.0.2/32', expected: 'dev twb scope link', actual: 'deleted outside the agent (netlink event); put back' });
    expect(v.differences[0]!.seenAt).toBeInstanceOf(Date);
    await dp.stop();
  });

  it('a remembered deletion is dropped once that route is no longer wanted (its workload went away)', async () => {
    const { dp, nl } = await programmed(true);
    await nl.routeDel({ family: 4, dst: '10.65.0.2/32', protocol: RTPROT_TWILL });
    for (let i = 0; i < 100 && (await dp.verifyKernel()).differences.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await dp.verifyKernel()).differences.map((d) => d.object)).toContain('10.65.0.2/32');
    const s = state(false);
    dp.setDesired({ state: s, rendered: renderAll(s) });
    await dp.applyNow();
    expect((await dp.verifyKernel()).differences).toEqual([]);
    await dp.stop();
  });
});

describe('diffKernel', () => {
  const rule = (hash: string, text: string) => ({ hash, spec: `-m comment --comment "tw:${hash}" ${text}` });
  const base = (): DesiredKernel => ({
    iptables: [
      {
        family: 4,
        tables: new Map([['filter', new Map([['tw-x', { name: 'tw-x', rules: [rule('aaaa', '-j ACCEPT'), rule('bbbb', '-j DROP')] }]])]]),
        hooks: [{ table: 'filter', chain: 'FORWARD', spec: '-m comment --comment "tw:hhhh" -j tw-x', hash: 'hhhh' }],
      },
    ],
    ipsets: [],
    routes: new Map(),
    routeProtocol: RTPROT_TWILL,
    interfaces: [],
    ipv6: false,
    rpFilter: '1',
  });
  const kernel = (rules: { hash: string; spec: string }[], forward: { hash?: string; spec: string }[]): KernelView => ({
    iptables: [
      {
        family: 4,
        tables: new Map([
          [
            'filter',
            {
              table: 'filter',
              chains: new Map([
                ['FORWARD', { name: 'FORWARD', policy: 'ACCEPT', rules: forward.map((r) => ({ chain: 'FORWARD', ...r })) }],
                ['tw-x', { name: 'tw-x', rules: rules.map((r) => ({ chain: 'tw-x', ...r })) }],
              ]),
            },
          ],
        ]),
      },
    ],
    ipsets: new Map(),
    routes: [],
    links: [],
    sysctls: new Map(),
  });
  const hook = { hash: 'hhhh', spec: '-m comment --comment "tw:hhhh" -j tw-x' };

  it('same rules in another order is one chain difference', () => {
    const d = diffKernel(base(), kernel([rule('bbbb', '-j DROP'), rule('aaaa', '-j ACCEPT')], [hook]));
    expect(brief(d.differences)).toEqual(['chain v4 filter tw-x: 2 rules in the rendered order → the same rules in another order']);
  });

  it('a hook not at the top, or missing, is a hook difference naming the built-in chain', () => {
    const moved = diffKernel(base(), kernel([rule('aaaa', '-j ACCEPT'), rule('bbbb', '-j DROP')], [{ spec: '-j LOG' }, hook]));
    expect(brief(moved.differences)).toEqual([`hook v4 filter FORWARD: 1: -A FORWARD ${hook.spec} → 2: -A FORWARD ${hook.spec}`]);
    const gone = diffKernel(base(), kernel([rule('aaaa', '-j ACCEPT'), rule('bbbb', '-j DROP')], []));
    expect(brief(gone.differences)).toEqual([`hook v4 filter FORWARD: 1: -A FORWARD ${hook.spec} → no rule of ours`]);
  });

  it('a rule changed by hand shows as the wanted rule absent and the foreign one present', () => {
    const d = diffKernel(base(), kernel([rule('aaaa', '-j ACCEPT'), { hash: '', spec: '-j RETURN' } as { hash: string; spec: string }], [hook]));
    expect(brief(d.differences)).toEqual([
      'rule v4 filter tw-x rule 2: -A tw-x -m comment --comment "tw:bbbb" -j DROP → absent',
      'rule v4 filter tw-x rule 2: absent → -A tw-x -j RETURN',
    ]);
  });

  it('a missing workload interface is reported instead of its sysctls; IPv6 files absent from the kernel are not differences', () => {
    const want = { ...base(), iptables: [], interfaces: ['twz', 'twy'], ipv6: true };
    const d = diffKernel(want, {
      ...kernel([], []),
      iptables: [],
      links: [{ index: 7, name: 'twy' } as KernelView['links'][number]],
      sysctls: new Map([
        ['net/ipv4/conf/twy/proxy_arp', '1'],
        ['net/ipv4/neigh/twy/proxy_delay', '0'],
        ['net/ipv4/conf/twy/forwarding', '1'],
        ['net/ipv4/conf/twy/route_localnet', '1'],
        ['net/ipv4/conf/twy/rp_filter', '2'],
      ]),
    });
    expect(brief(d.differences)).toEqual(['interface twz: present (a local workload endpoint) → absent', 'sysctl net/ipv4/conf/twy/rp_filter: 1 → 2']);
  });
});
