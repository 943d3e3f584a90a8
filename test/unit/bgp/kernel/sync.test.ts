// KernelRouteSync against the in-memory netlink fake: desired vs actual, ECMP, foreign routes,
// graceful restart, repair from monitor events, retries.
import { afterEach, describe, expect, it } from 'vitest';
import { KernelRouteSync, type KernelRouteSyncOptions } from '../../../../bgp/kernel/index.js';
import { FakeKernel } from '../../../../src/netlink/fake/index.js';
import { RTPROT_TWILL_BGP, type NetlinkHandle, type Route } from '../../../../src/netlink/index.js';

const STATIC = 4;

interface Rig {
  k: FakeKernel;
  nl: NetlinkHandle;
  /** A second handle, as another program (or `ip route`) would use. */
  other: NetlinkHandle;
  if0: number;
  if1: number;
}

const syncs: KernelRouteSync[] = [];

afterEach(async () => {
  for (const s of syncs.splice(0)) await s.stop({ keepRoutes: true });
});

/** A namespace with two up veths: 10.0.0.1/24 + 2001:db8::1/64 on v0, 10.0.1.1/24 on v1. */
async function rig(): Promise<Rig> {
  const k = new FakeKernel();
  k.addNetns('h');
  const nl = await k.open({ name: 'h' });
  const other = await k.open({ name: 'h' });
  await nl.vethAdd({ name: 'v0', peerName: 'p0' });
  await nl.vethAdd({ name: 'v1', peerName: 'p1' });
  for (const n of ['v0', 'p0', 'v1', 'p1']) await nl.linkSetUp(n, true);
  const if0 = (await nl.linkGet('v0'))!.index;
  const if1 = (await nl.linkGet('v1'))!.index;
  await nl.addrAdd({ ifindex: if0, family: 4, address: '10.0.0.1', prefixLength: 24 });
  await nl.addrAdd({ ifindex: if1, family: 4, address: '10.0.1.1', prefixLength: 24 });
  await nl.addrAdd({ ifindex: if0, family: 6, address: '2001:db8::1', prefixLength: 64, noDad: true });
  await nl.addrAdd({ ifindex: if1, family: 6, address: '2001:db8:1::1', prefixLength: 64, noDad: true });
  return { k, nl, other, if0, if1 };
}

function makeSync(r: Rig, opts: KernelRouteSyncOptions = {}): KernelRouteSync {
  const s = new KernelRouteSync(r.nl, {
    monitor: (cb) => r.k.monitor({ name: 'h' }, ['route'], cb),
    coalesceMs: 1,
    retryInitialMs: 5,
    retryMaxMs: 20,
    ...opts,
  });
  syncs.push(s);
  return s;
}

async function ours(nl: NetlinkHandle): Promise<Route[]> {
  return nl.routeList({ protocol: RTPROT_TWILL_BGP });
}

async function routeOf(nl: NetlinkHandle, dst: string): Promise<Route[]> {
  return (await nl.routeList({})).filter((r) => r.dst === dst);
}

/** Waits (event-loop turns, bounded) until cond holds; returns whether it did. */
async function until(cond: () => Promise<boolean> | boolean, turns = 2000): Promise<boolean> {
  for (let i = 0; i < turns; i++) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 2));
  }
  return false;
}

describe('KernelRouteSync (fake kernel)', () => {
  it('installs, changes and withdraws single-path routes with our protocol, IPv4 and IPv6', async () => {
    const r = await rig();
    const s = makeSync(r);
    await s.start({ reconcileAfterMs: 0 });
    s.setRoutes([
      { prefix: '10.10.0.0/24', nextHops: [{ gateway: '10.0.0.2' }] },
      { prefix: '10.10.1.5/32', nextHops: [{ gateway: '10.0.1.2' }] },
      { prefix: '2001:db8:aa::/48', nextHops: [{ gateway: '2001:db8::2' }] },
    ]);
    await s.settled();
    const got = await ours(r.nl);
    expect(got.map((x) => `${x.dst} via ${x.gateway} dev ${x.ifindex}`).sort()).toEqual(
      ['10.10.0.0/24 via 10.0.0.2 dev ' + r.if0, '10.10.1.5/32 via 10.0.1.2 dev ' + r.if1, '2001:db8:aa::/48 via 2001:db8::2 dev ' + r.if0].sort(),
    );

    s.setRoutes([{ prefix: '10.10.0.0/24', nextHops: [{ gateway: '10.0.1.9' }] }, { prefix: '10.10.1.5/32', nextHops: null }]);
    await s.settled();
    const after = await ours(r.nl);
    expect(after.map((x) => `${x.dst} via ${x.gateway}`).sort()).toEqual(['10.10.0.0/24 via 10.0.1.9', '2001:db8:aa::/48 via 2001:db8::2']);
    expect(s.stats()).toMatchObject({ desired: 2, installed: 2, pending: 0, conflicts: 0 });
  });

  it('canonicalises prefixes and refuses malformed changes without touching the kernel', async () => {
    const r = await rig();
    const s = makeSync(r);
    await s.start({ reconcileAfterMs: 0 });
    s.setRoutes([
      { prefix: '2001:DB8:0:0::/64', nextHops: [{ gateway: '2001:db8:0::2' }] },
      { prefix: '10.1.2.3/24', nextHops: [{ gateway: '10.0.0.2' }] }, // host bits
      { prefix: '10.1.0.0/16', nextHops: [{ gateway: '2001:db8::2' }] }, // wrong family
      { prefix: '2001:db8:5::/64', nextHops: [{ gateway: 'fe80::1' }] }, // link-local without ifindex
      { prefix: 'nonsense', nextHops: [{ gateway: '10.0.0.2' }] },
    ]);
    await s.settled();
    expect((await ours(r.nl)).map((x) => x.dst)).toEqual(['2001:db8::/64']);
    expect(s.stats().rejected).toBe(4);
  });

  it('turns equal paths into one multipath route, capped at maxPaths, and back to a plain route', async () => {
    const r = await rig();
    const s = makeSync(r, { maxPaths: 2 });
    await s.start({ reconcileAfterMs: 0 });
    s.setRoutes([{ prefix: '10.20.0.0/16', nextHops: [{ gateway: '10.0.1.2' }, { gateway: '10.0.0.2' }, { gateway: '10.0.0.3' }] }]);
    await s.settled();
    let got = await routeOf(r.nl, '10.20.0.0/16');
    expect(got).toHaveLength(1);
    expect(got[0]!.protocol).toBe(RTPROT_TWILL_BGP);
    expect(got[0]!.multipath?.map((h) => h.gateway).sort()).toEqual(['10.0.0.2', '10.0.1.2']); // first two given

    s.setRoutes([{ prefix: '10.20.0.0/16', nextHops: [{ gateway: '10.0.0.2' }] }]);
    await s.settled();
    got = await routeOf(r.nl, '10.20.0.0/16');
    expect(got).toHaveLength(1);
    expect(got[0]!.multipath).toBeUndefined();
    expect(got[0]!.gateway).toBe('10.0.0.2');
  });

  it('with maxPaths 1 installs only the first (best) path', async () => {
    const r = await rig();
    const s = makeSync(r);
    await s.start({ reconcileAfterMs: 0 });
    s.setRoutes([{ prefix: '10.21.0.0/16', nextHops: [{ gateway: '10.0.1.2' }, { gateway: '10.0.0.2' }] }]);
    await s.settled();
    const got = await routeOf(r.nl, '10.21.0.0/16');
    expect(got.map((x) => [x.gateway, x.multipath])).toEqual([['10.0.1.2', undefined]]);
  });

  it('never replaces or deletes a foreign route, reports the conflict, and installs ours once it is gone', async () => {
    const r = await rig();
    await r.other.routeAdd({ family: 4, dst: '10.30.0.0/24', gateway: '10.0.1.7', protocol: STATIC });
    await r.other.routeAdd({ family: 4, dst: '10.31.0.0/24', gateway: '10.0.1.7', protocol: STATIC });
    const s = makeSync(r);
    await s.start({ reconcileAfterMs: 0 });
    s.setRoutes([
      { prefix: '10.30.0.0/24', nextHops: [{ gateway: '10.0.0.2' }] },
      { prefix: '10.32.0.0/24', nextHops: [{ gateway: '10.0.0.2' }] },
    ]);
    expect(await until(() => s.stats().conflicts === 1)).toBe(true);
    expect(s.conflictingPrefixes()).toEqual(['10.30.0.0/24']);
    const held = await routeOf(r.nl, '10.30.0.0/24');
    expect(held.map((x) => [x.protocol, x.gateway])).toEqual([[STATIC, '10.0.1.7']]);

    // Withdrawing everything (and stopping) must leave the foreign routes alone.
    s.setRoutes([{ prefix: '10.32.0.0/24', nextHops: null }]);
    await s.settled();
    expect((await routeOf(r.nl, '10.31.0.0/24')).map((x) => x.protocol)).toEqual([STATIC]);

    // The foreign route goes away: its delete event lets ours in.
    await r.other.routeDel({ family: 4, dst: '10.30.0.0/24', protocol: STATIC });
    expect(await until(async () => (await routeOf(r.nl, '10.30.0.0/24')).some((x) => x.protocol === RTPROT_TWILL_BGP))).toBe(true);
    expect(s.stats().conflicts).toBe(0);

    await s.stop({ keepRoutes: false });
    expect(await ours(r.nl)).toEqual([]);
    expect((await r.nl.routeList({ protocol: STATIC })).map((x) => x.dst)).toEqual(['10.31.0.0/24']);
  });

  it('puts back a route of ours deleted or changed by someone else (monitor events, no polling)', async () => {
    const r = await rig();
    const s = makeSync(r);
    await s.start({ reconcileAfterMs: 0 });
    s.setRoutes([{ prefix: '10.40.0.0/24', nextHops: [{ gateway: '10.0.0.2' }] }]);
    await s.settled();
    let lists = 0;
    const list = r.nl.routeList.bind(r.nl);
    r.nl.routeList = async (f) => {
      lists++;
      return list(f);
    };

    await r.other.routeDel({ family: 4, dst: '10.40.0.0/24' });
    expect(await until(async () => (await list({ protocol: RTPROT_TWILL_BGP })).length === 1)).toBe(true);

    await r.other.routeReplace({ family: 4, dst: '10.40.0.0/24', gateway: '10.0.1.66', protocol: RTPROT_TWILL_BGP });
    expect(await until(async () => (await list({ protocol: RTPROT_TWILL_BGP }))[0]?.gateway === '10.0.0.2')).toBe(true);
    expect(s.stats().repaired).toBeGreaterThanOrEqual(2);
    expect(lists).toBe(0);
  });

  it('graceful restart: keeps routes of a previous run until in sync, then removes only the unwanted ones', async () => {
    const r = await rig();
    // Left by a previous run.
    for (const dst of ['10.50.0.0/24', '10.50.1.0/24', '10.50.2.0/24']) {
      await r.other.routeAdd({ family: 4, dst, gateway: '10.0.0.2', protocol: RTPROT_TWILL_BGP });
    }
    await r.other.routeAdd({ family: 4, dst: '10.51.0.0/24', gateway: '10.0.0.2', protocol: STATIC });
    const s = makeSync(r);
    await s.start({ reconcileAfterMs: 60_000 });
    expect(s.stats()).toMatchObject({ stale: 3, inSync: false, installed: 3 });
    s.setRoutes([
      { prefix: '10.50.0.0/24', nextHops: [{ gateway: '10.0.1.2' }] }, // re-learned with a new next hop
      { prefix: '10.50.3.0/24', nextHops: [{ gateway: '10.0.0.2' }] }, // new
    ]);
    await s.settled();
    expect((await ours(r.nl)).map((x) => `${x.dst} ${x.gateway}`).sort()).toEqual([
      '10.50.0.0/24 10.0.1.2',
      '10.50.1.0/24 10.0.0.2',
      '10.50.2.0/24 10.0.0.2',
      '10.50.3.0/24 10.0.0.2',
    ]);
    s.markInSync();
    await s.settled();
    expect((await ours(r.nl)).map((x) => x.dst).sort()).toEqual(['10.50.0.0/24', '10.50.3.0/24']);
    expect((await r.nl.routeList({ protocol: STATIC })).map((x) => x.dst)).toEqual(['10.51.0.0/24']);
    expect(s.stats()).toMatchObject({ inSync: true, stale: 0 });
  });

  it('graceful restart: the reconcile timer removes stale routes when markInSync never comes', async () => {
    const r = await rig();
    await r.other.routeAdd({ family: 4, dst: '10.52.0.0/24', gateway: '10.0.0.2', protocol: RTPROT_TWILL_BGP });
    const s = makeSync(r);
    await s.start({ reconcileAfterMs: 20 });
    expect((await ours(r.nl)).length).toBe(1);
    expect(await until(async () => (await ours(r.nl)).length === 0)).toBe(true);
    expect(s.stats().inSync).toBe(true);
  });

  it('stop({ keepRoutes: true }) leaves forwarding in place; a new instance takes the routes over', async () => {
    const r = await rig();
    const a = makeSync(r);
    await a.start({ reconcileAfterMs: 0 });
    a.setRoutes([{ prefix: '10.60.0.0/24', nextHops: [{ gateway: '10.0.0.2' }] }]);
    await a.settled();
    await a.stop({ keepRoutes: true });
    expect((await ours(r.nl)).length).toBe(1);

    const b = makeSync(r);
    b.setRoutes([{ prefix: '10.60.0.0/24', nextHops: [{ gateway: '10.0.0.2' }] }]);
    await b.start({ reconcileAfterMs: 0 });
    await b.settled();
    expect(b.stats()).toMatchObject({ installed: 1, stale: 0, writes: { add: 0, replace: 0, del: 0 } });
  });

  it('retries a failed write with backoff until it succeeds', async () => {
    const r = await rig();
    const s = makeSync(r);
    await s.start({ reconcileAfterMs: 0 });
    // Through a device that is down: the kernel refuses the route (ENETDOWN).
    await r.other.linkSetUp('v1', false);
    s.setRoutes([{ prefix: '10.70.0.0/24', nextHops: [{ gateway: '10.0.1.2', ifindex: r.if1 }] }]);
    expect(await until(() => s.stats().writes.failed >= 2)).toBe(true);
    expect(s.stats().retrying).toBe(1);
    expect(await ours(r.nl)).toEqual([]);
    await r.other.linkSetUp('v1', true);
    expect(await until(async () => (await ours(r.nl)).length === 1)).toBe(true);
    await s.settled();
    expect(s.stats()).toMatchObject({ retrying: 0, pending: 0, installed: 1 });
  });

  it('leaves out a route whose next hop has no route to it, and installs it once the next hop is on-link', async () => {
    const r = await rig();
    const s = makeSync(r);
    await s.start({ reconcileAfterMs: 0 });
    s.setRoutes([{ prefix: '10.70.0.0/24', nextHops: [{ gateway: '10.0.9.2' }] }]);
    await s.settled();
    expect(s.unreachablePrefixes()).toEqual([{ prefix: '10.70.0.0/24', reason: 'next hop 10.0.9.2 is not reachable: no route to it' }]);
    expect(s.stats()).toMatchObject({ unreachable: 1, retrying: 0, installed: 0, writes: { failed: 0 } });
    expect(await ours(r.nl)).toEqual([]);
    // The connected route of a new address makes it on-link: installed via it, as learned.
    await r.other.addrAdd({ ifindex: r.if1, family: 4, address: '10.0.9.1', prefixLength: 24 });
    expect(await until(async () => (await ours(r.nl)).length === 1)).toBe(true);
    expect((await ours(r.nl))[0]).toMatchObject({ dst: '10.70.0.0/24', gateway: '10.0.9.2', ifindex: r.if1 });
    await s.settled();
    expect(s.stats()).toMatchObject({ unreachable: 0, retrying: 0, pending: 0, installed: 1 });
  });

  it('writes many changes in few batches (coalesced)', async () => {
    const r = await rig();
    const s = makeSync(r, { batchSize: 1000, coalesceMs: 5 });
    let batches = 0;
    const batch = r.nl.batch.bind(r.nl);
    r.nl.batch = async (ops) => {
      batches++;
      return batch(ops);
    };
    await s.start({ reconcileAfterMs: 0 });
    for (let i = 0; i < 3000; i++) s.setRoutes([{ prefix: `10.80.${i >> 8}.${i & 255}/32`, nextHops: [{ gateway: '10.0.0.2' }] }]);
    await s.settled();
    expect((await ours(r.nl)).length).toBe(3000);
    expect(batches).toBe(3);
  });
});

describe('KernelRouteSync: next hops that are not on-link (recursive resolution, fake kernel)', () => {
  /** Our route for dst as "gateway%ifindex" hops, sorted ('' when absent). */
  async function hopsOf(nl: NetlinkHandle, dst: string): Promise<string> {
    const r = (await ours(nl)).find((x) => x.dst === dst);
    if (!r) return '';
    const hops = r.multipath ?? [{ gateway: r.gateway, ifindex: r.ifindex }];
    return hops
      .map((h) => `${h.gateway}%${h.ifindex}`)
      .sort()
      .join(',');
  }

  it('installs via the gateway of the route to the next hop, and follows that route as it changes', async () => {
    const r = await rig();
    await r.other.routeAdd({ family: 4, dst: '0.0.0.0/0', gateway: '10.0.0.254', protocol: STATIC });
    const s = makeSync(r);
    await s.start({ reconcileAfterMs: 0 });
    s.setRoutes([
      { prefix: '10.90.0.0/24', nextHops: [{ gateway: '198.18.2.1' }] }, // another rack: not on-link
      { prefix: '10.91.0.0/24', nextHops: [{ gateway: '10.0.0.2' }] }, // on-link: as today
    ]);
    expect(await until(async () => (await hopsOf(r.nl, '10.90.0.0/24')) === `10.0.0.254%${r.if0}`)).toBe(true);
    await s.settled();
    expect(await hopsOf(r.nl, '10.91.0.0/24')).toBe(`10.0.0.2%${r.if0}`);
    expect(s.stats()).toMatchObject({ installed: 2, unreachable: 0, writes: { add: 2, replace: 0, failed: 0 } });

    // The default route moves to another router: only the resolved prefix is rewritten.
    await r.other.routeReplace({ family: 4, dst: '0.0.0.0/0', gateway: '10.0.1.254', protocol: STATIC });
    expect(await until(async () => (await hopsOf(r.nl, '10.90.0.0/24')) === `10.0.1.254%${r.if1}`)).toBe(true);
    await s.settled();
    expect(s.stats().writes).toMatchObject({ add: 2, replace: 1, failed: 0 });

    // A more specific route to the next hop wins over the default route.
    await r.other.routeAdd({ family: 4, dst: '198.18.2.0/24', gateway: '10.0.0.253', protocol: STATIC });
    expect(await until(async () => (await hopsOf(r.nl, '10.90.0.0/24')) === `10.0.0.253%${r.if0}`)).toBe(true);

    // ECMP underneath: every hop of it.
    await r.other.routeReplace({ family: 4, dst: '198.18.2.0/24', protocol: STATIC, multipath: [{ gateway: '10.0.0.253' }, { gateway: '10.0.1.253' }] });
    expect(await until(async () => (await hopsOf(r.nl, '10.90.0.0/24')) === `10.0.0.253%${r.if0},10.0.1.253%${r.if1}`)).toBe(true);

    // No route to the next hop any more: ours is withdrawn from the kernel and reported.
    await r.other.routeDel({ family: 4, dst: '198.18.2.0/24', protocol: STATIC });
    await r.other.routeDel({ family: 4, dst: '0.0.0.0/0', protocol: STATIC });
    expect(await until(async () => (await hopsOf(r.nl, '10.90.0.0/24')) === '')).toBe(true);
    await s.settled();
    expect(s.unreachablePrefixes()).toEqual([{ prefix: '10.90.0.0/24', reason: 'next hop 198.18.2.1 is not reachable: no route to it' }]);
    expect(await hopsOf(r.nl, '10.91.0.0/24')).toBe(`10.0.0.2%${r.if0}`);

    // And back when a route to it appears again.
    await r.other.routeAdd({ family: 4, dst: '0.0.0.0/0', gateway: '10.0.1.254', protocol: STATIC });
    expect(await until(async () => (await hopsOf(r.nl, '10.90.0.0/24')) === `10.0.1.254%${r.if1}`)).toBe(true);
    await s.settled();
    expect(s.stats()).toMatchObject({ unreachable: 0, retrying: 0, installed: 2 });
  });

  it('never resolves a next hop through a route of its own protocol', async () => {
    const r = await rig();
    // A route of ours left by a previous run (seen in the first listing) ...
    await r.other.routeAdd({ family: 4, dst: '198.18.0.0/16', gateway: '10.0.0.2', protocol: RTPROT_TWILL_BGP });
    const s = makeSync(r);
    await s.start({ reconcileAfterMs: 0 });
    s.setRoutes([
      { prefix: '198.18.0.0/16', nextHops: [{ gateway: '10.0.0.2' }] },
      { prefix: '10.90.0.0/24', nextHops: [{ gateway: '198.18.2.1' }] },
    ]);
    // ... and one installed now (seen as a route event).
    s.setRoutes([{ prefix: '198.19.0.0/16', nextHops: [{ gateway: '10.0.0.2' }] }]);
    expect(await until(() => s.stats().events >= 1)).toBe(true);
    s.setRoutes([{ prefix: '10.92.0.0/24', nextHops: [{ gateway: '198.19.2.1' }] }]);
    await s.settled();
    expect(await hopsOf(r.nl, '198.18.0.0/16')).toBe(`10.0.0.2%${r.if0}`);
    expect(await hopsOf(r.nl, '10.90.0.0/24')).toBe('');
    expect(await hopsOf(r.nl, '10.92.0.0/24')).toBe('');
    expect(s.stats()).toMatchObject({ unreachable: 2, installed: 2 });
  });

  it('a default route with an onlink gateway (not covered by a connected route): ours is onlink too', async () => {
    const r = await rig();
    await r.other.routeAdd({ family: 4, dst: '0.0.0.0/0', gateway: '169.254.1.1', ifindex: r.if0, onlink: true, protocol: STATIC });
    const s = makeSync(r);
    await s.start({ reconcileAfterMs: 0 });
    s.setRoutes([{ prefix: '10.90.0.0/24', nextHops: [{ gateway: '198.18.2.1' }] }]);
    expect(await until(async () => (await hopsOf(r.nl, '10.90.0.0/24')) === `169.254.1.1%${r.if0}`)).toBe(true);
    expect((await ours(r.nl))[0]?.onlink).toBe(true);
    await s.settled();
    expect(s.stats()).toMatchObject({ installed: 1, retrying: 0, writes: { failed: 0 } });
  });

  it('IPv6: resolves through the default route via a link-local router', async () => {
    const r = await rig();
    await r.other.routeAdd({ family: 6, dst: '::/0', gateway: 'fe80::1', ifindex: r.if1, protocol: STATIC });
    const s = makeSync(r);
    await s.start({ reconcileAfterMs: 0 });
    s.setRoutes([{ prefix: 'fd00:90::/64', nextHops: [{ gateway: 'fd00:2::1' }] }]);
    expect(await until(async () => (await hopsOf(r.nl, 'fd00:90::/64')) === `fe80::1%${r.if1}`)).toBe(true);
  });
});
