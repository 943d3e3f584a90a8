// Handles on other namespaces must not disturb the rest of the process: the caller's thread is
// back in its own namespace after every call, sockets keep their namespace, big batches let the
// event loop run, a namespace deleted under an open handle does not confuse anything, and the
// shared monitor serves several subscribers through one socket.
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer, connect, type AddressInfo } from 'node:net';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { monitor, NetnsNotFoundError, openNetlink, RTPROT_TWILL, RTPROT_TWILL_BGP, sharedMonitor, type NetlinkEvent, type NetlinkHandle } from '../../../src/netlink/index.js';
import { missing, uniquePrefix } from '../../support/env.js';
import { ipIn, NetnsPool } from '../../support/netns.js';

const reason = missing({ root: true, tools: ['ip'] });
/** Sockets this process holds open. */
const openFds = (): number =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;

describe.skipIf(reason)('netlink handles and namespaces (real kernel)', () => {
  const pool = new NetnsPool(uniquePrefix('ns'));
  const handles: NetlinkHandle[] = [];
  afterAll(() => {
    for (const h of handles) h.close();
    pool.cleanup();
  });
  const own = (): string => readlinkSync('/proc/thread-self/ns/net');

  it('opening handles and touching sysctls elsewhere leaves this thread in its own namespace', async () => {
    const before = own();
    const server = createServer((s) => s.end('pong'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      for (let i = 0; i < 5; i++) {
        const ns = pool.create(`o${i}`);
        const h = await openNetlink({ name: ns });
        handles.push(h);
        await h.vethAdd({ name: 'x0', peerName: 'x1' });
        await h.sysctlSet('net/ipv4/conf/x0/proxy_arp', '1');
        expect(own()).toBe(before);
        // A socket opened now, in between, is in our namespace: the loopback server answers.
        const reply = await new Promise<string>((resolve, reject) => {
          const c = connect(port, '127.0.0.1');
          let data = '';
          c.on('data', (d) => (data += d.toString()));
          c.on('end', () => resolve(data));
          c.on('error', reject);
        });
        expect(reply).toBe('pong');
        // The interface exists there, not here.
        expect(ipIn(ns, ['-o', 'link', 'show', 'x0'])).toContain('x0');
        expect(existsSync('/proc/sys/net/ipv4/conf/x0/proxy_arp')).toBe(false);
      }
    } finally {
      server.close();
    }
  });

  it('the current-namespace handle sees this namespace; named ones do not see each other', async () => {
    const a = pool.create('ca');
    const ha = await openNetlink({ name: a });
    const hc = await openNetlink();
    handles.push(ha, hc);
    await ha.vethAdd({ name: 'onlyina', peerName: 'onlyina1' });
    expect(await hc.linkGet('onlyina')).toBeUndefined();
    expect(await ha.linkGet('onlyina')).toBeDefined();
    const mine = (await hc.linkList()).map((l) => l.name);
    expect(mine).toContain('lo');
  });

  it('unknown namespaces and non-namespace files are NetnsNotFoundError', async () => {
    await expect(openNetlink({ name: `${pool.prefix}-nope` })).rejects.toBeInstanceOf(NetnsNotFoundError);
    await expect(openNetlink({ path: '/etc/hostname' })).rejects.toBeInstanceOf(NetnsNotFoundError);
    await expect(openNetlink({ name: '../etc' })).rejects.toBeInstanceOf(NetnsNotFoundError);
    await expect(monitor({ name: `${pool.prefix}-nope` }, ['route'], () => undefined)).rejects.toBeInstanceOf(NetnsNotFoundError);
  });

  it('a handle keeps working on its namespace after the name is deleted', async () => {
    const ns = pool.create('gone');
    const h = await openNetlink({ name: ns });
    handles.push(h);
    pool.delete(ns);
    await h.vethAdd({ name: 'still0', peerName: 'still1' });
    expect((await h.linkList()).map((l) => l.name).sort()).toEqual(['lo', 'still0', 'still1']);
  });

  it('lets the event loop run during a big batch, and a monitor sees every route', async () => {
    const ns = pool.create('big');
    const h = await openNetlink({ name: ns });
    handles.push(h);
    await h.vethAdd({ name: 'b0', peerName: 'b1' });
    await h.linkSetUp('b0', true);
    const ifindex = (await h.linkGet('b0'))!.index;
    const seen = new Set<string>();
    const m = await monitor({ name: ns }, ['route'], (e: NetlinkEvent) => {
      if (e.kind === 'route' && e.action === 'new' && e.route.protocol === RTPROT_TWILL) seen.add(e.route.dst);
      if (e.kind === 'overrun') seen.add('overrun');
    });
    try {
      let ticks = 0;
      let finished = false;
      const tick = (): void => {
        if (finished) return;
        ticks++;
        setImmediate(tick);
      };
      setImmediate(tick);
      const n = 20_000;
      const ops = Array.from({ length: n }, (_, i) => ({
        op: 'routeAdd' as const,
        route: { family: 4 as const, dst: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`, ifindex, protocol: RTPROT_TWILL },
      }));
      const res = await h.batch(ops);
      const ticksDuring = ticks;
      finished = true;
      expect(res.every((r) => r.ok)).toBe(true);
      expect(ticksDuring).toBeGreaterThan(1);
      for (let i = 0; i < 200 && seen.size < n; i++) await new Promise((r) => setTimeout(r, 10));
      expect(seen.has('overrun')).toBe(false);
      expect(seen.size).toBe(n);
    } finally {
      m.close();
    }
  });

  it('hands the same route events to two subscribers through one socket, until the last one closes', async () => {
    const ns = pool.create('a');
    const h = await openNetlink({ name: ns });
    handles.push(h);
    const felix: string[] = [];
    const bgp: string[] = [];
    const before = openFds();
    const m1 = await sharedMonitor({ name: ns }, ['link', 'route'], (e) => {
      if (e.kind === 'route' && e.route.protocol === RTPROT_TWILL) felix.push(`${e.action} ${e.route.dst}`);
    });
    const withOne = openFds();
    const m2 = await sharedMonitor({ name: ns }, ['route'], (e) => {
      if (e.kind === 'route' && (e.route.protocol === RTPROT_TWILL || e.route.protocol === RTPROT_TWILL_BGP)) bgp.push(`${e.action} ${e.route.dst}`);
    });
    expect(withOne).toBeGreaterThan(before);
    expect(openFds()).toBe(withOne); // the second subscriber opened no socket of its own
    await h.routeAdd({ family: 4, dst: '198.18.40.0/24', type: 'blackhole', protocol: RTPROT_TWILL });
    await h.routeAdd({ family: 4, dst: '198.18.41.0/24', type: 'blackhole', protocol: RTPROT_TWILL_BGP });
    await h.routeDel({ family: 4, dst: '198.18.40.0/24', protocol: RTPROT_TWILL });
    await vi.waitFor(() => expect(bgp).toEqual(['new 198.18.40.0/24', 'new 198.18.41.0/24', 'del 198.18.40.0/24']));
    await vi.waitFor(() => expect(felix).toEqual(['new 198.18.40.0/24', 'del 198.18.40.0/24']));
    m1.close();
    expect(openFds()).toBe(withOne);
    m2.close();
    expect(openFds()).toBe(before);
  });
});
