// The netlink contract: one suite that the in-memory fake (test/unit/netlink) and the real kernel
// in throwaway namespaces (test/privileged/netlink) must both pass. It pins down the kernel rules
// the rest of Twill relies on: what a request does, and which errno it fails with.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  NetlinkClosedError,
  NetlinkError,
  NetnsNotFoundError,
  RTPROT_TWILL,
  RTPROT_TWILL_BGP,
  type Link,
  type Monitor,
  type MonitorGroup,
  type NetlinkEvent,
  type NetlinkHandle,
  type NetlinkOp,
  type NetnsRef,
  type Route,
} from '../../src/netlink/index.js';

export interface NetlinkWorld {
  /** A fresh namespace (only lo, down). Tags are unique within one run. */
  newNetns(tag: string): Promise<NetnsRef>;
  open(ref: NetnsRef): Promise<NetlinkHandle>;
  monitor(ref: NetnsRef, groups: MonitorGroup[], onEvent: (e: NetlinkEvent) => void): Promise<Monitor>;
  /** A reference to a namespace that does not exist. */
  missingNetns(): NetnsRef;
  /** The same namespace as ref, named by path instead. */
  byPath(ref: NetnsRef): NetnsRef;
  cleanup(): Promise<void>;
}

/** Awaits p and checks it failed with a NetlinkError of this errno whose request mentions `mentions`. */
async function expectErrno(p: Promise<unknown>, errnoName: string, mentions?: string): Promise<NetlinkError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${errnoName}`).toBeInstanceOf(NetlinkError);
  const ne = err as NetlinkError;
  expect(ne.errnoName).toBe(errnoName);
  expect(ne.code).toBe('NetlinkError');
  if (mentions !== undefined) {
    expect(ne.request).toContain(mentions);
    expect(ne.message).toContain(mentions);
  }
  return ne;
}

async function waitFor<T>(what: string, fn: () => T | undefined): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const byDst = (routes: Route[]): Route[] => [...routes].sort((a, b) => (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0));

export function netlinkContract(name: string, makeWorld: () => NetlinkWorld): void {
  describe(`netlink contract: ${name}`, () => {
    const world = makeWorld();
    const handles: NetlinkHandle[] = [];
    let n = 0;

    async function fresh(): Promise<{ ref: NetnsRef; h: NetlinkHandle }> {
      const ref = await world.newNetns(`t${n++}`);
      const h = await world.open(ref);
      handles.push(h);
      return { ref, h };
    }

    /** A namespace with veth v0 (up, peer v1 up too unless peerUp=false). */
    async function withVeth(peerUp = true): Promise<{ ref: NetnsRef; h: NetlinkHandle; v0: Link; v1: Link }> {
      const { ref, h } = await fresh();
      await h.vethAdd({ name: 'v0', peerName: 'v1' });
      await h.linkSetUp('v0', true);
      if (peerUp) await h.linkSetUp('v1', true);
      const v0 = (await h.linkGet('v0'))!;
      const v1 = (await h.linkGet('v1'))!;
      return { ref, h, v0, v1 };
    }

    afterEach(() => {
      for (const h of handles.splice(0)) h.close();
    });
    afterAll(async () => {
      await world.cleanup();
    });

    describe('namespaces and handles', () => {
      it('a fresh namespace has only a loopback device, down', async () => {
        const { h } = await fresh();
        const links = await h.linkList();
        expect(links.map((l) => l.name)).toEqual(['lo']);
        expect(links[0]).toMatchObject({ index: 1, name: 'lo', up: false, mtu: 65536 });
        expect(await h.linkGet('lo')).toMatchObject({ index: 1 });
        expect(await h.linkGet(1)).toMatchObject({ name: 'lo' });
        expect(await h.linkGet('nosuch0')).toBeUndefined();
        expect(await h.linkGet(4242)).toBeUndefined();
        expect(await h.linkGet(0)).toBeUndefined();
        await expectErrno(h.linkSetUp(0, true), 'ENODEV', '#0');
        await expectErrno(h.linkGet('name/with/slash'), 'EINVAL', 'name/with/slash');
      });

      it('opening an unknown namespace fails with NetnsNotFoundError naming it', async () => {
        const missing = world.missingNetns();
        const err = await world.open(missing).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(NetnsNotFoundError);
        expect((err as NetnsNotFoundError).code).toBe('NetnsNotFound');
        expect((err as Error).message).toContain('name' in missing ? missing.name : 'path' in missing ? missing.path : '');
      });

      it('a handle opened by path sees the same namespace as one opened by name', async () => {
        const { ref, h } = await fresh();
        await h.vethAdd({ name: 'pa0', peerName: 'pa1' });
        const h2 = await world.open(world.byPath(ref));
        handles.push(h2);
        expect((await h2.linkList()).map((l) => l.name).sort()).toEqual(['lo', 'pa0', 'pa1']);
      });

      it('namespaces are isolated from each other', async () => {
        const a = await fresh();
        const b = await fresh();
        await a.h.vethAdd({ name: 'iso0', peerName: 'iso1' });
        expect(await b.h.linkGet('iso0')).toBeUndefined();
        await b.h.vethAdd({ name: 'iso0', peerName: 'iso1' }); // same names, other namespace: fine
        await a.h.sysctlSet('net/ipv4/conf/iso0/proxy_arp', '1');
        expect(await a.h.sysctlGet('net/ipv4/conf/iso0/proxy_arp')).toBe('1');
        expect(await b.h.sysctlGet('net/ipv4/conf/iso0/proxy_arp')).toBe('0');
      });

      it('a closed handle refuses work with NetlinkClosedError', async () => {
        const ref = await world.newNetns(`t${n++}`);
        const h = await world.open(ref);
        h.close();
        await expect(h.linkList()).rejects.toBeInstanceOf(NetlinkClosedError);
      });
    });

    describe('links', () => {
      it('creates a veth pair in one namespace with MTU and MACs', async () => {
        const { h } = await fresh();
        await h.vethAdd({ name: 'va0', peerName: 'va1', mtu: 1400, mac: '02:00:00:00:aa:00', peerMac: '02:00:00:00:aa:01' });
        const a = (await h.linkGet('va0'))!;
        const b = (await h.linkGet('va1'))!;
        expect(a).toMatchObject({ name: 'va0', kind: 'veth', mtu: 1400, mac: '02:00:00:00:aa:00', up: false, peerIndex: b.index });
        expect(b).toMatchObject({ name: 'va1', kind: 'veth', mtu: 1400, mac: '02:00:00:00:aa:01', up: false, peerIndex: a.index });
        expect(a.netnsId).toBeUndefined();
        expect((await h.linkList()).map((l) => l.name).sort()).toEqual(['lo', 'va0', 'va1']);
      });

      it('creates the peer straight inside another namespace, named there', async () => {
        const host = await fresh();
        const ctr = await fresh();
        await host.h.vethAdd({ name: 'twabc', peerName: 'eth0', peerNetns: ctr.ref, peerMac: '02:00:00:00:bb:01' });
        const hostEnd = (await host.h.linkGet('twabc'))!;
        const ctrEnd = (await ctr.h.linkGet('eth0'))!;
        expect(ctrEnd).toMatchObject({ kind: 'veth', mac: '02:00:00:00:bb:01' });
        expect(await host.h.linkGet('eth0')).toBeUndefined();
        expect((await ctr.h.linkList()).map((l) => l.name).sort()).toEqual(['eth0', 'lo']);
        expect(hostEnd.netnsId).toBeTypeOf('number');
        expect(ctrEnd.netnsId).toBeTypeOf('number');
        // Deleting one end takes the other one with it, across namespaces.
        await ctr.h.linkDel('eth0');
        expect(await host.h.linkGet('twabc')).toBeUndefined();
      });

      it('refuses duplicate names (EEXIST) and an unknown peer namespace, creating nothing', async () => {
        const { h } = await fresh();
        await h.vethAdd({ name: 'dup0', peerName: 'dup1' });
        await expectErrno(h.vethAdd({ name: 'dup0', peerName: 'other1' }), 'EEXIST', 'dup0');
        await expectErrno(h.vethAdd({ name: 'other0', peerName: 'dup1' }), 'EEXIST', 'other0');
        await expect(h.vethAdd({ name: 'nn0', peerName: 'eth0', peerNetns: world.missingNetns() })).rejects.toBeInstanceOf(NetnsNotFoundError);
        expect((await h.linkList()).map((l) => l.name).sort()).toEqual(['dup0', 'dup1', 'lo']);
      });

      it('rejects malformed interface names with EINVAL before touching the kernel', async () => {
        const { h } = await fresh();
        await expectErrno(h.vethAdd({ name: 'a-name-that-is-too-long', peerName: 'x1' }), 'EINVAL', 'a-name-that-is-too-long');
        await expectErrno(h.vethAdd({ name: 'bad/name', peerName: 'x1' }), 'EINVAL', 'bad/name');
      });

      it('sets links up and down; a veth is operationally up only when its peer is', async () => {
        const { h } = await fresh();
        await h.vethAdd({ name: 'op0', peerName: 'op1' });
        expect(await h.linkGet('op0')).toMatchObject({ up: false, operState: 'down' });
        await h.linkSetUp('op0', true);
        expect(await h.linkGet('op0')).toMatchObject({ up: true, operState: 'lowerlayerdown' });
        const op1 = (await h.linkGet('op1'))!;
        await h.linkSetUp(op1.index, true); // by index
        const deadline = Date.now() + 5000;
        let l = (await h.linkGet('op0'))!;
        while (l.operState !== 'up' && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
          l = (await h.linkGet('op0'))!;
        }
        expect(l.operState).toBe('up');
        await h.linkSetUp('op0', false);
        expect(await h.linkGet('op0')).toMatchObject({ up: false, operState: 'down' });
      });

      it('sets MTU and MAC within the device limits', async () => {
        const { h } = await fresh();
        await h.vethAdd({ name: 'mm0', peerName: 'mm1' });
        await h.linkSetMtu('mm0', 9000);
        await h.linkSetMac('mm0', '02:12:34:56:78:9a');
        expect(await h.linkGet('mm0')).toMatchObject({ mtu: 9000, mac: '02:12:34:56:78:9a' });
        await expectErrno(h.linkSetMtu('mm0', 60), 'EINVAL', 'mm0');
        await expectErrno(h.linkSetMtu('mm0', 70000), 'EINVAL', 'mm0');
        await expectErrno(h.linkSetMac('mm0', '01:00:5e:00:00:01'), 'EADDRNOTAVAIL', 'mm0');
        await expectErrno(h.linkSetMac('mm0', 'not-a-mac'), 'EINVAL', 'not-a-mac');
        expect(await h.linkGet('mm0')).toMatchObject({ mtu: 9000, mac: '02:12:34:56:78:9a' });
      });

      it('renames a link (its sysctls follow) and refuses a taken name', async () => {
        const { h } = await fresh();
        await h.vethAdd({ name: 'rn0', peerName: 'rn1' });
        const idx = (await h.linkGet('rn0'))!.index;
        await h.sysctlSet('net/ipv4/conf/rn0/proxy_arp', '1');
        await h.linkRename('rn0', 'renamed0');
        expect(await h.linkGet('rn0')).toBeUndefined();
        expect(await h.linkGet('renamed0')).toMatchObject({ index: idx });
        expect(await h.sysctlGet('net/ipv4/conf/renamed0/proxy_arp')).toBe('1');
        await expectErrno(h.linkRename('renamed0', 'rn1'), 'EEXIST', 'renamed0');
        await expectErrno(h.linkRename('gone0', 'x0'), 'ENODEV', 'gone0');
      });

      it('deletes links; missing ones fail with ENODEV naming them; lo cannot be deleted', async () => {
        const { h } = await fresh();
        await h.vethAdd({ name: 'dl0', peerName: 'dl1' });
        await h.linkDel('dl0');
        expect((await h.linkList()).map((l) => l.name)).toEqual(['lo']);
        await expectErrno(h.linkDel('dl0'), 'ENODEV', 'dl0');
        await expectErrno(h.linkDel(4242), 'ENODEV', '4242');
        await expectErrno(h.linkSetUp('dl0', true), 'ENODEV', 'dl0');
        await expectErrno(h.linkDel('lo'), 'EOPNOTSUPP', 'lo');
      });
    });

    describe('addresses', () => {
      it('adds, lists and deletes IPv4 and IPv6 addresses', async () => {
        const { h, v0, v1 } = await withVeth();
        await h.addrAdd({ ifindex: v0.index, family: 4, address: '10.20.0.1', prefixLength: 24 });
        await h.addrAdd({ ifindex: v0.index, family: 6, address: '2001:db8:20::1', prefixLength: 64, noDad: true });
        await h.addrAdd({ ifindex: v1.index, family: 4, address: '10.21.0.1', prefixLength: 32 });
        const v4 = await h.addrList({ family: 4 });
        expect(v4.map((a) => `${a.address}/${a.prefixLength}@${a.ifindex}`).sort()).toEqual([`10.20.0.1/24@${v0.index}`, `10.21.0.1/32@${v1.index}`]);
        expect(v4.find((a) => a.address === '10.20.0.1')).toMatchObject({ family: 4, scope: 0 });
        const v6 = (await h.addrList({ family: 6, ifindex: v0.index })).filter((a) => !a.address.startsWith('fe80:'));
        expect(v6).toEqual([{ ifindex: v0.index, family: 6, address: '2001:db8:20::1', prefixLength: 64, scope: 0, noDad: true }]);
        expect((await h.addrList({ ifindex: v1.index })).filter((a) => a.family === 4)).toHaveLength(1);
        await h.addrDel({ ifindex: v0.index, family: 4, address: '10.20.0.1', prefixLength: 24 });
        await h.addrDel({ ifindex: v0.index, family: 6, address: '2001:db8:20::1', prefixLength: 64 });
        expect((await h.addrList({ ifindex: v0.index })).filter((a) => !a.address.startsWith('fe80:'))).toEqual([]);
      });

      it('an IPv4 address on an up link brings its connected route', async () => {
        const { h, v0 } = await withVeth();
        await h.addrAdd({ ifindex: v0.index, family: 4, address: '10.22.0.1', prefixLength: 24 });
        const routes = await h.routeList({ family: 4, ifindex: v0.index });
        expect(routes).toContainEqual({
          family: 4,
          dst: '10.22.0.0/24',
          table: 254,
          protocol: 2,
          scope: 'link',
          type: 'unicast',
          src: '10.22.0.1',
          ifindex: v0.index,
        });
        await h.addrDel({ ifindex: v0.index, family: 4, address: '10.22.0.1', prefixLength: 24 });
        expect(await h.routeList({ family: 4, ifindex: v0.index })).toEqual([]);
      });

      it('fails duplicate adds (EEXIST), deletes of absent addresses (EADDRNOTAVAIL), missing devices (ENODEV), bad input (EINVAL)', async () => {
        const { h, v0 } = await withVeth();
        const a = { ifindex: v0.index, family: 4 as const, address: '10.23.0.1', prefixLength: 24 };
        await h.addrAdd(a);
        await expectErrno(h.addrAdd(a), 'EEXIST', '10.23.0.1/24');
        await expectErrno(h.addrDel({ ...a, address: '10.23.0.2' }), 'EADDRNOTAVAIL', '10.23.0.2/24');
        await expectErrno(h.addrDel({ ...a, prefixLength: 16 }), 'EADDRNOTAVAIL', '10.23.0.1/16');
        await expectErrno(h.addrAdd({ ...a, ifindex: 4242 }), 'ENODEV', '4242');
        await expectErrno(h.addrAdd({ ...a, address: '10.23.0.300' }), 'EINVAL', '10.23.0.300');
        await expectErrno(h.addrAdd({ ...a, prefixLength: 33 }), 'EINVAL', '10.23.0.1/33');
        await expectErrno(h.addrAdd({ ...a, family: 6 }), 'EINVAL', '10.23.0.1');
        const six = { ifindex: v0.index, family: 6 as const, address: '2001:db8:23::1', prefixLength: 64, noDad: true };
        await h.addrAdd(six);
        await expectErrno(h.addrAdd({ ...six, prefixLength: 128 }), 'EEXIST', '2001:db8:23::1');
      });
    });

    describe('routes', () => {
      it('adds a /32 device route with our protocol and lists exactly it', async () => {
        const { h, v0 } = await withVeth();
        await h.routeAdd({ family: 4, dst: '10.30.0.5/32', ifindex: v0.index, protocol: RTPROT_TWILL });
        expect(await h.routeList({ protocol: RTPROT_TWILL })).toEqual([
          { family: 4, dst: '10.30.0.5/32', table: 254, protocol: RTPROT_TWILL, scope: 'link', type: 'unicast', ifindex: v0.index },
        ]);
      });

      it('adds IPv6 routes with the kernel default metric', async () => {
        const { h, v0 } = await withVeth();
        await h.routeAdd({ family: 6, dst: '2001:db8:30::5/128', ifindex: v0.index, protocol: RTPROT_TWILL });
        await h.routeAdd({ family: 6, dst: '2001:db8:31::/64', ifindex: v0.index, protocol: RTPROT_TWILL, metric: 50 });
        expect(byDst(await h.routeList({ family: 6, protocol: RTPROT_TWILL }))).toEqual([
          { family: 6, dst: '2001:db8:30::5/128', table: 254, protocol: RTPROT_TWILL, scope: 'universe', type: 'unicast', metric: 1024, ifindex: v0.index },
          { family: 6, dst: '2001:db8:31::/64', table: 254, protocol: RTPROT_TWILL, scope: 'universe', type: 'unicast', metric: 50, ifindex: v0.index },
        ]);
      });

      it('fails a duplicate add with EEXIST; replace overwrites or creates', async () => {
        const { h, v0, v1 } = await withVeth();
        const r: Route = { family: 4, dst: '10.31.0.0/24', ifindex: v0.index, protocol: RTPROT_TWILL };
        await h.routeAdd(r);
        await expectErrno(h.routeAdd(r), 'EEXIST', '10.31.0.0/24');
        await expectErrno(h.routeAdd({ ...r, ifindex: v1.index }), 'EEXIST', '10.31.0.0/24');
        await h.routeReplace({ ...r, ifindex: v1.index });
        await h.routeReplace({ family: 4, dst: '10.32.0.0/24', type: 'blackhole', protocol: RTPROT_TWILL });
        expect(byDst(await h.routeList({ protocol: RTPROT_TWILL })).map((x) => [x.dst, x.type, x.ifindex])).toEqual([
          ['10.31.0.0/24', 'unicast', v1.index],
          ['10.32.0.0/24', 'blackhole', undefined],
        ]);
        // Same prefix, different metric: a second route, not a duplicate.
        await h.routeAdd({ ...r, metric: 100 });
        expect((await h.routeList({ protocol: RTPROT_TWILL })).filter((x) => x.dst === '10.31.0.0/24').map((x) => x.metric ?? 0).sort()).toEqual([0, 100]);
      });

      it('deletes routes; a delete that matches nothing fails with ESRCH', async () => {
        const { h, v0 } = await withVeth();
        await h.routeAdd({ family: 4, dst: '10.33.0.0/24', ifindex: v0.index, protocol: RTPROT_TWILL });
        await h.routeAdd({ family: 6, dst: '2001:db8:33::/64', ifindex: v0.index, protocol: RTPROT_TWILL });
        // Another owner's protocol does not match: the BGP speaker can't delete the agent's routes.
        await expectErrno(h.routeDel({ family: 4, dst: '10.33.0.0/24', protocol: RTPROT_TWILL_BGP }), 'ESRCH', '10.33.0.0/24');
        await expectErrno(h.routeDel({ family: 6, dst: '2001:db8:33::/64', protocol: RTPROT_TWILL_BGP }), 'ESRCH', '2001:db8:33::/64');
        await h.routeDel({ family: 4, dst: '10.33.0.0/24', protocol: RTPROT_TWILL });
        await h.routeDel({ family: 6, dst: '2001:db8:33::/64', ifindex: v0.index });
        expect(await h.routeList({ protocol: RTPROT_TWILL })).toEqual([]);
        await expectErrno(h.routeDel({ family: 4, dst: '10.33.0.0/24' }), 'ESRCH', '10.33.0.0/24');
        await expectErrno(h.routeDel({ family: 4, dst: '10.33.0.0/24', table: 77 }), 'ESRCH', '10.33.0.0/24');
      });

      it('fails routes through a missing device (ENODEV) or a down one (ENETDOWN)', async () => {
        const { h, v0 } = await withVeth();
        await expectErrno(h.routeAdd({ family: 4, dst: '10.34.0.0/24', ifindex: 4242 }), 'ENODEV', '10.34.0.0/24');
        await expectErrno(h.routeAdd({ family: 6, dst: '2001:db8:34::/64', ifindex: 4242 }), 'ENODEV', '2001:db8:34::/64');
        await h.linkSetUp(v0.index, false);
        await expectErrno(h.routeAdd({ family: 4, dst: '10.34.0.0/24', ifindex: v0.index }), 'ENETDOWN', '10.34.0.0/24');
        await expectErrno(h.routeAdd({ family: 6, dst: '2001:db8:34::/64', ifindex: v0.index }), 'ENETDOWN', '2001:db8:34::/64');
      });

      it('rejects malformed routes with EINVAL naming the route', async () => {
        const { h, v0 } = await withVeth();
        await expectErrno(h.routeAdd({ family: 4, dst: '10.35.0.1/24', ifindex: v0.index }), 'EINVAL', '10.35.0.1/24');
        await expectErrno(h.routeAdd({ family: 4, dst: '10.35.0.0/33', ifindex: v0.index }), 'EINVAL', '10.35.0.0/33');
        await expectErrno(h.routeAdd({ family: 4, dst: 'banana', ifindex: v0.index }), 'EINVAL', 'banana');
        await expectErrno(h.routeAdd({ family: 6, dst: '10.35.0.0/24', ifindex: v0.index }), 'EINVAL', '10.35.0.0/24');
        await expectErrno(h.routeAdd({ family: 4, dst: '10.35.0.0/24', gateway: '2001:db8::1' }), 'EINVAL', '10.35.0.0/24');
        await expectErrno(h.routeAdd({ family: 4, dst: '10.35.0.0/24', type: 'blackhole', ifindex: v0.index }), 'EINVAL', '10.35.0.0/24');
        await expectErrno(h.routeAdd({ family: 4, dst: '10.35.0.0/24', ifindex: v0.index, onlink: true }), 'EINVAL', '10.35.0.0/24');
        await expectErrno(h.routeAdd({ family: 4, dst: '10.35.0.0/24', ifindex: v0.index, src: '10.99.99.99' }), 'EINVAL', '10.35.0.0/24');
        expect(await h.routeList({ family: 4, ifindex: v0.index })).toEqual([]);
      });

      it('blackhole and unreachable routes, IPv4 and IPv6', async () => {
        const { h } = await fresh();
        await h.routeAdd({ family: 4, dst: '10.36.0.0/26', type: 'blackhole', protocol: RTPROT_TWILL });
        await h.routeAdd({ family: 4, dst: '10.36.1.0/26', type: 'unreachable', protocol: RTPROT_TWILL });
        await h.routeAdd({ family: 6, dst: '2001:db8:36::/122', type: 'blackhole', protocol: RTPROT_TWILL });
        await h.routeAdd({ family: 6, dst: '2001:db8:37::/122', type: 'unreachable', protocol: RTPROT_TWILL });
        const v4 = byDst(await h.routeList({ family: 4, protocol: RTPROT_TWILL }));
        expect(v4).toEqual([
          { family: 4, dst: '10.36.0.0/26', table: 254, protocol: RTPROT_TWILL, scope: 'universe', type: 'blackhole' },
          { family: 4, dst: '10.36.1.0/26', table: 254, protocol: RTPROT_TWILL, scope: 'universe', type: 'unreachable' },
        ]);
        const v6 = byDst(await h.routeList({ family: 6, protocol: RTPROT_TWILL }));
        expect(v6.map((r) => [r.dst, r.type, r.metric])).toEqual([
          ['2001:db8:36::/122', 'blackhole', 1024],
          ['2001:db8:37::/122', 'unreachable', 1024],
        ]);
        expect(await h.routeList({ type: 'blackhole' })).toHaveLength(2);
        await h.routeDel({ family: 4, dst: '10.36.0.0/26', type: 'blackhole' });
        await h.routeDel({ family: 6, dst: '2001:db8:36::/122' });
        expect(await h.routeList({ type: 'blackhole' })).toEqual([]);
        // IPv6 points reject routes at lo, whatever device or gateway was asked for.
        await h.vethAdd({ name: 'rj0', peerName: 'rj1' });
        await h.linkSetUp('rj0', true);
        const rj0 = (await h.linkGet('rj0'))!;
        await h.routeAdd({ family: 6, dst: '2001:db8:38::/64', type: 'blackhole', ifindex: rj0.index, protocol: RTPROT_TWILL_BGP });
        expect(await h.routeList({ family: 6, protocol: RTPROT_TWILL_BGP })).toEqual([
          { family: 6, dst: '2001:db8:38::/64', table: 254, protocol: RTPROT_TWILL_BGP, scope: 'universe', type: 'blackhole', metric: 1024, ifindex: 1 },
        ]);
      });

      it('the 169.254.1.1 gateway: a link-scope route makes it reachable, default via it then works', async () => {
        const { h, v0 } = await withVeth();
        await h.addrAdd({ ifindex: v0.index, family: 4, address: '10.37.0.9', prefixLength: 32 });
        // Without a route covering it the gateway is unreachable.
        await expectErrno(h.routeAdd({ family: 4, dst: '0.0.0.0/0', gateway: '169.254.1.1' }), 'ENETUNREACH', '0.0.0.0/0');
        await h.routeAdd({ family: 4, dst: '169.254.1.1/32', ifindex: v0.index, scope: 'link' });
        await h.routeAdd({ family: 4, dst: '0.0.0.0/0', gateway: '169.254.1.1', ifindex: v0.index });
        const def = (await h.routeList({ family: 4 })).find((r) => r.dst === '0.0.0.0/0');
        expect(def).toEqual({ family: 4, dst: '0.0.0.0/0', table: 254, protocol: 3, scope: 'universe', type: 'unicast', gateway: '169.254.1.1', ifindex: v0.index });
        // A gateway only reachable through a universe-scope route is not on-link.
        await h.routeAdd({ family: 4, dst: '10.38.0.0/24', gateway: '169.254.1.1' });
        await expectErrno(h.routeAdd({ family: 4, dst: '10.39.0.0/24', gateway: '10.38.0.1' }), 'ENETUNREACH', '10.39.0.0/24');
      });

      it('onlink next hops need no route to the gateway, but a device that is up', async () => {
        const { h, v0 } = await withVeth();
        // (With no address at all the kernel has no local table and refuses every onlink gateway.)
        await h.addrAdd({ ifindex: v0.index, family: 4, address: '10.40.9.1', prefixLength: 32 });
        await h.routeAdd({ family: 4, dst: '10.40.0.0/24', gateway: '192.0.2.1', ifindex: v0.index, onlink: true, protocol: RTPROT_TWILL_BGP });
        expect(await h.routeList({ protocol: RTPROT_TWILL_BGP })).toEqual([
          { family: 4, dst: '10.40.0.0/24', table: 254, protocol: RTPROT_TWILL_BGP, scope: 'universe', type: 'unicast', gateway: '192.0.2.1', ifindex: v0.index, onlink: true },
        ]);
        await expectErrno(h.routeAdd({ family: 4, dst: '10.41.0.0/24', gateway: '192.0.2.1', onlink: true }), 'ENODEV', '10.41.0.0/24');
        await h.routeAdd({ family: 6, dst: '2001:db8:40::/64', gateway: '2001:db8:ffff::1', ifindex: v0.index, onlink: true, protocol: RTPROT_TWILL_BGP });
        expect((await h.routeList({ family: 6, protocol: RTPROT_TWILL_BGP }))[0]).toMatchObject({ gateway: '2001:db8:ffff::1', onlink: true, ifindex: v0.index });
      });

      it('IPv6 gateways: link-local needs a device, global ones need a route, local ones are refused', async () => {
        const { h, v0 } = await withVeth();
        await h.addrAdd({ ifindex: v0.index, family: 6, address: '2001:db8:42::1', prefixLength: 64, noDad: true });
        await expectErrno(h.routeAdd({ family: 6, dst: '2001:db8:43::/64', gateway: 'fe80::1' }), 'EINVAL', '2001:db8:43::/64');
        await h.routeAdd({ family: 6, dst: '2001:db8:43::/64', gateway: 'fe80::1', ifindex: v0.index, protocol: RTPROT_TWILL_BGP });
        await h.routeAdd({ family: 6, dst: '2001:db8:44::/64', gateway: '2001:db8:42::2', protocol: RTPROT_TWILL_BGP });
        await expectErrno(h.routeAdd({ family: 6, dst: '2001:db8:45::/64', gateway: '2001:db9::2' }), 'EHOSTUNREACH', '2001:db8:45::/64');
        await expectErrno(h.routeAdd({ family: 6, dst: '2001:db8:45::/64', gateway: '2001:db8:42::1' }), 'EINVAL', '2001:db8:45::/64');
        expect(byDst(await h.routeList({ family: 6, protocol: RTPROT_TWILL_BGP })).map((r) => [r.dst, r.gateway, r.ifindex])).toEqual([
          ['2001:db8:43::/64', 'fe80::1', v0.index],
          ['2001:db8:44::/64', '2001:db8:42::2', v0.index],
        ]);
      });

      it('ECMP multipath routes, IPv4 and IPv6, with weights', async () => {
        const { h, v0, v1 } = await withVeth();
        await h.addrAdd({ ifindex: v0.index, family: 4, address: '10.46.0.1', prefixLength: 24 });
        await h.addrAdd({ ifindex: v1.index, family: 4, address: '10.47.0.1', prefixLength: 24 });
        await h.routeAdd({
          family: 4,
          dst: '10.48.0.0/24',
          protocol: RTPROT_TWILL_BGP,
          multipath: [
            { gateway: '10.46.0.2', ifindex: v0.index },
            { gateway: '10.47.0.2', ifindex: v1.index, weight: 3 },
          ],
        });
        await h.routeAdd({
          family: 6,
          dst: '2001:db8:48::/64',
          protocol: RTPROT_TWILL_BGP,
          multipath: [
            { gateway: 'fe80::1', ifindex: v0.index },
            { gateway: 'fe80::2', ifindex: v1.index },
          ],
        });
        const routes = byDst(await h.routeList({ protocol: RTPROT_TWILL_BGP }));
        expect(routes).toEqual([
          {
            family: 4,
            dst: '10.48.0.0/24',
            table: 254,
            protocol: RTPROT_TWILL_BGP,
            scope: 'universe',
            type: 'unicast',
            multipath: [
              { gateway: '10.46.0.2', ifindex: v0.index, weight: 1 },
              { gateway: '10.47.0.2', ifindex: v1.index, weight: 3 },
            ],
          },
          {
            family: 6,
            dst: '2001:db8:48::/64',
            table: 254,
            protocol: RTPROT_TWILL_BGP,
            scope: 'universe',
            type: 'unicast',
            metric: 1024,
            multipath: [
              { gateway: 'fe80::1', ifindex: v0.index, weight: 1 },
              { gateway: 'fe80::2', ifindex: v1.index, weight: 1 },
            ],
          },
        ]);
        // Filtering by output interface finds a route through any of its next hops.
        expect((await h.routeList({ ifindex: v1.index, protocol: RTPROT_TWILL_BGP })).map((r) => r.dst).sort()).toEqual(['10.48.0.0/24', '2001:db8:48::/64']);
        // A next hop through a missing device fails the whole route.
        await expectErrno(
          h.routeAdd({ family: 6, dst: '2001:db8:49::/64', multipath: [{ gateway: 'fe80::1', ifindex: v0.index }, { gateway: 'fe80::2', ifindex: 4242 }] }),
          'ENODEV',
          '2001:db8:49::/64',
        );
        await h.routeDel({ family: 4, dst: '10.48.0.0/24', protocol: RTPROT_TWILL_BGP });
        await h.routeDel({ family: 6, dst: '2001:db8:48::/64', protocol: RTPROT_TWILL_BGP });
        expect(await h.routeList({ protocol: RTPROT_TWILL_BGP })).toEqual([]);
      });

      it('filters by table, protocol, scope, type and interface', async () => {
        const { h, v0, v1 } = await withVeth();
        await h.routeAdd({ family: 4, dst: '10.50.0.1/32', ifindex: v0.index, protocol: RTPROT_TWILL });
        await h.routeAdd({ family: 4, dst: '10.50.0.2/32', ifindex: v1.index, protocol: RTPROT_TWILL });
        await h.routeAdd({ family: 4, dst: '10.50.0.3/32', ifindex: v1.index, protocol: RTPROT_TWILL, scope: 'universe' });
        await h.routeAdd({ family: 4, dst: '10.50.1.0/26', type: 'blackhole', protocol: RTPROT_TWILL });
        await h.routeAdd({ family: 4, dst: '10.50.2.0/24', ifindex: v0.index, protocol: RTPROT_TWILL_BGP });
        await h.routeAdd({ family: 4, dst: '10.50.3.0/24', ifindex: v0.index, protocol: RTPROT_TWILL, table: 100 });
        const dsts = async (f: Parameters<NetlinkHandle['routeList']>[0]): Promise<string[]> => (await h.routeList(f)).map((r) => r.dst).sort();
        expect(await dsts({ protocol: RTPROT_TWILL })).toEqual(['10.50.0.1/32', '10.50.0.2/32', '10.50.0.3/32', '10.50.1.0/26']);
        expect(await dsts({ protocol: RTPROT_TWILL, table: 100 })).toEqual(['10.50.3.0/24']);
        expect(await dsts({ protocol: RTPROT_TWILL, table: 'all' })).toEqual(['10.50.0.1/32', '10.50.0.2/32', '10.50.0.3/32', '10.50.1.0/26', '10.50.3.0/24']);
        expect(await dsts({ table: 101 })).toEqual([]);
        expect(await dsts({ protocol: RTPROT_TWILL, scope: 'link' })).toEqual(['10.50.0.1/32', '10.50.0.2/32']);
        expect(await dsts({ protocol: RTPROT_TWILL, type: 'blackhole' })).toEqual(['10.50.1.0/26']);
        expect(await dsts({ protocol: RTPROT_TWILL, ifindex: v1.index })).toEqual(['10.50.0.2/32', '10.50.0.3/32']);
        expect(await dsts({ family: 6, protocol: RTPROT_TWILL })).toEqual([]);
        await h.routeDel({ family: 4, dst: '10.50.3.0/24', table: 100 });
        expect(await dsts({ table: 100 })).toEqual([]);
      });

      it('routes through a link go when it goes down or away', async () => {
        const { h, v0, v1 } = await withVeth();
        await h.routeAdd({ family: 4, dst: '10.51.0.1/32', ifindex: v0.index, protocol: RTPROT_TWILL });
        await h.routeAdd({ family: 6, dst: '2001:db8:51::1/128', ifindex: v0.index, protocol: RTPROT_TWILL });
        await h.routeAdd({ family: 4, dst: '10.51.0.2/32', ifindex: v1.index, protocol: RTPROT_TWILL });
        await h.routeAdd({ family: 4, dst: '10.51.1.0/24', type: 'blackhole', protocol: RTPROT_TWILL });
        await h.linkSetUp(v0.index, false);
        expect((await h.routeList({ protocol: RTPROT_TWILL, table: 'all' })).map((r) => r.dst).sort()).toEqual(['10.51.0.2/32', '10.51.1.0/24']);
        await h.linkDel(v1.index);
        expect((await h.routeList({ protocol: RTPROT_TWILL, table: 'all' })).map((r) => r.dst)).toEqual(['10.51.1.0/24']);
      });
    });

    describe('what the kernel does by itself', () => {
      it('bringing lo up gives it 127.0.0.1/8 and ::1 with their local routes', async () => {
        const { h } = await fresh();
        await h.linkSetUp('lo', true);
        expect((await h.addrList()).map((a) => `${a.address}/${a.prefixLength} scope ${a.scope}`).sort()).toEqual(['127.0.0.1/8 scope 254', '::1/128 scope 254']);
        const local = (await h.routeList({ table: 255 })).map((r) => `${r.type} ${r.dst}`).sort();
        expect(local).toEqual(['broadcast 127.255.255.255/32', 'local 127.0.0.0/8', 'local 127.0.0.1/32', 'local ::1/128']);
        expect(await h.linkGet('lo')).toMatchObject({ up: true, operState: 'unknown' });
      });

      it('keeps one connected route per subnet; deleting the primary address takes the secondaries', async () => {
        const { h } = await fresh();
        await h.vethAdd({ name: 'a0', peerName: 'a1' });
        await h.linkSetUp('a0', true);
        const ifindex = (await h.linkGet('a0'))!.index;
        for (const address of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) await h.addrAdd({ ifindex, family: 4, address, prefixLength: 24 });
        await h.addrAdd({ ifindex, family: 4, address: '10.1.0.1', prefixLength: 24 });
        expect((await h.routeList({ family: 4 })).map((r) => `${r.dst} src ${r.src}`).sort()).toEqual(['10.0.0.0/24 src 10.0.0.1', '10.1.0.0/24 src 10.1.0.1']);
        await h.addrDel({ ifindex, family: 4, address: '10.0.0.2', prefixLength: 24 });
        expect((await h.routeList({ family: 4 })).map((r) => r.dst).sort()).toEqual(['10.0.0.0/24', '10.1.0.0/24']);
        await h.addrDel({ ifindex, family: 4, address: '10.0.0.1', prefixLength: 24 });
        expect((await h.addrList({ family: 4 })).map((a) => a.address)).toEqual(['10.1.0.1']);
        expect((await h.routeList({ family: 4 })).map((r) => r.dst)).toEqual(['10.1.0.0/24']);
      });

      it('a link going down drops its IPv6 addresses, its neighbours and its routes; up brings connected IPv4 routes back', async () => {
        const { h } = await fresh();
        await h.vethAdd({ name: 'a0', peerName: 'a1' });
        await h.linkSetUp('a0', true);
        const ifindex = (await h.linkGet('a0'))!.index;
        await h.addrAdd({ ifindex, family: 4, address: '10.0.0.1', prefixLength: 24 });
        await h.addrAdd({ ifindex, family: 6, address: '2001:db8::1', prefixLength: 64, noDad: true });
        await h.neighAdd({ ifindex, family: 4, address: '10.0.0.9', mac: '02:00:00:00:00:09' });
        await h.routeAdd({ family: 4, dst: '10.1.0.0/24', gateway: '10.0.0.2', protocol: RTPROT_TWILL });
        await h.linkSetUp('a0', false);
        expect((await h.addrList({ ifindex })).map((a) => a.address)).toEqual(['10.0.0.1']);
        expect((await h.neighList({ ifindex })).filter((n) => n.state === 'permanent')).toEqual([]);
        expect(await h.routeList({ table: 'all', family: 4 })).toEqual([
          { family: 4, dst: '10.0.0.1/32', table: 255, protocol: 2, scope: 'host', type: 'local', src: '10.0.0.1', ifindex },
        ]);
        await h.linkSetUp('a0', true);
        expect((await h.routeList({ family: 4 })).map((r) => r.dst)).toEqual(['10.0.0.0/24']);
      });
    });

    describe('neighbours', () => {
      it('adds permanent entries, lists, replaces and deletes them', async () => {
        const { h, v0 } = await withVeth();
        await h.neighAdd({ ifindex: v0.index, family: 4, address: '169.254.1.1', mac: 'ee:ee:ee:ee:ee:ee' });
        await h.neighAdd({ ifindex: v0.index, family: 6, address: '2001:db8:60::1', mac: '02:00:00:00:60:01' });
        const mine = async (): Promise<unknown[]> =>
          (await h.neighList({ ifindex: v0.index })).filter((x) => x.state === 'permanent').sort((a, b) => a.family - b.family);
        expect(await mine()).toEqual([
          { ifindex: v0.index, family: 4, address: '169.254.1.1', mac: 'ee:ee:ee:ee:ee:ee', state: 'permanent' },
          { ifindex: v0.index, family: 6, address: '2001:db8:60::1', mac: '02:00:00:00:60:01', state: 'permanent' },
        ]);
        await expectErrno(h.neighAdd({ ifindex: v0.index, family: 4, address: '169.254.1.1', mac: 'ee:ee:ee:ee:ee:01' }), 'EEXIST', '169.254.1.1');
        await h.neighReplace({ ifindex: v0.index, family: 4, address: '169.254.1.1', mac: 'ee:ee:ee:ee:ee:01' });
        expect((await h.neighList({ family: 4, ifindex: v0.index }))[0]).toMatchObject({ mac: 'ee:ee:ee:ee:ee:01', state: 'permanent' });
        await h.neighDel({ ifindex: v0.index, family: 4, address: '169.254.1.1' });
        await h.neighDel({ ifindex: v0.index, family: 6, address: '2001:db8:60::1' });
        expect(await mine()).toEqual([]);
        await expectErrno(h.neighDel({ ifindex: v0.index, family: 4, address: '169.254.1.1' }), 'ENOENT', '169.254.1.1');
        await expectErrno(h.neighAdd({ ifindex: 4242, family: 4, address: '10.60.0.1', mac: 'ee:ee:ee:ee:ee:ee' }), 'ENODEV', '10.60.0.1');
        await expectErrno(h.neighAdd({ ifindex: v0.index, family: 4, address: '10.60.0.1' }), 'EINVAL', '10.60.0.1');
      });
    });

    describe('sysctls', () => {
      it('reads and writes the per-interface settings Twill uses', async () => {
        const { h } = await withVeth();
        const paths = [
          'net/ipv4/conf/v0/proxy_arp',
          'net/ipv4/neigh/v0/proxy_delay',
          'net/ipv4/conf/v0/forwarding',
          'net/ipv4/conf/v0/route_localnet',
          'net/ipv4/conf/v0/rp_filter',
          'net/ipv6/conf/v0/proxy_ndp',
          'net/ipv6/conf/v0/accept_ra',
          'net/ipv6/conf/v0/disable_ipv6',
        ];
        for (const p of paths) expect(await h.sysctlGet(p)).toMatch(/^-?[0-9]+$/);
        const want: Record<string, string> = {
          'net/ipv4/conf/v0/proxy_arp': '1',
          'net/ipv4/neigh/v0/proxy_delay': '0',
          'net/ipv4/conf/v0/forwarding': '1',
          'net/ipv4/conf/v0/route_localnet': '1',
          'net/ipv4/conf/v0/rp_filter': '2',
          'net/ipv6/conf/v0/proxy_ndp': '1',
          'net/ipv6/conf/v0/accept_ra': '0',
          'net/ipv6/conf/v0/disable_ipv6': '1',
        };
        for (const [p, v] of Object.entries(want)) await h.sysctlSet(p, v);
        for (const [p, v] of Object.entries(want)) expect(await h.sysctlGet(p)).toBe(v);
        expect(await h.sysctlGet('net/ipv4/conf/v1/proxy_arp')).toBe('0');
      });

      it('global IPv4 forwarding reaches every interface', async () => {
        const { h } = await withVeth();
        await h.sysctlSet('net/ipv4/conf/all/forwarding', '1');
        expect(await h.sysctlGet('net/ipv4/ip_forward')).toBe('1');
        expect(await h.sysctlGet('net/ipv4/conf/v1/forwarding')).toBe('1');
      });

      it('unknown sysctls fail with ENOENT, bad values with EINVAL, paths outside net/ with EINVAL', async () => {
        const { h } = await withVeth();
        await expectErrno(h.sysctlGet('net/ipv4/conf/nosuch0/proxy_arp'), 'ENOENT', 'nosuch0');
        await expectErrno(h.sysctlSet('net/ipv4/conf/nosuch0/proxy_arp', '1'), 'ENOENT', 'nosuch0');
        await expectErrno(h.sysctlSet('net/ipv4/conf/v0/proxy_arp', 'yes'), 'EINVAL', 'proxy_arp');
        await expectErrno(h.sysctlGet('kernel/hostname'), 'EINVAL', 'kernel/hostname');
        await expectErrno(h.sysctlGet('net/ipv4/../../kernel/hostname'), 'EINVAL', 'kernel/hostname');
        expect(await h.sysctlGet('net/ipv4/conf/v0/proxy_arp')).toBe('0');
      });
    });

    describe('batches', () => {
      it('reports each bad request with its errno and request, and loses nothing else', async () => {
        const { h, v0 } = await withVeth();
        const ops: NetlinkOp[] = [
          { op: 'routeAdd', route: { family: 4, dst: '10.70.0.1/32', ifindex: v0.index, protocol: RTPROT_TWILL } },
          { op: 'routeAdd', route: { family: 4, dst: '10.70.0.2/32', ifindex: 4242, protocol: RTPROT_TWILL } },
          { op: 'routeAdd', route: { family: 4, dst: '10.70.0.3/32', ifindex: v0.index, protocol: RTPROT_TWILL } },
          { op: 'routeAdd', route: { family: 4, dst: '10.70.0.1/32', ifindex: v0.index, protocol: RTPROT_TWILL } },
          { op: 'routeAdd', route: { family: 4, dst: '10.70.0.4/30', ifindex: v0.index, protocol: RTPROT_TWILL } },
          { op: 'addrAdd', addr: { ifindex: v0.index, family: 4, address: '10.70.1.1', prefixLength: 32 } },
          { op: 'routeDel', route: { family: 4, dst: '10.70.9.0/24', protocol: RTPROT_TWILL } },
          { op: 'neighAdd', neigh: { ifindex: v0.index, family: 4, address: '10.70.1.2', mac: '02:00:00:00:70:02' } },
          { op: 'routeAdd', route: { family: 4, dst: '10.70.0.5/32', ifindex: v0.index, protocol: RTPROT_TWILL } },
        ];
        const res = await h.batch(ops);
        expect(res.map((r) => (r.ok ? 'ok' : r.error.errnoName))).toEqual(['ok', 'ENODEV', 'ok', 'EEXIST', 'ok', 'ok', 'ESRCH', 'ok', 'ok']);
        const failed = res.flatMap((r, i) => (r.ok ? [] : [[i, r.error.request]]));
        expect(failed).toEqual([
          [1, expect.stringContaining('10.70.0.2/32')],
          [3, expect.stringContaining('10.70.0.1/32')],
          [6, expect.stringContaining('10.70.9.0/24')],
        ]);
        expect((await h.routeList({ protocol: RTPROT_TWILL })).map((r) => r.dst).sort()).toEqual(['10.70.0.1/32', '10.70.0.3/32', '10.70.0.4/30', '10.70.0.5/32']);
        expect((await h.addrList({ family: 4, ifindex: v0.index })).map((a) => a.address)).toEqual(['10.70.1.1']);
        expect((await h.neighList({ family: 4, ifindex: v0.index })).map((x) => x.address)).toEqual(['10.70.1.2']);
      });

      it('an invalid request in a batch is refused alone (EINVAL) without stopping the rest', async () => {
        const { h, v0 } = await withVeth();
        const res = await h.batch([
          { op: 'routeAdd', route: { family: 4, dst: '10.71.0.1/24', ifindex: v0.index } },
          { op: 'routeAdd', route: { family: 4, dst: '10.71.0.2/32', ifindex: v0.index, protocol: RTPROT_TWILL } },
          { op: 'routeAdd', route: { family: 4, dst: 'nonsense', ifindex: v0.index } },
          { op: 'routeAdd', route: { family: 4, dst: '10.71.0.3/32', ifindex: v0.index, protocol: RTPROT_TWILL } },
        ]);
        expect(res.map((r) => (r.ok ? 'ok' : r.error.errnoName))).toEqual(['EINVAL', 'ok', 'EINVAL', 'ok']);
        const odd = await h.batch([{ op: 'routeFrobnicate' } as unknown as NetlinkOp, { op: 'routeDel', route: { family: 4, dst: '10.71.0.3/32' } }]);
        expect(odd.map((r) => (r.ok ? 'ok' : r.error.errnoName))).toEqual(['EINVAL', 'ok']);
        expect((await h.routeList({ protocol: RTPROT_TWILL })).map((r) => r.dst).sort()).toEqual(['10.71.0.2/32']);
      });

      it('installs and removes thousands of routes in one batch', async () => {
        const { h, v0 } = await withVeth();
        const routes: Route[] = [];
        for (let i = 0; i < 3000; i++) routes.push({ family: 4, dst: `10.72.${i >> 8}.${i & 255}/32`, ifindex: v0.index, protocol: RTPROT_TWILL });
        for (let i = 0; i < 500; i++) routes.push({ family: 6, dst: `2001:db8:72::${(i + 1).toString(16)}/128`, ifindex: v0.index, protocol: RTPROT_TWILL });
        const added = await h.batch(routes.map((route) => ({ op: 'routeAdd' as const, route })));
        expect(added.every((r) => r.ok)).toBe(true);
        const listed = await h.routeList({ protocol: RTPROT_TWILL });
        expect(listed).toHaveLength(3500);
        expect(listed.map((r) => r.dst).sort()).toEqual(routes.map((r) => r.dst).sort());
        const again = await h.batch(routes.slice(0, 10).map((route) => ({ op: 'routeAdd' as const, route })));
        expect(again.map((r) => (r.ok ? 'ok' : r.error.errnoName))).toEqual(new Array(10).fill('EEXIST'));
        const removed = await h.batch(routes.map((route) => ({ op: 'routeDel' as const, route })));
        expect(removed.every((r) => r.ok)).toBe(true);
        expect(await h.routeList({ protocol: RTPROT_TWILL })).toEqual([]);
      });
    });

    describe('monitor', () => {
      it('delivers link, address and route events', async () => {
        const { ref, h } = await fresh();
        const events: NetlinkEvent[] = [];
        const m = await world.monitor(ref, ['link', 'addr', 'route'], (e) => events.push(e));
        try {
          await h.vethAdd({ name: 'mo0', peerName: 'mo1' });
          await h.linkSetUp('mo0', true);
          const mo0 = (await h.linkGet('mo0'))!;
          await h.addrAdd({ ifindex: mo0.index, family: 4, address: '10.80.0.1', prefixLength: 32 });
          await h.routeAdd({ family: 4, dst: '10.80.1.0/24', ifindex: mo0.index, protocol: RTPROT_TWILL });
          await h.routeDel({ family: 4, dst: '10.80.1.0/24', protocol: RTPROT_TWILL });
          await h.linkDel('mo0');
          const has = (pred: (e: NetlinkEvent) => boolean): true | undefined => (events.some(pred) ? true : undefined);
          await waitFor('link new', () => has((e) => e.kind === 'link' && e.action === 'new' && e.link.name === 'mo0' && e.link.up));
          await waitFor('addr new', () => has((e) => e.kind === 'addr' && e.action === 'new' && e.addr.address === '10.80.0.1'));
          await waitFor('route new', () => has((e) => e.kind === 'route' && e.action === 'new' && e.route.dst === '10.80.1.0/24' && e.route.protocol === RTPROT_TWILL));
          await waitFor('route del', () => has((e) => e.kind === 'route' && e.action === 'del' && e.route.dst === '10.80.1.0/24'));
          await waitFor('link del', () => has((e) => e.kind === 'link' && e.action === 'del' && e.link.name === 'mo0'));
          // In order: the route was announced before it was withdrawn.
          const iNew = events.findIndex((e) => e.kind === 'route' && e.action === 'new' && e.route.dst === '10.80.1.0/24');
          const iDel = events.findIndex((e) => e.kind === 'route' && e.action === 'del' && e.route.dst === '10.80.1.0/24');
          expect(iNew).toBeLessThan(iDel);
        } finally {
          m.close();
        }
      });

      it('only delivers the groups asked for, and nothing after close', async () => {
        const { ref, h } = await fresh();
        const events: NetlinkEvent[] = [];
        const m = await world.monitor(ref, ['route'], (e) => events.push(e));
        await h.vethAdd({ name: 'mg0', peerName: 'mg1' });
        await h.routeAdd({ family: 4, dst: '10.81.0.0/24', type: 'blackhole', protocol: RTPROT_TWILL });
        await waitFor('route event', () => (events.some((e) => e.kind === 'route') ? true : undefined));
        expect(events.every((e) => e.kind === 'route')).toBe(true);
        m.close();
        const seen = events.length;
        await h.routeAdd({ family: 4, dst: '10.82.0.0/24', type: 'blackhole', protocol: RTPROT_TWILL });
        await new Promise((r) => setTimeout(r, 50));
        expect(events.length).toBe(seen);
      });
    });
  });
}
