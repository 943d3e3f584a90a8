// Wire codec and request validation, without a kernel: addresses, route/link/address/neighbour
// messages, defaults and the EINVAL errors for malformed requests.
import { Address6 } from 'ip-address';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as C from '../../../src/netlink/constants.js';
import { decodeAddr, encodeAddr } from '../../../src/netlink/addr-codec.js';
import { describeOp } from '../../../src/netlink/describe.js';
import { NetlinkError, NetnsNotFoundError } from '../../../src/netlink/errors.js';
import { canonicalPrefix, formatIPv4, formatIPv6, formatMac, parseIP, parseIPv4, parseIPv6, parseMac } from '../../../src/netlink/ip.js';
import { decodeLink, encodeVethAdd } from '../../../src/netlink/link-codec.js';
import { decodeNeigh, encodeNeigh } from '../../../src/netlink/neigh-codec.js';
import { encodeOp } from '../../../src/netlink/op-codec.js';
import { decodeRoute, encodeRoute } from '../../../src/netlink/route-codec.js';
import { addrSpec, neighSpec, routeSpec } from '../../../src/netlink/spec.js';
import { sysctlFile, sysctlPath } from '../../../src/netlink/sysctl.js';
import type { NetlinkOp, Route } from '../../../src/netlink/types.js';
import { forEachAttr, forEachMessage, Writer, type RawMessage } from '../../../src/netlink/wire.js';

const describeNothing = (): string => 'test request';

/** The first message in w, as the decoder sees a received one. */
function firstMessage(w: Writer): { buf: Buffer; m: RawMessage } {
  const buf = Buffer.from(w.buf.subarray(0, w.len));
  let got: RawMessage | undefined;
  forEachMessage(buf, buf.length, (m) => {
    got ??= { ...m };
  });
  return { buf, m: got! };
}

function roundTrip(r: Route, mode: 'add' | 'del' = 'add'): Route {
  const w = new Writer(64);
  encodeRoute(w, C.RTM_NEWROUTE, C.NLM_F_REQUEST, 1, routeSpec(r, mode, describeNothing));
  const { buf, m } = firstMessage(w);
  return decodeRoute(buf, m)!;
}

describe('addresses', () => {
  it('formats IPv6 like the kernel tools (RFC 5952) and parses its own output back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 7 }), (raw, zeros) => {
        const b = Uint8Array.from(raw);
        b.fill(0, zeros * 2, zeros * 2 + 6); // make zero runs common
        const text = formatIPv6(b);
        expect(parseIPv6(text)).toEqual(b);
        const mapped = b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
        if (!mapped) {
          const big = BigInt('0x' + Buffer.from(b).toString('hex'));
          expect(text).toBe(Address6.fromBigInt(big).correctForm());
        }
      }),
    );
  });

  it('formats IPv4-mapped IPv6 addresses with a dotted quad', () => {
    expect(formatIPv6(parseIPv6('::ffff:10.1.2.3')!)).toBe('::ffff:10.1.2.3');
  });

  it('round-trips IPv4', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (b) => {
        expect(parseIPv4(formatIPv4(b))).toEqual(Uint8Array.from(b));
      }),
    );
  });

  it('refuses malformed addresses', () => {
    for (const bad of ['1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', '', ' 1.2.3.4']) expect(parseIPv4(bad), bad).toBeUndefined();
    for (const bad of ['::1::', 'g::1', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', ':::', '12345::', 'fe80::1%eth0', '1::2:3:4:5:6:7:8']) {
      expect(parseIPv6(bad), bad).toBeUndefined();
    }
    expect(parseIP('10.0.0.1')).toMatchObject({ family: 4 });
    expect(parseIP('::')).toMatchObject({ family: 6 });
    expect(canonicalPrefix('2001:DB8:0:0::/64')).toBe('2001:db8::/64');
  });

  it('parses and formats MACs', () => {
    expect(formatMac(parseMac('EE:ee:0:1:2:3')!)).toBe('ee:ee:00:01:02:03');
    expect(parseMac('ee:ee:ee:ee:ee')).toBeUndefined();
    expect(parseMac('ee:ee:ee:ee:ee:gg')).toBeUndefined();
  });
});

describe('route messages', () => {
  it('encode then decode gives the route back, with kernel-style defaults', () => {
    expect(roundTrip({ family: 4, dst: '10.1.2.3/32', ifindex: 7, protocol: 84 })).toEqual({
      family: 4,
      dst: '10.1.2.3/32',
      table: 254,
      protocol: 84,
      scope: 'link',
      type: 'unicast',
      ifindex: 7,
    });
    expect(roundTrip({ family: 4, dst: '0.0.0.0/0', gateway: '169.254.1.1', ifindex: 2, metric: 10 })).toEqual({
      family: 4,
      dst: '0.0.0.0/0',
      table: 254,
      protocol: 3,
      scope: 'universe',
      type: 'unicast',
      gateway: '169.254.1.1',
      ifindex: 2,
      metric: 10,
    });
    expect(roundTrip({ family: 4, dst: '10.9.0.0/26', type: 'blackhole', table: 1000, protocol: 85 })).toEqual({
      family: 4,
      dst: '10.9.0.0/26',
      table: 1000,
      protocol: 85,
      scope: 'universe',
      type: 'blackhole',
    });
    expect(roundTrip({ family: 4, dst: '10.9.9.9/32', type: 'local', ifindex: 1, table: 255 })).toMatchObject({ scope: 'host', type: 'local' });
    expect(roundTrip({ family: 4, dst: '10.8.0.0/16', gateway: '192.0.2.1', ifindex: 3, onlink: true, src: '10.0.0.1' })).toMatchObject({
      onlink: true,
      src: '10.0.0.1',
    });
  });

  it('carries ECMP next hops with weights and per-hop onlink', () => {
    const r = roundTrip({
      family: 6,
      dst: '2001:db8::/32',
      multipath: [
        { gateway: 'fe80::1', ifindex: 3 },
        { gateway: 'fe80::2', ifindex: 4, weight: 256, onlink: true },
      ],
    });
    expect(r).toEqual({
      family: 6,
      dst: '2001:db8::/32',
      table: 254,
      protocol: 3,
      scope: 'universe',
      type: 'unicast',
      multipath: [
        { gateway: 'fe80::1', ifindex: 3, weight: 1 },
        { gateway: 'fe80::2', ifindex: 4, weight: 256, onlink: true },
      ],
    });
  });

  it('puts tables above 255 in RTA_TABLE with RT_TABLE_COMPAT in the header', () => {
    const w = new Writer(64);
    encodeRoute(w, C.RTM_NEWROUTE, C.NLM_F_REQUEST, 1, routeSpec({ family: 4, dst: '10.0.0.0/8', type: 'blackhole', table: 70000 }, 'add', describeNothing));
    const { buf, m } = firstMessage(w);
    expect(buf[m.off + 4]).toBe(252);
    let table = 0;
    forEachAttr(buf, m.off + C.RTMSG_LEN, m.off + m.len, (t, vo) => {
      if (t === C.RTA_TABLE) table = buf.readUInt32LE(vo);
    });
    expect(table).toBe(70000);
  });

  it('leaves delete fields open to match anything the caller did not name', () => {
    const s = routeSpec({ family: 4, dst: '10.0.0.0/24' }, 'del', describeNothing);
    expect(s).toMatchObject({ protocol: 0, type: 0, scope: C.RT_SCOPE_NOWHERE, table: 254 });
    const a = routeSpec({ family: 4, dst: '10.0.0.0/24', ifindex: 3 }, 'add', describeNothing);
    expect(a).toMatchObject({ protocol: C.RTPROT_BOOT, type: C.RTN_UNICAST, scope: C.RT_SCOPE_LINK, table: 254 });
  });

  it('skips cached (cloned) routes in dumps', () => {
    const w = new Writer(64);
    encodeRoute(w, C.RTM_NEWROUTE, 0, 1, routeSpec({ family: 6, dst: '2001:db8::1/128', ifindex: 2 }, 'add', describeNothing));
    const { buf, m } = firstMessage(w);
    buf.writeUInt32LE(C.RTM_F_CLONED, m.off + 8);
    expect(decodeRoute(buf, m)).toBeUndefined();
  });
});

describe('request validation', () => {
  const invalid = (op: NetlinkOp): NetlinkError => {
    const w = new Writer(64);
    let err: unknown;
    try {
      encodeOp(w, op, 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NetlinkError);
    expect(w.len).toBe(0);
    return err as NetlinkError;
  };

  it('refuses malformed routes with EINVAL, naming the route and the problem', () => {
    const e1 = invalid({ op: 'routeAdd', route: { family: 4, dst: '10.0.0.1/24', ifindex: 2 } });
    expect(e1.errnoName).toBe('EINVAL');
    expect(e1.request).toBe('route add 10.0.0.1/24 dev #2');
    expect(e1.message).toContain('host bits');
    expect(invalid({ op: 'routeAdd', route: { family: 4, dst: '10.0.0.0/33' } }).message).toContain('prefix length');
    expect(invalid({ op: 'routeAdd', route: { family: 4, dst: '10.0.0.0/2x' } }).message).toContain('prefix length');
    expect(invalid({ op: 'routeAdd', route: { family: 4, dst: '10.0.0.0/' } }).message).toContain('prefix length');
    expect(invalid({ op: 'routeAdd', route: { family: 6, dst: '2001:db8::1/64' } }).message).toContain('host bits');
    expect(invalid({ op: 'routeAdd', route: { family: 4, dst: '10.0.0.0/8', gateway: 'fe80::1' } }).message).toContain('gateway');
    expect(invalid({ op: 'routeAdd', route: { family: 4, dst: '10.0.0.0/8', ifindex: 0.5 } }).message).toContain('interface index');
    expect(invalid({ op: 'routeAdd', route: { family: 4, dst: '10.0.0.0/8', multipath: [] } }).message).toContain('multipath');
    expect(
      invalid({ op: 'routeAdd', route: { family: 4, dst: '10.0.0.0/8', ifindex: 2, multipath: [{ ifindex: 3 }] } }).message,
    ).toContain('either multipath');
    expect(invalid({ op: 'routeAdd', route: { family: 4, dst: '10.0.0.0/8', multipath: [{ ifindex: 3, weight: 0 }] } }).message).toContain('weight');
    expect(invalid({ op: 'routeAdd', route: { family: 4, dst: '10.0.0.0/8', protocol: 300 } }).message).toContain('protocol');
    expect(invalid({ op: 'routeAdd', route: { family: 5 as 4, dst: '10.0.0.0/8' } }).message).toContain('family');
    expect(invalid({ op: 'routeAdd', route: { family: 4, dst: '10.0.0.0/8', type: 'weird' as 'unicast' } }).message).toContain('route type');
  });

  it('refuses malformed addresses and neighbours', () => {
    expect(invalid({ op: 'addrAdd', addr: { family: 4, ifindex: 2, address: '10.0.0.1', prefixLength: 40 } }).request).toBe('address add 10.0.0.1/40 dev #2');
    expect(invalid({ op: 'addrAdd', addr: { family: 6, ifindex: 2, address: '10.0.0.1', prefixLength: 64 } }).errnoName).toBe('EINVAL');
    expect(invalid({ op: 'neighAdd', neigh: { family: 4, ifindex: 2, address: '10.0.0.1' } }).message).toContain('MAC');
    expect(invalid({ op: 'neighAdd', neigh: { family: 4, ifindex: 2, address: '10.0.0.1', mac: 'zz' } }).message).toContain('zz');
    expect(invalid({ op: 'neighAdd', neigh: { family: 4, ifindex: 0, address: '10.0.0.1', mac: 'ee:ee:ee:ee:ee:ee' } }).message).toContain('interface');
  });

  it('describes requests for error messages', () => {
    expect(describeOp({ op: 'routeReplace', route: { family: 4, dst: '10.0.0.0/24', gateway: '10.1.0.1', ifindex: 3, table: 100, protocol: 85, metric: 5 } })).toBe(
      'route replace 10.0.0.0/24 via 10.1.0.1 dev #3 table 100 proto 85 metric 5',
    );
    expect(describeOp({ op: 'routeDel', route: { family: 4, dst: '10.0.0.0/24', type: 'blackhole' } })).toBe('route del blackhole 10.0.0.0/24');
    expect(describeOp({ op: 'neighDel', neigh: { family: 4, ifindex: 3, address: '169.254.1.1' } })).toBe('neighbour del 169.254.1.1 dev #3');
  });
});

describe('address, neighbour and link messages', () => {
  it('round-trips addresses', () => {
    const w = new Writer(64);
    encodeAddr(w, C.RTM_NEWADDR, 0, 1, addrSpec({ family: 6, ifindex: 4, address: '2001:db8::1', prefixLength: 64, noDad: true }, describeNothing));
    const { buf, m } = firstMessage(w);
    expect(decodeAddr(buf, m)).toEqual({ ifindex: 4, family: 6, address: '2001:db8::1', prefixLength: 64, scope: 0, noDad: true });
  });

  it('round-trips neighbours', () => {
    const w = new Writer(64);
    encodeNeigh(w, C.RTM_NEWNEIGH, 0, 1, neighSpec({ family: 4, ifindex: 4, address: '169.254.1.1', mac: 'ee:ee:ee:ee:ee:ee' }, 'add', describeNothing));
    const { buf, m } = firstMessage(w);
    expect(decodeNeigh(buf, m)).toEqual({ ifindex: 4, family: 4, address: '169.254.1.1', mac: 'ee:ee:ee:ee:ee:ee', state: 'permanent' });
  });

  it('nests the veth peer (name, namespace fd, MAC) inside IFLA_LINKINFO / IFLA_INFO_DATA / VETH_INFO_PEER', () => {
    const w = new Writer(64);
    encodeVethAdd(w, 1, { name: 'tw1', peerName: 'eth0', peerNsFd: 42, mtu: 1450, peerMac: parseMac('02:00:00:00:00:01')! });
    const { buf, m } = firstMessage(w);
    expect(m.type).toBe(C.RTM_NEWLINK);
    expect(m.flags & (C.NLM_F_CREATE | C.NLM_F_EXCL)).toBe(C.NLM_F_CREATE | C.NLM_F_EXCL);
    const top: Record<number, [number, number]> = {};
    forEachAttr(buf, m.off + C.IFINFOMSG_LEN, m.off + m.len, (t, vo, vl) => (top[t] = [vo, vl]));
    expect(buf.toString('utf8', top[C.IFLA_IFNAME]![0], top[C.IFLA_IFNAME]![0] + 3)).toBe('tw1');
    const [lo, ll] = top[C.IFLA_LINKINFO]!;
    const info: Record<number, [number, number]> = {};
    forEachAttr(buf, lo, lo + ll, (t, vo, vl) => (info[t] = [vo, vl]));
    expect(buf.toString('utf8', info[C.IFLA_INFO_KIND]![0], info[C.IFLA_INFO_KIND]![0] + 4)).toBe('veth');
    const [dOff, dLen] = info[C.IFLA_INFO_DATA]!;
    let peer: [number, number] | undefined;
    forEachAttr(buf, dOff, dOff + dLen, (t, vo, vl) => {
      if (t === C.VETH_INFO_PEER) peer = [vo, vl];
    });
    const peerAttrs: Record<number, [number, number]> = {};
    forEachAttr(buf, peer![0] + C.IFINFOMSG_LEN, peer![0] + peer![1], (t, vo, vl) => (peerAttrs[t] = [vo, vl]));
    expect(buf.toString('utf8', peerAttrs[C.IFLA_IFNAME]![0], peerAttrs[C.IFLA_IFNAME]![0] + 4)).toBe('eth0');
    expect(buf.readUInt32LE(peerAttrs[C.IFLA_NET_NS_FD]![0])).toBe(42);
    expect(buf.readUInt32LE(peerAttrs[C.IFLA_MTU]![0])).toBe(1450);
    expect(formatMac(buf, peerAttrs[C.IFLA_ADDRESS]![0])).toBe('02:00:00:00:00:01');
  });

  it('decodes a link message', () => {
    const w = new Writer(128);
    const s = w.begin(C.RTM_NEWLINK, 0, 0);
    w.u8(0);
    w.u8(0);
    w.u16(1);
    w.i32(5);
    w.u32(C.IFF_UP);
    w.u32(0);
    w.attrString(C.IFLA_IFNAME, 'tw5');
    w.attrU32(C.IFLA_MTU, 1500);
    w.attrBytes(C.IFLA_ADDRESS, parseMac('ee:ee:ee:ee:ee:ee')!);
    w.attrBytes(C.IFLA_OPERSTATE, Uint8Array.of(6));
    w.attrU32(C.IFLA_LINK, 2);
    w.attrI32(C.IFLA_LINK_NETNSID, 0);
    const li = w.beginNested(C.IFLA_LINKINFO);
    w.attrString(C.IFLA_INFO_KIND, 'veth');
    w.endNested(li);
    w.end(s);
    const { buf, m } = firstMessage(w);
    expect(decodeLink(buf, m)).toEqual({ index: 5, name: 'tw5', mtu: 1500, mac: 'ee:ee:ee:ee:ee:ee', up: true, operState: 'up', peerIndex: 2, netnsId: 0, kind: 'veth' });
  });
});

describe('errors and sysctl paths', () => {
  it('NetlinkError names errno, request and a hint', () => {
    const e = new NetlinkError(17, 'route add 10.0.0.0/24 dev #3', 'detail here');
    expect(e).toMatchObject({ code: 'NetlinkError', errno: 17, errnoName: 'EEXIST', request: 'route add 10.0.0.0/24 dev #3', detail: 'detail here' });
    expect(e.message).toBe('route add 10.0.0.0/24 dev #3: EEXIST (file exists): detail here');
    expect(e.describe()).toContain('hint: it already exists');
    expect(new NetlinkError(95, 'link del "lo"').errnoName).toBe('EOPNOTSUPP');
    expect(new NetnsNotFoundError({ name: 'ctr1' }).message).toBe('network namespace "ctr1" does not exist');
  });

  it('only accepts net/ sysctl paths without traversal', () => {
    expect(sysctlFile(sysctlPath.ipv4Conf('tw1.5', 'proxy_arp'), 'r')).toBe('/proc/sys/net/ipv4/conf/tw1.5/proxy_arp');
    expect(sysctlPath.ipv4Neigh('eth0', 'proxy_delay')).toBe('net/ipv4/neigh/eth0/proxy_delay');
    expect(sysctlPath.ipv6Conf('eth0', 'accept_ra')).toBe('net/ipv6/conf/eth0/accept_ra');
    for (const bad of ['kernel/hostname', 'net/../kernel/x', 'net', 'net/ipv4/conf/a b/x', '/net/ipv4/ip_forward', 'net//ipv4']) {
      expect(() => sysctlFile(bad, `sysctl get ${bad}`), bad).toThrow(NetlinkError);
    }
  });
});
