// One monitor socket per namespace per thread, shared by its subscribers (felix's dataplane and
// the BGP kernel sync when they run in one thread).
import { describe, expect, it, vi } from 'vitest';
import { FakeKernel } from '../../../src/netlink/fake/index.js';
import { MonitorRegistry, RTPROT_TWILL, type Monitor, type MonitorOpener, type MonitorOptions, type NetlinkEvent } from '../../../src/netlink/index.js';

function rig(): { k: FakeKernel; reg: MonitorRegistry; opens: () => number; closes: () => number } {
  const k = new FakeKernel();
  let opens = 0;
  let closes = 0;
  const open: MonitorOpener = async (ns, groups, onEvent) => {
    opens++;
    const m = await k.monitor(ns, groups, onEvent);
    return {
      close: () => {
        closes++;
        m.close();
      },
    };
  };
  return { k, reg: new MonitorRegistry(open), opens: () => opens, closes: () => closes };
}

const label = (e: NetlinkEvent): string => (e.kind === 'route' ? `route ${e.action} ${e.route.dst}` : e.kind === 'link' ? `link ${e.action} ${e.link.name}` : e.kind);

describe('MonitorRegistry', () => {
  it('opens one socket for several subscribers and hands each the kinds it asked for, in order', async () => {
    const { k, reg, opens } = rig();
    const a: string[] = [];
    const b: string[] = [];
    const [ma, mb] = await Promise.all([
      reg.subscribe({ current: true }, ['route'], (e) => a.push(label(e))),
      reg.subscribe({ current: true }, ['link', 'route'], (e) => b.push(label(e))),
    ]);
    expect(opens()).toBe(1);
    expect(reg.size).toBe(1);
    const nl = await k.open();
    await nl.vethAdd({ name: 'v0', peerName: 'v1' });
    await nl.routeAdd({ family: 4, dst: '10.1.0.0/16', type: 'blackhole', protocol: RTPROT_TWILL });
    await nl.routeDel({ family: 4, dst: '10.1.0.0/16', protocol: RTPROT_TWILL });
    await vi.waitFor(() => expect(b).toContain('route del 10.1.0.0/16'));
    await vi.waitFor(() => expect(a).toContain('route del 10.1.0.0/16'));
    expect(a).toEqual(['route new 10.1.0.0/16', 'route del 10.1.0.0/16']);
    expect(b.filter((x) => x.startsWith('link')).length).toBeGreaterThan(0);
    expect(b.filter((x) => x.startsWith('route'))).toEqual(a);
    ma.close();
    mb.close();
  });

  it('keeps the socket while anyone listens, closes it with the last one, and opens anew later', async () => {
    const { k, reg, opens, closes } = rig();
    const a: string[] = [];
    const b: string[] = [];
    const ma = await reg.subscribe({ current: true }, ['route'], (e) => a.push(label(e)));
    const mb = await reg.subscribe({ current: true }, ['route'], (e) => b.push(label(e)));
    ma.close();
    ma.close(); // twice is harmless
    const nl = await k.open();
    await nl.routeAdd({ family: 4, dst: '10.2.0.0/16', type: 'blackhole', protocol: RTPROT_TWILL });
    await vi.waitFor(() => expect(b).toEqual(['route new 10.2.0.0/16']));
    expect(a).toEqual([]);
    expect(closes()).toBe(0);
    mb.close();
    expect(closes()).toBe(1);
    expect(reg.size).toBe(0);
    const mc = await reg.subscribe({ current: true }, ['route'], () => undefined);
    expect(opens()).toBe(2);
    mc.close();
  });

  it('keeps one socket per namespace', async () => {
    const { k, reg, opens } = rig();
    k.addNetns('other');
    const got: string[] = [];
    const m1 = await reg.subscribe({ current: true }, ['route'], (e) => got.push(`here ${label(e)}`));
    const m2 = await reg.subscribe({ name: 'other' }, ['route'], (e) => got.push(`other ${label(e)}`));
    expect(opens()).toBe(2);
    const nl = await k.open({ name: 'other' });
    await nl.routeAdd({ family: 4, dst: '10.3.0.0/16', type: 'blackhole', protocol: RTPROT_TWILL });
    await vi.waitFor(() => expect(got).toEqual(['other route new 10.3.0.0/16']));
    m1.close();
    m2.close();
  });

  it('tells every subscriber about an overrun and a failed socket, and opens anew afterwards', async () => {
    let emit: ((e: NetlinkEvent) => void) | undefined;
    let fail: MonitorOptions['onError'];
    let opens = 0;
    const reg = new MonitorRegistry(async (_ns, _groups, onEvent, opts): Promise<Monitor> => {
      opens++;
      emit = onEvent;
      fail = opts.onError;
      return { close: () => undefined };
    });
    const seen: string[] = [];
    await reg.subscribe({ current: true }, ['route'], (e) => seen.push(`a ${e.kind}`), { onError: (e) => seen.push(`a error ${e.message}`) });
    await reg.subscribe({ current: true }, ['link'], (e) => seen.push(`b ${e.kind}`), { onError: (e) => seen.push(`b error ${e.message}`) });
    emit!({ kind: 'overrun' });
    emit!({ kind: 'addr', action: 'new', addr: { family: 4, ifindex: 1, address: '10.0.0.1', prefixLength: 8 } });
    fail!(new Error('recv failed'));
    expect(seen).toEqual(['a overrun', 'b overrun', 'a error recv failed', 'b error recv failed']);
    expect(reg.size).toBe(0);
    await reg.subscribe({ current: true }, ['route'], () => undefined);
    expect(opens).toBe(2);
  });

  it('a socket that cannot be opened fails every waiting subscriber and leaves nothing behind', async () => {
    let opens = 0;
    const reg = new MonitorRegistry(async () => {
      opens++;
      throw new Error('no such namespace');
    });
    const r = await Promise.allSettled([reg.subscribe({ name: 'x' }, ['route'], () => undefined), reg.subscribe({ name: 'x' }, ['link'], () => undefined)]);
    expect(r.map((x) => x.status)).toEqual(['rejected', 'rejected']);
    expect(opens).toBe(1);
    expect(reg.size).toBe(0);
  });
});
