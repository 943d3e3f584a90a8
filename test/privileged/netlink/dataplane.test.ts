// Real traffic through interfaces, addresses, routes and sysctls programmed by this layer:
// a ping over /32 routes between two namespaces, and Calico's 169.254.1.1 gateway answered by
// proxy ARP. (`ip`/`ping` are only used to check the result.)
import { afterAll, describe, expect, it } from 'vitest';
import { openNetlink, RTPROT_TWILL, sysctlPath, type NetlinkHandle } from '../../../src/netlink/index.js';
import { missing, uniquePrefix } from '../../support/env.js';
import { NetnsPool, nsExec } from '../../support/netns.js';

const reason = missing({ root: true, tools: ['ip', 'ping'] });

/** ping -c1 -W1, a few tries (a loaded machine can lose the first ARP round). */
function ping(ns: string, addr: string, tries = 3): boolean {
  for (let i = 0; i < tries; i++) if (nsExec(ns, ['ping', '-n', '-c1', '-W1', addr]).code === 0) return true;
  return false;
}

describe.skipIf(reason)('netlink dataplane (real kernel)', () => {
  const prefix = uniquePrefix('dp');
  const pool = new NetnsPool(prefix);
  const handles: NetlinkHandle[] = [];
  const open = async (name: string): Promise<NetlinkHandle> => {
    const h = await openNetlink({ name });
    handles.push(h);
    return h;
  };
  afterAll(() => {
    for (const h of handles) h.close();
    pool.cleanup();
  });

  it('a veth pair between two namespaces with /32 addresses and routes carries a ping', async () => {
    const a = pool.create('a');
    const b = pool.create('b');
    const ha = await open(a);
    const hb = await open(b);
    await ha.vethAdd({ name: `${prefix}a`, peerName: 'eth0', peerNetns: { name: b } });
    const la = (await ha.linkGet(`${prefix}a`))!;
    const lb = (await hb.linkGet('eth0'))!;
    await ha.linkSetUp(la.index, true);
    await hb.linkSetUp(lb.index, true);
    await ha.addrAdd({ ifindex: la.index, family: 4, address: '10.99.0.1', prefixLength: 32 });
    await hb.addrAdd({ ifindex: lb.index, family: 4, address: '10.99.0.2', prefixLength: 32 });
    // Nothing routes yet: /32 addresses bring no connected route.
    expect(ping(a, '10.99.0.2', 1)).toBe(false);
    await ha.routeAdd({ family: 4, dst: '10.99.0.2/32', ifindex: la.index, protocol: RTPROT_TWILL });
    await hb.routeAdd({ family: 4, dst: '10.99.0.1/32', ifindex: lb.index, protocol: RTPROT_TWILL });
    expect(ping(a, '10.99.0.2')).toBe(true);
    expect(ping(b, '10.99.0.1')).toBe(true);
    // And IPv6 the same way.
    await ha.addrAdd({ ifindex: la.index, family: 6, address: 'fd99::1', prefixLength: 128, noDad: true });
    await hb.addrAdd({ ifindex: lb.index, family: 6, address: 'fd99::2', prefixLength: 128, noDad: true });
    await ha.routeAdd({ family: 6, dst: 'fd99::2/128', ifindex: la.index, protocol: RTPROT_TWILL });
    await hb.routeAdd({ family: 6, dst: 'fd99::1/128', ifindex: lb.index, protocol: RTPROT_TWILL });
    expect(ping(a, 'fd99::2')).toBe(true);
    // Taking the route away breaks it again.
    await ha.routeDel({ family: 4, dst: '10.99.0.2/32', protocol: RTPROT_TWILL });
    expect(ping(a, '10.99.0.2', 1)).toBe(false);
  });

  it('proxy ARP answers for 169.254.1.1, which exists nowhere, once the host routes it out another interface', async () => {
    const host = pool.create('h');
    const ctr = pool.create('c');
    const hh = await open(host);
    const hc = await open(ctr);
    const hostIf = `${prefix}w`;
    await hh.vethAdd({ name: hostIf, peerName: 'eth0', peerNetns: { name: ctr }, mac: 'ee:ee:ee:ee:ee:ee' });
    const hostLink = (await hh.linkGet(hostIf))!;
    const eth0 = (await hc.linkGet('eth0'))!;
    await hh.linkSetUp(hostIf, true);
    await hc.linkSetUp('eth0', true);
    await hh.linkSetUp('lo', true);
    await hc.linkSetUp('lo', true);

    // Host side, as Calico programs it.
    await hh.sysctlSet(sysctlPath.ipv4Conf(hostIf, 'proxy_arp'), '1');
    await hh.sysctlSet(sysctlPath.ipv4Neigh(hostIf, 'proxy_delay'), '0');
    await hh.sysctlSet(sysctlPath.ipv4Conf(hostIf, 'forwarding'), '1');
    expect(await hh.sysctlGet(sysctlPath.ipv4Conf(hostIf, 'proxy_arp'))).toBe('1');
    await hh.addrAdd({ ifindex: 1, family: 4, address: '10.98.255.1', prefixLength: 32 });
    await hh.routeAdd({ family: 4, dst: '10.98.0.5/32', ifindex: hostLink.index, protocol: RTPROT_TWILL });

    // Container side.
    await hc.addrAdd({ ifindex: eth0.index, family: 4, address: '10.98.0.5', prefixLength: 32 });
    await hc.routeAdd({ family: 4, dst: '169.254.1.1/32', ifindex: eth0.index, scope: 'link' });
    await hc.routeAdd({ family: 4, dst: '0.0.0.0/0', gateway: '169.254.1.1', ifindex: eth0.index });

    // No route covers 169.254.1.1 on the host: nobody answers (REFERENCE.md).
    expect(ping(ctr, '10.98.255.1', 1)).toBe(false);

    // A route out of another interface (an uplink veth) makes proxy ARP answer.
    await hh.vethAdd({ name: `${prefix}u`, peerName: `${prefix}v` });
    await hh.linkSetUp(`${prefix}u`, true);
    await hh.linkSetUp(`${prefix}v`, true);
    const up = (await hh.linkGet(`${prefix}u`))!;
    await hh.routeAdd({ family: 4, dst: '0.0.0.0/0', ifindex: up.index });
    await hc.neighDel({ ifindex: eth0.index, family: 4, address: '169.254.1.1' }).catch(() => undefined); // forget the failed attempt
    expect(ping(ctr, '10.98.255.1')).toBe(true);
    const gw = (await hc.neighList({ family: 4, ifindex: eth0.index })).find((n) => n.address === '169.254.1.1');
    expect(gw?.mac).toBe('ee:ee:ee:ee:ee:ee');
  });
});
