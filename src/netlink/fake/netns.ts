// One fake network namespace: links, addresses, routes, neighbours and sysctls, with the side
// effects the kernel has (connected/local routes for addresses, what a link going down or away
// takes with it) and events for monitors.
import { randomBytes } from 'node:crypto';
import * as C from '../constants.js';
import { Errno } from '../errno.js';
import { NetlinkError } from '../errors.js';
import type { AddrSpec, NeighSpec, RouteSpec } from '../spec.js';
import type { NetlinkEvent } from '../types.js';
import { buildRoute, contains, matchDelete, type Fail } from './routing.js';
import {
  bytesEqual,
  renderAddr,
  renderLink,
  prefixKey,
  renderRoute,
  routeKey,
  type AddrRec,
  type LinkRec,
  type NeighRec,
  type NetnsView,
  type RouteRec,
} from './state.js';

const IPV4_CONF = ['proxy_arp', 'forwarding', 'route_localnet', 'rp_filter'];
const IPV6_CONF = ['proxy_ndp', 'accept_ra', 'disable_ipv6', 'forwarding'];

/** A Fail that throws a NetlinkError for this request (text made only when needed). */
export function failer(request: string | (() => string)): Fail {
  return (errno: number, detail?: string): never => {
    throw new NetlinkError(errno, typeof request === 'string' ? request : request(), detail);
  };
}

function randomMac(): Uint8Array {
  const m = new Uint8Array(randomBytes(6));
  m[0] = (m[0]! & 0xfe) | 0x02; // unicast, locally administered
  return m;
}

export class FakeNetns implements NetnsView {
  readonly links = new Map<number, LinkRec>();
  readonly addrs: AddrRec[] = [];
  readonly routes = new Set<RouteRec>();
  readonly tables = new Set<string>();
  private readonly routeIndex = new Map<string, RouteRec>();
  private readonly prefixIndex = new Map<string, RouteRec[]>();
  readonly neighs: NeighRec[] = [];
  readonly sysctls = new Map<string, string>();
  readonly listeners = new Set<(e: NetlinkEvent) => void>();
  private lastIndex = 0;
  private readonly nsids = new Map<NetnsView, number>();

  constructor(readonly name: string) {
    for (const which of ['all', 'default']) {
      for (const k of IPV4_CONF) this.sysctls.set(`net/ipv4/conf/${which}/${k}`, '0');
      for (const k of IPV6_CONF) this.sysctls.set(`net/ipv6/conf/${which}/${k}`, k === 'accept_ra' ? '1' : '0');
    }
    this.sysctls.set('net/ipv4/ip_forward', '0');
    this.sysctls.set('net/ipv4/neigh/default/proxy_delay', '80');
    this.addLink({ index: this.allocIndex(), name: 'lo', kind: 'loopback', mtu: 65536, mac: new Uint8Array(6), up: false });
  }

  nsidOf(other: NetnsView): number {
    let id = this.nsids.get(other);
    if (id === undefined) {
      id = this.nsids.size;
      this.nsids.set(other, id);
    }
    return id;
  }

  /** Queues an event for every monitor (built only when someone listens). */
  emit(e: NetlinkEvent | (() => NetlinkEvent)): void {
    if (this.listeners.size === 0) return;
    const ev = typeof e === 'function' ? e() : e;
    for (const l of this.listeners) queueMicrotask(() => l(ev));
  }

  allocIndex(): number {
    return ++this.lastIndex;
  }

  linkByName(name: string): LinkRec | undefined {
    for (const l of this.links.values()) if (l.name === name) return l;
    return undefined;
  }

  linkByRef(ref: string | number): LinkRec | undefined {
    return typeof ref === 'number' ? this.links.get(ref) : this.linkByName(ref);
  }

  // ---- links ----

  addLink(l: LinkRec): void {
    this.links.set(l.index, l);
    this.initLinkSysctls(l.name);
    this.emit({ kind: 'link', action: 'new', link: renderLink(this, l) });
  }

  private initLinkSysctls(name: string): void {
    for (const k of IPV4_CONF) this.sysctls.set(`net/ipv4/conf/${name}/${k}`, this.sysctls.get(`net/ipv4/conf/default/${k}`)!);
    this.sysctls.set(`net/ipv4/neigh/${name}/proxy_delay`, this.sysctls.get('net/ipv4/neigh/default/proxy_delay')!);
    for (const k of IPV6_CONF) this.sysctls.set(`net/ipv6/conf/${name}/${k}`, this.sysctls.get(`net/ipv6/conf/default/${k}`)!);
  }

  private moveLinkSysctls(from: string, to: string | undefined): void {
    for (const prefix of ['net/ipv4/conf/', 'net/ipv4/neigh/', 'net/ipv6/conf/']) {
      for (const [k, v] of [...this.sysctls]) {
        if (!k.startsWith(`${prefix}${from}/`)) continue;
        this.sysctls.delete(k);
        if (to !== undefined) this.sysctls.set(`${prefix}${to}/${k.slice(prefix.length + from.length + 1)}`, v);
      }
    }
  }

  /** Removes a link and everything that hangs off it (not its veth peer: see destroyLink). */
  removeLink(l: LinkRec): void {
    if (!this.links.has(l.index)) return;
    this.removeRoutes((r) => r.nhs.some((nh) => nh.ifindex === l.index));
    for (const a of this.addrs.filter((a) => a.ifindex === l.index)) this.dropAddr(a);
    this.removeNeighs((n) => n.ifindex === l.index);
    this.links.delete(l.index);
    this.moveLinkSysctls(l.name, undefined);
    this.emit({ kind: 'link', action: 'del', link: renderLink(this, l) });
  }

  setUp(l: LinkRec, up: boolean): void {
    if (l.up === up) return;
    l.up = up;
    if (up) {
      if (l.kind === 'loopback') {
        if (!this.addrs.some((a) => a.ifindex === l.index && a.family === 4 && a.address[0] === 127)) {
          this.insertAddr({ ifindex: l.index, family: 4, address: new Uint8Array([127, 0, 0, 1]), prefixLength: 8, scope: C.RT_SCOPE_HOST, noDad: false });
        }
        const one = new Uint8Array(16);
        one[15] = 1;
        if (!this.addrs.some((a) => a.ifindex === l.index && a.family === 6 && bytesEqual(a.address, one))) {
          this.insertAddr({ ifindex: l.index, family: 6, address: one, prefixLength: 128, scope: C.RT_SCOPE_HOST, noDad: false });
        }
      }
      for (const a of this.addrs) if (a.ifindex === l.index) this.addrUpRoutes(a, l);
    } else {
      // Down: IPv4 routes through the device go (local ones stay), IPv6 addresses and routes
      // through it go, and so do its neighbours.
      this.removeRoutes((r) => r.type !== C.RTN_LOCAL && r.family === 4 && r.nhs.length > 0 && r.nhs.every((nh) => nh.ifindex === l.index));
      for (const a of this.addrs.filter((a) => a.ifindex === l.index && a.family === 6)) this.dropAddr(a);
      this.removeRoutes((r) => r.family === 6 && r.nhs.length > 0 && r.nhs.every((nh) => nh.ifindex === l.index));
      this.removeNeighs((n) => n.ifindex === l.index);
    }
    this.emit({ kind: 'link', action: 'new', link: renderLink(this, l) });
    // The peer's carrier follows this end.
    if (l.peer) (l.peer.ns as FakeNetns).linkChanged(l.peer.link);
  }

  /** Re-announces a link (its carrier follows the peer's state). */
  linkChanged(l: LinkRec): void {
    if (this.links.get(l.index) === l) this.emit({ kind: 'link', action: 'new', link: renderLink(this, l) });
  }

  setMtu(l: LinkRec, mtu: number, fail: Fail): void {
    if (mtu < 68) fail(Errno.EINVAL, 'mtu less than device minimum');
    if (mtu > (l.kind === 'loopback' ? 0x7fffffff : 65535)) fail(Errno.EINVAL, 'mtu greater than device maximum');
    l.mtu = mtu;
    this.emit({ kind: 'link', action: 'new', link: renderLink(this, l) });
  }

  setMac(l: LinkRec, mac: Uint8Array, fail: Fail): void {
    if (mac[0]! & 1 || mac.every((b) => b === 0)) fail(Errno.EADDRNOTAVAIL);
    l.mac = mac;
    this.emit({ kind: 'link', action: 'new', link: renderLink(this, l) });
  }

  rename(l: LinkRec, name: string, fail: Fail): void {
    if (l.name === name) return;
    if (this.linkByName(name)) fail(Errno.EEXIST);
    this.moveLinkSysctls(l.name, name);
    l.name = name;
    this.emit({ kind: 'link', action: 'new', link: renderLink(this, l) });
  }

  // ---- addresses ----

  addrAdd(s: AddrSpec, fail: Fail): void {
    const l = this.links.get(s.ifindex);
    if (!l) fail(Errno.ENODEV, s.family === 4 ? 'ipv4: Device not found' : undefined);
    const dup =
      s.family === 4
        ? this.addrs.some((a) => a.family === 4 && a.ifindex === s.ifindex && a.prefixLength === s.prefixLength && bytesEqual(a.address, s.address))
        : this.addrs.some((a) => a.family === 6 && a.ifindex === s.ifindex && bytesEqual(a.address, s.address));
    if (dup) fail(Errno.EEXIST, s.family === 4 ? 'ipv4: Address already assigned' : 'ipv6: address already assigned');
    const scope = s.family === 6 ? v6Scope(s.address) : s.scope;
    this.insertAddr({ ifindex: s.ifindex, family: s.family, address: s.address, prefixLength: s.prefixLength, scope, noDad: s.noDad });
  }

  private insertAddr(a: AddrRec): void {
    this.addrs.push(a);
    this.emit({ kind: 'addr', action: 'new', addr: renderAddr(a) });
    const l = this.links.get(a.ifindex)!;
    // The local route exists at once; connected ones once the link is up.
    this.insertAuto({
      family: a.family,
      dst: a.address,
      dstLen: a.family === 4 ? 32 : 128,
      table: C.RT_TABLE_LOCAL,
      protocol: C.RTPROT_KERNEL,
      scope: a.family === 4 ? C.RT_SCOPE_HOST : C.RT_SCOPE_UNIVERSE,
      type: C.RTN_LOCAL,
      metric: 0,
      src: a.family === 4 ? a.address : undefined,
      nhs: [{ gateway: undefined, ifindex: a.ifindex, weight: 1, onlink: false }],
      multipath: false,
      auto: true,
    });
    if (l.up) this.addrUpRoutes(a, l);
  }

  private addrUpRoutes(a: AddrRec, l: LinkRec): void {
    const nhs = [{ gateway: undefined, ifindex: a.ifindex, weight: 1, onlink: false }];
    const net = maskBytes(a.address, a.prefixLength);
    if (a.family === 4) {
      if (a.prefixLength < 32) {
        const loop = l.kind === 'loopback';
        this.insertAuto({
          family: 4,
          dst: net,
          dstLen: a.prefixLength,
          table: loop ? C.RT_TABLE_LOCAL : C.RT_TABLE_MAIN,
          protocol: C.RTPROT_KERNEL,
          scope: loop ? C.RT_SCOPE_HOST : C.RT_SCOPE_LINK,
          type: loop ? C.RTN_LOCAL : C.RTN_UNICAST,
          metric: 0,
          src: a.address,
          nhs,
          multipath: false,
          auto: true,
        });
      }
      if (a.prefixLength < 31) {
        const bcast = new Uint8Array(net);
        for (let bit = a.prefixLength; bit < 32; bit++) bcast[bit >> 3]! |= 0x80 >> (bit & 7);
        this.insertAuto({
          family: 4,
          dst: bcast,
          dstLen: 32,
          table: C.RT_TABLE_LOCAL,
          protocol: C.RTPROT_KERNEL,
          scope: C.RT_SCOPE_LINK,
          type: C.RTN_BROADCAST,
          metric: 0,
          src: a.address,
          nhs,
          multipath: false,
          auto: true,
        });
      }
    } else if (a.prefixLength < 128) {
      this.insertAuto({
        family: 6,
        dst: net,
        dstLen: a.prefixLength,
        table: C.RT_TABLE_MAIN,
        protocol: C.RTPROT_KERNEL,
        scope: C.RT_SCOPE_UNIVERSE,
        type: C.RTN_UNICAST,
        metric: 256,
        src: undefined,
        nhs,
        multipath: false,
        auto: true,
      });
    }
  }

  private insertAuto(r: RouteRec): void {
    if (this.sameKey(r)) return; // a second address in the same subnet adds nothing
    this.putRoute(r);
    this.emit(() => ({ kind: 'route', action: 'new', route: renderRoute(r) }));
  }

  sameKey(r: RouteRec): RouteRec | undefined {
    return this.routeIndex.get(routeKey(r));
  }

  /** Adds r, or replaces the route with its key. */
  private putRoute(r: RouteRec): void {
    const k = routeKey(r);
    const old = this.routeIndex.get(k);
    this.routeIndex.set(k, r);
    this.tables.add(`${r.family}:${r.table}`);
    const pk = prefixKey(r);
    const same = this.prefixIndex.get(pk) ?? [];
    if (old) {
      this.routes.delete(old);
      same[same.indexOf(old)] = r;
    } else {
      same.push(r);
    }
    this.routes.add(r);
    this.prefixIndex.set(pk, same);
  }

  /** Routes of one table with exactly this prefix. */
  samePrefix(family: 4 | 6, table: number, dst: Uint8Array, dstLen: number): readonly RouteRec[] {
    return this.prefixIndex.get(`${family}|${table}|${dst.join('.')}/${dstLen}`) ?? [];
  }

  private dropRoute(r: RouteRec): void {
    if (!this.routes.delete(r)) return;
    this.routeIndex.delete(routeKey(r));
    const pk = prefixKey(r);
    const same = this.prefixIndex.get(pk)!.filter((x) => x !== r);
    if (same.length) this.prefixIndex.set(pk, same);
    else this.prefixIndex.delete(pk);
  }

  addrDel(s: AddrSpec, fail: Fail): void {
    const a = this.addrs.find((a) => a.family === s.family && a.ifindex === s.ifindex && a.prefixLength === s.prefixLength && bytesEqual(a.address, s.address));
    if (!a) fail(Errno.EADDRNOTAVAIL, s.family === 4 ? 'ipv4: Address not found' : 'ipv6: address not found');
    // IPv4: the first address of a subnet is its primary; deleting it deletes the secondaries
    // too (the kernel default, promote_secondaries=0, which the fake does not let you change).
    const sameSubnet = (b: AddrRec): boolean =>
      b.family === 4 && b.ifindex === a.ifindex && b.prefixLength === a.prefixLength && contains(maskBytes(a.address, a.prefixLength), a.prefixLength, b.address);
    const primary = a.family === 4 && this.addrs.find(sameSubnet) === a;
    this.dropAddr(a);
    if (primary) for (const b of this.addrs.filter(sameSubnet)) this.dropAddr(b);
  }

  /** Removes an address and the routes the kernel made for it. */
  private dropAddr(a: AddrRec): void {
    const i = this.addrs.indexOf(a);
    if (i === -1) return;
    this.addrs.splice(i, 1);
    this.emit({ kind: 'addr', action: 'del', addr: renderAddr(a) });
    const stillCovered = (dst: Uint8Array, len: number): boolean =>
      this.addrs.some((b) => b.family === a.family && b.ifindex === a.ifindex && b.prefixLength === len && contains(dst, len, b.address));
    this.removeRoutes(
      (r) =>
        r.auto === true &&
        r.family === a.family &&
        r.nhs[0]?.ifindex === a.ifindex &&
        ((r.type === C.RTN_LOCAL && bytesEqual(r.dst, a.address) && r.dstLen === (a.family === 4 ? 32 : 128)) ||
          (r.dstLen === a.prefixLength && contains(r.dst, r.dstLen, a.address) && !stillCovered(r.dst, r.dstLen)) ||
          (r.type === C.RTN_BROADCAST && bytesEqual(r.src, a.address))),
    );
  }

  // ---- routes ----

  routeWrite(s: RouteSpec, mode: 'add' | 'replace', fail: Fail): void {
    const r = buildRoute(this, s, fail);
    if (mode === 'add' && this.sameKey(r)) fail(Errno.EEXIST);
    this.putRoute(r);
    this.emit(() => ({ kind: 'route', action: 'new', route: renderRoute(r) }));
  }

  routeDel(s: RouteSpec, fail: Fail): void {
    const { remove, event } = matchDelete(this, s, fail);
    if (remove) this.dropRoute(remove);
    this.emit(() => ({ kind: 'route', action: 'del', route: renderRoute(event) }));
  }

  private removeRoutes(pred: (r: RouteRec) => boolean): void {
    for (const r of [...this.routes].filter(pred)) {
      this.dropRoute(r);
      this.emit(() => ({ kind: 'route', action: 'del', route: renderRoute(r) }));
    }
  }

  // ---- neighbours ----

  neighWrite(s: NeighSpec, mode: 'add' | 'replace', fail: Fail): void {
    if (!this.links.has(s.ifindex)) fail(Errno.ENODEV);
    const i = this.neighs.findIndex((n) => n.family === s.family && n.ifindex === s.ifindex && bytesEqual(n.address, s.address));
    const rec: NeighRec = { ifindex: s.ifindex, family: s.family, address: s.address, mac: s.mac, state: s.state };
    if (i !== -1) {
      if (mode === 'add') fail(Errno.EEXIST);
      this.neighs[i] = rec;
    } else {
      this.neighs.push(rec);
    }
  }

  neighDel(s: NeighSpec, fail: Fail): void {
    if (!this.links.has(s.ifindex)) fail(Errno.ENODEV);
    const i = this.neighs.findIndex((n) => n.family === s.family && n.ifindex === s.ifindex && bytesEqual(n.address, s.address));
    if (i === -1) fail(Errno.ENOENT);
    this.neighs.splice(i, 1);
  }

  private removeNeighs(pred: (n: NeighRec) => boolean): void {
    for (let i = this.neighs.length - 1; i >= 0; i--) if (pred(this.neighs[i]!)) this.neighs.splice(i, 1);
  }

  // ---- sysctls ----

  sysctlGet(path: string, fail: Fail): string {
    const v = this.sysctls.get(path);
    if (v === undefined) fail(Errno.ENOENT);
    return v;
  }

  sysctlSet(path: string, value: string, fail: Fail): void {
    if (!this.sysctls.has(path)) fail(Errno.ENOENT);
    const t = String(value).trim();
    if (!/^-?[0-9]+$/.test(t)) fail(Errno.EINVAL);
    const v = String(Number(t));
    if (path === 'net/ipv4/ip_forward' || path === 'net/ipv4/conf/all/forwarding') {
      // Like the kernel: global IPv4 forwarding flips every interface and the default.
      for (const k of [...this.sysctls.keys()]) if (/^net\/ipv4\/conf\/[^/]+\/forwarding$/.test(k)) this.sysctls.set(k, v);
      this.sysctls.set('net/ipv4/ip_forward', v);
      return;
    }
    if (path === 'net/ipv6/conf/all/forwarding') {
      for (const k of [...this.sysctls.keys()]) if (/^net\/ipv6\/conf\/[^/]+\/forwarding$/.test(k)) this.sysctls.set(k, v);
      return;
    }
    this.sysctls.set(path, v);
  }

  /** Everything goes (namespace deleted): links die, veth peers elsewhere with them. */
  destroy(): void {
    for (const l of [...this.links.values()]) destroyLink(this, l);
  }
}

function v6Scope(a: Uint8Array): number {
  if (a[0] === 0xfe && (a[1]! & 0xc0) === 0x80) return C.RT_SCOPE_LINK;
  if (a.every((b, i) => (i === 15 ? b === 1 : b === 0))) return C.RT_SCOPE_HOST;
  return C.RT_SCOPE_UNIVERSE;
}

function maskBytes(a: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const bits = Math.max(0, Math.min(8, len - i * 8));
    out[i] = a[i]! & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

/** Deletes a link; a veth takes its peer with it, wherever that lives. */
export function destroyLink(ns: FakeNetns, l: LinkRec): void {
  ns.removeLink(l);
  const peer = l.peer;
  if (peer) {
    l.peer = undefined;
    peer.link.peer = undefined;
    (peer.ns as FakeNetns).removeLink(peer.link);
  }
}

export interface FakeVeth {
  name: string;
  peerName: string;
  mtu?: number;
  mac?: Uint8Array;
  peerMac?: Uint8Array;
}

/** Creates a veth pair, the peer in peerNs (which may be ns). */
export function createVeth(ns: FakeNetns, peerNs: FakeNetns, o: FakeVeth, fail: Fail): void {
  if (ns.linkByName(o.name)) fail(Errno.EEXIST);
  if (peerNs.linkByName(o.peerName) || (peerNs === ns && o.peerName === o.name)) fail(Errno.EEXIST);
  for (const m of [o.mac, o.peerMac]) if (m && (m[0]! & 1 || m.every((b) => b === 0))) fail(Errno.EADDRNOTAVAIL);
  const mtu = o.mtu ?? 1500;
  if (mtu < 68) fail(Errno.EINVAL, 'mtu less than device minimum');
  if (mtu > 65535) fail(Errno.EINVAL, 'mtu greater than device maximum');
  // The kernel registers the peer first.
  const peer: LinkRec = { index: peerNs.allocIndex(), name: o.peerName, kind: 'veth', mtu, mac: o.peerMac ?? randomMac(), up: false };
  const main: LinkRec = { index: ns.allocIndex(), name: o.name, kind: 'veth', mtu, mac: o.mac ?? randomMac(), up: false };
  peer.peer = { ns, link: main };
  main.peer = { ns: peerNs, link: peer };
  peerNs.addLink(peer);
  ns.addLink(main);
}
