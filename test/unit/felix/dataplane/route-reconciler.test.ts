import { describe, expect, it } from 'vitest';
import { FakeKernel } from '../../../../src/netlink/fake/index.js';
import { RTPROT_TWILL, type NetlinkHandle } from '../../../../src/netlink/index.js';
import { LinkIndex, RouteReconciler } from '../../../../felix/dataplane/index.js';
import type { RouteState } from '../../../../felix/calc/types.js';

const local = (dst: string, interfaceName: string): RouteState => ({ dst, family: 4, type: 'local', interfaceName });
const blackhole = (dst: string): RouteState => ({ dst, family: 4, type: 'blackhole' });

async function setup(): Promise<{ nl: NetlinkHandle; links: LinkIndex }> {
  const k = new FakeKernel();
  const nl = await k.open();
  await nl.vethAdd({ name: 'twa', peerName: 'pa' });
  await nl.linkSetUp('twa', true);
  const links = new LinkIndex();
  links.reset(await nl.linkList());
  return { nl, links };
}

const ours = async (nl: NetlinkHandle): Promise<string[]> => (await nl.routeList({ protocol: RTPROT_TWILL })).map((r) => `${r.type ?? 'unicast'} ${r.dst} ${r.ifindex ?? '-'}`).sort();

describe('RouteReconciler', () => {
  it('adds /32 scope-link routes out of the interface and blackholes for own blocks, with our protocol', async () => {
    const { nl, links } = await setup();
    const r = new RouteReconciler(nl, links, { protocol: RTPROT_TWILL });
    r.markInSync();
    r.setDesired(new Map([['10.65.0.1/32', local('10.65.0.1/32', 'twa')], ['10.65.0.0/26', blackhole('10.65.0.0/26')]]));
    const res = await r.apply();
    expect(res.added.sort()).toEqual(['10.65.0.0/26', '10.65.0.1/32']);
    const idx = links.indexOf('twa')!;
    expect(await ours(nl)).toEqual(['blackhole 10.65.0.0/26 -', `unicast 10.65.0.1/32 ${idx}`]);
    const listed = await nl.routeList({ protocol: RTPROT_TWILL });
    expect(listed.find((x) => x.dst === '10.65.0.1/32')?.scope).toBe('link');
  });

  it('waits for a missing interface, then programs its route when it appears', async () => {
    const { nl, links } = await setup();
    const r = new RouteReconciler(nl, links);
    r.markInSync();
    r.setDesired(new Map([['10.65.0.2/32', local('10.65.0.2/32', 'twb')]]));
    expect((await r.apply()).waiting).toEqual(['10.65.0.2/32']);
    expect(await ours(nl)).toEqual([]);
    await nl.vethAdd({ name: 'twb', peerName: 'pb' });
    await nl.linkSetUp('twb', true);
    links.update('new', (await nl.linkGet('twb'))!);
    expect((await r.apply()).added).toEqual(['10.65.0.2/32']);
    expect(r.isProgrammed('10.65.0.2/32')).toBe(true);
  });

  it('a route through an interface that is down waits (not a failure) until it comes up', async () => {
    const { nl, links } = await setup();
    await nl.vethAdd({ name: 'twc', peerName: 'pc' });
    links.update('new', (await nl.linkGet('twc'))!);
    const r = new RouteReconciler(nl, links);
    r.markInSync();
    r.setDesired(new Map([['10.65.0.3/32', local('10.65.0.3/32', 'twc')]]));
    const res = await r.apply();
    expect(res.waiting).toEqual(['10.65.0.3/32']);
    expect(r.failing(1).size).toBe(0);
    await nl.linkSetUp('twc', true);
    expect(links.update('new', (await nl.linkGet('twc'))!)).toBe(true);
    expect((await r.apply()).added).toEqual(['10.65.0.3/32']);
  });

  it('never touches routes of other protocols; removes its own unwanted ones only after in-sync', async () => {
    const { nl, links } = await setup();
    const idx = links.indexOf('twa')!;
    await nl.routeAdd({ family: 4, dst: '10.99.0.0/24', ifindex: idx, protocol: 4 });
    await nl.routeAdd({ family: 4, dst: '10.65.0.9/32', ifindex: idx, protocol: RTPROT_TWILL });
    const r = new RouteReconciler(nl, links);
    r.setDesired(new Map());
    expect((await r.apply()).removed).toEqual([]);
    expect(await ours(nl)).toEqual([`unicast 10.65.0.9/32 ${idx}`]);
    r.markInSync();
    expect((await r.apply()).removed).toEqual(['10.65.0.9/32']);
    expect(await ours(nl)).toEqual([]);
    expect((await nl.routeList({ protocol: 4 })).map((x) => x.dst)).toEqual(['10.99.0.0/24']);
  });

  it('a restarted agent adopts its routes without rewriting them, and repairs a deleted one', async () => {
    const { nl, links } = await setup();
    const want = new Map([['10.65.0.1/32', local('10.65.0.1/32', 'twa')]]);
    const r1 = new RouteReconciler(nl, links);
    r1.markInSync();
    r1.setDesired(want);
    await r1.apply();
    const r2 = new RouteReconciler(nl, links);
    r2.setDesired(want);
    r2.markInSync();
    const res = await r2.apply();
    expect(res.added).toEqual([]);
    await nl.routeDel({ family: 4, dst: '10.65.0.1/32', protocol: RTPROT_TWILL });
    r2.noteKernelRoute('del', { family: 4, dst: '10.65.0.1/32', protocol: RTPROT_TWILL });
    expect((await r2.apply()).added).toEqual(['10.65.0.1/32']);
    expect((await ours(nl)).length).toBe(1);
  });

  it('keys routes by the canonical prefix text, so a desired route written another way is the kernel route it reads back', async () => {
    const { nl, links } = await setup();
    const r = new RouteReconciler(nl, links);
    r.markInSync();
    const dst = '2001:DB8:0:0::5/128';
    r.setDesired(new Map([[dst, { dst, family: 6, type: 'local', interfaceName: 'twa' }]]));
    expect((await r.apply()).added).toEqual(['2001:db8::5/128']);
    expect(r.isProgrammed(dst)).toBe(true);
    expect(r.isProgrammed('2001:db8::5/128')).toBe(true);
    await r.readBack();
    expect(await r.apply()).toEqual({ added: [], removed: [], waiting: [], pending: [] }); // nothing to redo
  });
});
