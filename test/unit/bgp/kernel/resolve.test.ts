// Underlay (bgp/kernel/resolve.ts): which route a next hop resolves through, from route events
// alone (pure; the kernel side is in sync.test.ts and test/interop/recursive-nexthop.test.ts).
import { describe, expect, it } from 'vitest';
import { Underlay } from '../../../../bgp/kernel/resolve.js';
import { RTPROT_TWILL_BGP, type Route } from '../../../../src/netlink/index.js';

const connected = (dst: string, ifindex: number): Route => ({ family: dst.includes(':') ? 6 : 4, dst, ifindex, protocol: 2, scope: 'link', table: 254 });
const via = (dst: string, gateway: string, ifindex: number, extra: Partial<Route> = {}): Route => ({ family: dst.includes(':') ? 6 : 4, dst, gateway, ifindex, protocol: 4, table: 254, ...extra });

describe('Underlay.resolve', () => {
  it('on-link when a route without gateway covers the next hop, even under a more specific gateway route', () => {
    const u = new Underlay(RTPROT_TWILL_BGP);
    u.load([connected('198.18.1.0/24', 2), via('198.18.1.9/32', '198.18.1.254', 2), via('0.0.0.0/0', '198.18.1.254', 2)]);
    expect(u.resolve('198.18.1.9')).toEqual({ kind: 'onlink' });
    expect(u.resolve('198.18.2.1')).toEqual({ kind: 'via', through: '0.0.0.0/0', hops: [{ gateway: '198.18.1.254', ifindex: 2 }] });
  });

  it('longest match, then the lowest metric; reject routes, other tables and our own routes resolve nothing', () => {
    const u = new Underlay(RTPROT_TWILL_BGP);
    u.load([
      via('0.0.0.0/0', '198.18.1.254', 2),
      via('198.18.0.0/16', '198.18.1.253', 2, { metric: 20 }),
      via('198.18.0.0/16', '198.18.1.252', 2, { metric: 10 }),
      via('198.18.2.0/24', '198.18.1.9', 2, { protocol: RTPROT_TWILL_BGP }),
      via('198.18.2.0/25', '198.18.1.8', 2, { table: 100 }),
    ]);
    expect(u.resolve('198.18.2.1')).toMatchObject({ through: '198.18.0.0/16', hops: [{ gateway: '198.18.1.252' }] });
    expect(u.apply('new', { family: 4, dst: '198.18.2.0/23', type: 'unreachable', protocol: 4, table: 254 })).toBe(true);
    expect(u.resolve('198.18.2.1')).toEqual({ kind: 'unreachable' });
    expect(u.resolve('not an address')).toEqual({ kind: 'unreachable' });
  });

  it('IPv6: one sibling of an ECMP route deleted leaves the others', () => {
    const u = new Underlay(RTPROT_TWILL_BGP);
    const ecmp: Route = { family: 6, dst: '::/0', protocol: 4, table: 254, metric: 1024, multipath: [{ gateway: 'fe80::1', ifindex: 2 }, { gateway: 'fe80::2', ifindex: 3 }] };
    u.load([ecmp]);
    expect(u.resolve('fd00:2::1')).toMatchObject({ hops: [{ gateway: 'fe80::1', ifindex: 2 }, { gateway: 'fe80::2', ifindex: 3 }] });
    expect(u.apply('del', { family: 6, dst: '::/0', protocol: 4, table: 254, metric: 1024, gateway: 'fe80::1', ifindex: 2 })).toBe(true);
    expect(u.resolve('fd00:2::1')).toMatchObject({ hops: [{ gateway: 'fe80::2', ifindex: 3 }] });
    expect(u.apply('del', { family: 6, dst: '::/0', protocol: 4, table: 254, metric: 1024 })).toBe(true);
    expect(u.resolve('fd00:2::1')).toEqual({ kind: 'unreachable' });
  });
});
