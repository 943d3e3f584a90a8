// NetlinkHandle over a fake namespace. Requests go through the same validation as the kernel
// handle (spec.ts), then through the fake's kernel rules; errors are the same NetlinkErrors.
import { describeLink, describeOp } from '../describe.js';
import { Errno } from '../errno.js';
import { NetlinkClosedError, NetlinkError } from '../errors.js';
import { routeMatches } from '../filter.js';
import type { NetnsRef } from '../ref.js';
import { addrSpec, checkIfname, checkLinkRef, checkMtu, macSpec, neighSpec, routeSpec } from '../spec.js';
import { sysctlFile } from '../sysctl.js';
import type {
  Addr,
  AddrFilter,
  BatchResult,
  Link,
  LinkRef,
  Neighbour,
  NeighFilter,
  NetlinkHandle,
  NetlinkOp,
  Route,
  RouteFilter,
  VethOptions,
} from '../types.js';
import { createVeth, destroyLink, failer, type FakeNetns } from './netns.js';
import { renderAddr, renderLink, renderNeigh, renderRoute, type LinkRec } from './state.js';

const OK: BatchResult = Object.freeze({ ok: true });

/** Applies one write op to a fake namespace (throws NetlinkError). */
export function applyOp(ns: FakeNetns, op: NetlinkOp): void {
  const d = (): string => describeOp(op);
  const fail = failer(d);
  switch (op.op) {
    case 'routeAdd':
      return ns.routeWrite(routeSpec(op.route, 'add', d), 'add', fail);
    case 'routeReplace':
      return ns.routeWrite(routeSpec(op.route, 'add', d), 'replace', fail);
    case 'routeDel':
      return ns.routeDel(routeSpec(op.route, 'del', d), fail);
    case 'addrAdd':
      return ns.addrAdd(addrSpec(op.addr, d), fail);
    case 'addrDel':
      return ns.addrDel(addrSpec(op.addr, d), fail);
    case 'neighAdd':
      return ns.neighWrite(neighSpec(op.neigh, 'add', d), 'add', fail);
    case 'neighReplace':
      return ns.neighWrite(neighSpec(op.neigh, 'add', d), 'replace', fail);
    case 'neighDel':
      return ns.neighDel(neighSpec(op.neigh, 'del', d), fail);
    default:
      throw new TypeError(`unknown netlink op ${JSON.stringify((op as { op?: unknown }).op)}`);
  }
}

export class FakeHandle implements NetlinkHandle {
  private closed = false;

  constructor(
    readonly netns: NetnsRef,
    private readonly ns: FakeNetns,
    private readonly resolve: (ref: NetnsRef) => FakeNetns,
  ) {}

  private check(): void {
    if (this.closed) throw new NetlinkClosedError('fake netlink handle');
  }

  private link(ref: LinkRef, request: string): LinkRec {
    checkLinkRef(ref, () => request);
    const l = this.ns.linkByRef(ref);
    if (!l) throw new NetlinkError(Errno.ENODEV, request);
    return l;
  }

  async linkList(): Promise<Link[]> {
    this.check();
    return [...this.ns.links.values()].sort((a, b) => a.index - b.index).map((l) => renderLink(this.ns, l));
  }

  async linkGet(ref: LinkRef): Promise<Link | undefined> {
    this.check();
    if (typeof ref === 'string') checkIfname(ref, () => `link get ${describeLink(ref)}`);
    const l = this.ns.linkByRef(ref);
    return l ? renderLink(this.ns, l) : undefined;
  }

  async vethAdd(o: VethOptions): Promise<void> {
    this.check();
    const req = `veth add ${o.name} peer ${o.peerName}`;
    const d = (): string => req;
    checkIfname(o.name, d);
    checkIfname(o.peerName, d);
    if (o.mtu !== undefined) checkMtu(o.mtu, d);
    const mac = o.mac !== undefined ? macSpec(o.mac, d) : undefined;
    const peerMac = o.peerMac !== undefined ? macSpec(o.peerMac, d) : undefined;
    const peerNs = o.peerNetns ? this.resolve(o.peerNetns) : this.ns;
    createVeth(this.ns, peerNs, { name: o.name, peerName: o.peerName, mtu: o.mtu, mac, peerMac }, failer(req));
  }

  async linkSetUp(ref: LinkRef, up: boolean): Promise<void> {
    this.check();
    this.ns.setUp(this.link(ref, `link set ${describeLink(ref)} ${up ? 'up' : 'down'}`), up);
  }

  async linkSetMtu(ref: LinkRef, mtu: number): Promise<void> {
    this.check();
    const req = `link set ${describeLink(ref)} mtu ${mtu}`;
    checkMtu(mtu, () => req);
    this.ns.setMtu(this.link(ref, req), mtu, failer(req));
  }

  async linkSetMac(ref: LinkRef, mac: string): Promise<void> {
    this.check();
    const req = `link set ${describeLink(ref)} address ${mac}`;
    const m = macSpec(mac, () => req);
    this.ns.setMac(this.link(ref, req), m, failer(req));
  }

  async linkRename(ref: LinkRef, newName: string): Promise<void> {
    this.check();
    const req = `link set ${describeLink(ref)} name ${newName}`;
    checkIfname(newName, () => req);
    this.ns.rename(this.link(ref, req), newName, failer(req));
  }

  async linkDel(ref: LinkRef): Promise<void> {
    this.check();
    const req = `link del ${describeLink(ref)}`;
    const l = this.link(ref, req);
    if (l.kind === 'loopback') throw new NetlinkError(Errno.EOPNOTSUPP, req);
    destroyLink(this.ns, l);
  }

  private async one(op: NetlinkOp): Promise<void> {
    this.check();
    applyOp(this.ns, op);
  }

  addrAdd(a: Addr): Promise<void> {
    return this.one({ op: 'addrAdd', addr: a });
  }

  addrDel(a: Addr): Promise<void> {
    return this.one({ op: 'addrDel', addr: a });
  }

  async addrList(f: AddrFilter = {}): Promise<Addr[]> {
    this.check();
    return this.ns.addrs
      .filter((a) => (f.family === undefined || a.family === f.family) && (f.ifindex === undefined || a.ifindex === f.ifindex))
      .map(renderAddr);
  }

  routeAdd(r: Route): Promise<void> {
    return this.one({ op: 'routeAdd', route: r });
  }

  routeReplace(r: Route): Promise<void> {
    return this.one({ op: 'routeReplace', route: r });
  }

  routeDel(r: Route): Promise<void> {
    return this.one({ op: 'routeDel', route: r });
  }

  async routeList(f: RouteFilter = {}): Promise<Route[]> {
    this.check();
    return [...this.ns.routes].map(renderRoute).filter((r) => routeMatches(r, f));
  }

  neighAdd(n: Neighbour): Promise<void> {
    return this.one({ op: 'neighAdd', neigh: n });
  }

  neighReplace(n: Neighbour): Promise<void> {
    return this.one({ op: 'neighReplace', neigh: n });
  }

  neighDel(n: Neighbour): Promise<void> {
    return this.one({ op: 'neighDel', neigh: n });
  }

  async neighList(f: NeighFilter = {}): Promise<Neighbour[]> {
    this.check();
    return this.ns.neighs
      .filter((n) => (f.family === undefined || n.family === f.family) && (f.ifindex === undefined || n.ifindex === f.ifindex))
      .map(renderNeigh);
  }

  async sysctlGet(path: string): Promise<string> {
    this.check();
    const req = `sysctl get ${path}`;
    sysctlFile(path, req);
    return this.ns.sysctlGet(path, failer(req));
  }

  async sysctlSet(path: string, value: string): Promise<void> {
    this.check();
    const req = `sysctl set ${path}=${value}`;
    sysctlFile(path, req);
    this.ns.sysctlSet(path, value, failer(req));
  }

  async batch(ops: readonly NetlinkOp[]): Promise<BatchResult[]> {
    this.check();
    return ops.map((op) => {
      try {
        applyOp(this.ns, op);
        return OK;
      } catch (e) {
        const error = e instanceof NetlinkError ? e : new NetlinkError(Errno.EINVAL, describeOp(op), (e as Error)?.message ?? String(e));
        return { ok: false, error };
      }
    });
  }

  close(): void {
    this.closed = true;
  }
}

