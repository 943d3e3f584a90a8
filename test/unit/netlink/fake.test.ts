// What the fake models beyond the shared contract: whole-namespace lifecycle, the loopback
// device's addresses, routes the kernel makes for addresses, and its event stream.
import { describe, expect, it } from 'vitest';
import { FakeKernel } from '../../../src/netlink/fake/index.js';
import { NetnsNotFoundError, RTPROT_TWILL, type NetlinkEvent } from '../../../src/netlink/index.js';

describe('FakeKernel', () => {
  it('deleting a namespace takes its veth ends, and their peers elsewhere, with it', async () => {
    const k = new FakeKernel();
    k.addNetns('ctr');
    const host = await k.open();
    await host.vethAdd({ name: 'tw1', peerName: 'eth0', peerNetns: { name: 'ctr' } });
    expect(await host.linkGet('tw1')).toBeDefined();
    k.deleteNetns('ctr');
    expect(await host.linkGet('tw1')).toBeUndefined();
    await expect(k.open({ name: 'ctr' })).rejects.toBeInstanceOf(NetnsNotFoundError);
    expect(() => k.addNetns('x')).not.toThrow();
    expect(() => k.addNetns('x')).toThrow(/already exists/);
  });

  it('resolves namespaces by /run/netns path and the current one by /proc path', async () => {
    const k = new FakeKernel();
    k.addNetns('a');
    const byName = await k.open({ name: 'a' });
    await byName.vethAdd({ name: 'p0', peerName: 'p1' });
    const byPath = await k.open({ path: '/run/netns/a' });
    expect(await byPath.linkGet('p0')).toBeDefined();
    const cur = await k.open({ path: '/proc/self/ns/net' });
    expect(await cur.linkGet('p0')).toBeUndefined();
    await expect(k.open({ path: '/tmp/nothing' })).rejects.toBeInstanceOf(NetnsNotFoundError);
  });

  it('monitors see events in order, only for their groups, until closed', async () => {
    const k = new FakeKernel();
    const h = await k.open();
    const all: NetlinkEvent[] = [];
    const routesOnly: NetlinkEvent[] = [];
    const m1 = await k.monitor({ current: true }, ['link', 'addr', 'route'], (e) => all.push(e));
    const m2 = await k.monitor({ current: true }, ['route'], (e) => routesOnly.push(e));
    await h.vethAdd({ name: 'a0', peerName: 'a1' });
    await h.routeAdd({ family: 4, dst: '10.9.0.0/24', type: 'blackhole', protocol: RTPROT_TWILL });
    await h.routeReplace({ family: 4, dst: '10.9.0.0/24', type: 'unreachable', protocol: RTPROT_TWILL });
    await h.routeDel({ family: 4, dst: '10.9.0.0/24' });
    m2.close();
    await h.routeAdd({ family: 4, dst: '10.9.1.0/24', type: 'blackhole', protocol: RTPROT_TWILL });
    await new Promise((r) => setImmediate(r));
    m1.close();
    expect(all.filter((e) => e.kind === 'link').map((e) => (e.kind === 'link' ? `${e.action} ${e.link.name}` : ''))).toEqual(['new a1', 'new a0']);
    expect(routesOnly.map((e) => (e.kind === 'route' ? `${e.action} ${e.route.type} ${e.route.dst}` : e.kind))).toEqual([
      'new blackhole 10.9.0.0/24',
      'new unreachable 10.9.0.0/24',
      'del unreachable 10.9.0.0/24',
    ]);
    expect(all.filter((e) => e.kind === 'route')).toHaveLength(4);
  });

  it('reports the veth peer across namespaces by namespace id and index', async () => {
    const k = new FakeKernel();
    k.addNetns('c');
    const host = await k.open();
    const ctr = await k.open({ name: 'c' });
    await host.vethAdd({ name: 'tw1', peerName: 'eth0', peerNetns: { name: 'c' } });
    const a = (await host.linkGet('tw1'))!;
    const b = (await ctr.linkGet('eth0'))!;
    expect(a.peerIndex).toBe(b.index === a.index ? undefined : b.index);
    expect(a.netnsId).toBe(0);
    expect(b.netnsId).toBe(0);
  });
});
