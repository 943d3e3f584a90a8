// KernelRouteSync against the real kernel in a throwaway namespace: 100,000 prefixes in and out,
// a route deleted by hand comes back through the monitor, a foreign route is left alone, ECMP.
// `ip` is used only to look at (and disturb) the result, as a user would.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelRouteSync } from '../../../../bgp/kernel/index.js';
import { openNetlink, RTPROT_TWILL_BGP, type NetlinkHandle } from '../../../../src/netlink/index.js';
import { missing, uniquePrefix } from '../../../support/env.js';
import { ipIn, NetnsPool } from '../../../support/netns.js';

const reason = missing({ root: true, tools: ['ip'] });

async function until(cond: () => boolean | Promise<boolean>, turns = 3000): Promise<boolean> {
  for (let i = 0; i < turns; i++) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

function countOurs(ns: string, family: 4 | 6 = 4): number {
  const out = execFileSync('ip', ['-n', ns, `-${family}`, 'route', 'show', 'proto', String(RTPROT_TWILL_BGP)], { encoding: 'utf8', maxBuffer: 256 << 20 });
  return out.split('\n').filter((l) => l && !l.startsWith('\t') && !l.startsWith(' ')).length;
}

describe.skipIf(reason)('KernelRouteSync (real kernel)', () => {
  const pool = new NetnsPool(uniquePrefix('ks'));
  let ns = '';
  let nl: NetlinkHandle;
  let sync: KernelRouteSync;

  beforeAll(async () => {
    ns = pool.create('h');
    ipIn(ns, ['link', 'add', 'ks0', 'type', 'veth', 'peer', 'name', 'ks1']);
    ipIn(ns, ['link', 'add', 'ks2', 'type', 'veth', 'peer', 'name', 'ks3']);
    for (const l of ['lo', 'ks0', 'ks1', 'ks2', 'ks3']) ipIn(ns, ['link', 'set', l, 'up']);
    ipIn(ns, ['addr', 'add', '192.0.2.1/24', 'dev', 'ks0']);
    ipIn(ns, ['addr', 'add', '198.51.100.1/24', 'dev', 'ks2']);
    ipIn(ns, ['-6', 'addr', 'add', '2001:db8:f0::1/64', 'dev', 'ks0', 'nodad']);
    ipIn(ns, ['-6', 'addr', 'add', '2001:db8:f1::1/64', 'dev', 'ks2', 'nodad']);
    nl = await openNetlink({ name: ns });
    sync = new KernelRouteSync(nl, { maxPaths: 4, retryInitialMs: 20, retryMaxMs: 200 });
    await sync.start({ reconcileAfterMs: 0 });
  });

  afterAll(async () => {
    await sync?.stop({ keepRoutes: false });
    nl?.close();
    pool.cleanup();
  });

  it('100,000 learned prefixes reach the kernel and leave it again on withdrawal', async () => {
    const n = 100_000;
    const prefixes: string[] = [];
    for (let i = 0; i < n; i++) prefixes.push(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32`);
    const t0 = process.hrtime.bigint();
    sync.setRoutes(prefixes.map((prefix) => ({ prefix, nextHops: [{ gateway: '192.0.2.2' }] })));
    await sync.settled();
    const inMs = Number(process.hrtime.bigint() - t0) / 1e6;
    expect(countOurs(ns)).toBe(n);
    expect(sync.stats()).toMatchObject({ installed: n, pending: 0, writes: { failed: 0 } });

    const t1 = process.hrtime.bigint();
    sync.setRoutes(prefixes.map((prefix) => ({ prefix, nextHops: null })));
    await sync.settled();
    const outMs = Number(process.hrtime.bigint() - t1) / 1e6;
    expect(countOurs(ns)).toBe(0);
    // Let the monitor catch up with the events of our own writes before the next test.
    await until(() => sync.stats().pending === 0);
    console.log(`kernel sync: ${n} routes in ${inMs.toFixed(0)} ms, out ${outMs.toFixed(0)} ms (${sync.stats().resyncs} monitor resyncs)`);
  });

  it('a route deleted by hand comes back; a foreign route in the same table is untouched', async () => {
    ipIn(ns, ['route', 'add', '203.0.113.0/24', 'via', '198.51.100.9', 'proto', 'static']);
    sync.setRoutes([
      { prefix: '172.16.1.0/24', nextHops: [{ gateway: '192.0.2.2' }] },
      { prefix: '2001:db8:77::/48', nextHops: [{ gateway: '2001:db8:f0::2' }] },
      { prefix: '203.0.113.0/24', nextHops: [{ gateway: '192.0.2.2' }] }, // held by the static route
    ]);
    await sync.settled();
    expect(ipIn(ns, ['route', 'show', '172.16.1.0/24'])).toContain(`via 192.0.2.2 dev ks0 proto ${RTPROT_TWILL_BGP}`);

    ipIn(ns, ['route', 'del', '172.16.1.0/24']);
    ipIn(ns, ['-6', 'route', 'del', '2001:db8:77::/48']);
    expect(await until(() => ipIn(ns, ['route', 'show', '172.16.1.0/24']).includes('via 192.0.2.2'))).toBe(true);
    expect(await until(() => ipIn(ns, ['-6', 'route', 'show', '2001:db8:77::/48']).includes('via 2001:db8:f0::2'))).toBe(true);

    expect(await until(() => sync.stats().conflicts === 1)).toBe(true);
    const held = ipIn(ns, ['route', 'show', '203.0.113.0/24']).trim();
    expect(held).toBe('203.0.113.0/24 via 198.51.100.9 dev ks2 proto static');

    sync.setRoutes([{ prefix: '203.0.113.0/24', nextHops: null }]);
    await sync.settled();
    expect(ipIn(ns, ['route', 'show', '203.0.113.0/24']).trim()).toBe('203.0.113.0/24 via 198.51.100.9 dev ks2 proto static');
  });

  it('ECMP: two next hops become one multipath route, then a plain route when one goes', async () => {
    sync.setRoutes([
      { prefix: '172.17.0.0/16', nextHops: [{ gateway: '192.0.2.2' }, { gateway: '198.51.100.2' }] },
      { prefix: '2001:db8:88::/48', nextHops: [{ gateway: '2001:db8:f0::2' }, { gateway: '2001:db8:f1::2' }] },
    ]);
    await sync.settled();
    const v4 = ipIn(ns, ['route', 'show', '172.17.0.0/16']);
    expect(v4).toContain(`proto ${RTPROT_TWILL_BGP}`);
    expect(v4).toMatch(/nexthop via 192\.0\.2\.2 dev ks0/);
    expect(v4).toMatch(/nexthop via 198\.51\.100\.2 dev ks2/);
    const v6 = ipIn(ns, ['-6', 'route', 'show', '2001:db8:88::/48']);
    expect(v6).toMatch(/nexthop via 2001:db8:f0::2 dev ks0/);
    expect(v6).toMatch(/nexthop via 2001:db8:f1::2 dev ks2/);

    sync.setRoutes([
      { prefix: '172.17.0.0/16', nextHops: [{ gateway: '198.51.100.2' }] },
      { prefix: '2001:db8:88::/48', nextHops: [{ gateway: '2001:db8:f1::2' }] },
    ]);
    await sync.settled();
    expect(ipIn(ns, ['route', 'show', '172.17.0.0/16']).trim()).toBe(`172.17.0.0/16 via 198.51.100.2 dev ks2 proto ${RTPROT_TWILL_BGP}`);
    const v6b = ipIn(ns, ['-6', 'route', 'show', '2001:db8:88::/48']);
    expect(v6b).toContain('via 2001:db8:f1::2 dev ks2');
    expect(v6b).not.toContain('nexthop');
    // Nothing keeps rewriting: the monitor's echo of our own writes settles.
    const w = sync.stats().writes;
    await new Promise((r) => setTimeout(r, 200));
    expect(sync.stats().writes).toEqual(w);
  });
});
