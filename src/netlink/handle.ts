// The kernel-backed NetlinkHandle: one NETLINK_ROUTE socket created inside the handle's
// namespace, plus an fd on the namespace for sysctls.
import * as C from './constants.js';
import { decodeAddr, encodeAddrDump } from './addr-codec.js';
import { describeLink, describeOp } from './describe.js';
import { Errno } from './errno.js';
import { NetlinkError } from './errors.js';
import { decodeLink, encodeLinkDel, encodeLinkGet, encodeLinkSet, encodeVethAdd, type LinkSet } from './link-codec.js';
import { decodeNeigh, encodeNeighDump } from './neigh-codec.js';
import { openNetns, withNetns } from './netns.js';
import { encodeOp } from './op-codec.js';
import type { NetnsRef } from './ref.js';
import { decodeRoute, encodeRouteDump } from './route-codec.js';
import { Session, type SessionOptions } from './session.js';
import { checkIfname, checkLinkRef, checkMtu, macSpec } from './spec.js';
import { routeMatches } from './filter.js';
import { sysctlFile, sysctlOpen, sysctlRead, sysctlWrite } from './sysctl.js';
import { openSocket } from './transport.js';
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
} from './types.js';
import { getLibc } from './libc.js';
import type { RawMessage } from './wire.js';

const OK: BatchResult = Object.freeze({ ok: true });

const afOf = (f: 4 | 6 | undefined): number => (f === 4 ? C.AF_INET : f === 6 ? C.AF_INET6 : C.AF_UNSPEC);

/** Opens a handle on a namespace (default: the caller's). Throws NetnsNotFoundError. */
export async function openNetlink(ns: NetnsRef = { current: true }, opts: SessionOptions = {}): Promise<NetlinkHandle> {
  const nsFd = 'current' in ns ? -1 : openNetns(ns);
  try {
    const { transport } = openSocket(nsFd >= 0 ? { nsFd, ref: ns } : {});
    return new KernelHandle(ns, nsFd, new Session(transport, `netlink handle (${nsLabel(ns)})`, opts));
  } catch (e) {
    if (nsFd >= 0) getLibc().close(nsFd);
    throw e;
  }
}

function nsLabel(ns: NetnsRef): string {
  return 'name' in ns ? `netns ${ns.name}` : 'path' in ns ? `netns ${ns.path}` : 'current netns';
}

class KernelHandle implements NetlinkHandle {
  constructor(
    readonly netns: NetnsRef,
    private readonly nsFd: number,
    private readonly s: Session,
  ) {}

  async linkList(): Promise<Link[]> {
    return this.s.exclusive(() => this.s.dump((w, seq) => encodeLinkGet(w, seq, 0), decodeLink, () => 'link list'));
  }

  async linkGet(ref: LinkRef): Promise<Link | undefined> {
    return this.s.exclusive(() => this.getLink(ref));
  }

  private async getLink(ref: LinkRef): Promise<Link | undefined> {
    const index = typeof ref === 'number' ? ref : 0;
    const name = typeof ref === 'string' ? ref : undefined;
    try {
      checkLinkRef(ref, () => `link get ${describeLink(ref)}`);
      const [l] = await this.s.query((w, seq) => encodeLinkGet(w, seq, index, name), decodeLink, () => `link get ${describeLink(ref)}`);
      return l;
    } catch (e) {
      if (e instanceof NetlinkError && e.errno === Errno.ENODEV) return undefined;
      throw e;
    }
  }

  async vethAdd(o: VethOptions): Promise<void> {
    const d = (): string => `veth add ${o.name} peer ${o.peerName}`;
    checkIfname(o.name, d);
    checkIfname(o.peerName, d);
    if (o.mtu !== undefined) checkMtu(o.mtu, d);
    const mac = o.mac !== undefined ? macSpec(o.mac, d) : undefined;
    const peerMac = o.peerMac !== undefined ? macSpec(o.peerMac, d) : undefined;
    return this.s.exclusive(async () => {
      const peerNsFd = o.peerNetns && !('current' in o.peerNetns) ? openNetns(o.peerNetns) : -1;
      try {
        await this.s.exec(
          (w, seq) => encodeVethAdd(w, seq, { name: o.name, peerName: o.peerName, peerNsFd, mtu: o.mtu, mac, peerMac }),
          d,
        );
      } finally {
        if (peerNsFd >= 0) getLibc().close(peerNsFd);
      }
    });
  }

  private async setLink(ref: LinkRef, verb: string, change: Omit<LinkSet, 'index' | 'name'>): Promise<void> {
    const d = (): string => `link set ${describeLink(ref)} ${verb}`;
    checkLinkRef(ref, d);
    const sel = typeof ref === 'number' ? { index: ref } : { index: 0, name: ref };
    return this.s.exclusive(() => this.s.exec((w, seq) => encodeLinkSet(w, seq, { ...sel, ...change }), d));
  }

  async linkSetUp(ref: LinkRef, up: boolean): Promise<void> {
    return this.setLink(ref, up ? 'up' : 'down', { up });
  }

  async linkSetMtu(ref: LinkRef, mtu: number): Promise<void> {
    checkMtu(mtu, () => `link set ${describeLink(ref)} mtu ${mtu}`);
    return this.setLink(ref, `mtu ${mtu}`, { mtu });
  }

  async linkSetMac(ref: LinkRef, mac: string): Promise<void> {
    const m = macSpec(mac, () => `link set ${describeLink(ref)} address ${mac}`);
    return this.setLink(ref, `address ${mac}`, { mac: m });
  }

  async linkRename(ref: LinkRef, newName: string): Promise<void> {
    const d = (): string => `link set ${describeLink(ref)} name ${newName}`;
    checkIfname(newName, d);
    return this.s.exclusive(async () => {
      const l = await this.getLink(ref);
      if (!l) throw new NetlinkError(Errno.ENODEV, d());
      await this.s.exec((w, seq) => encodeLinkSet(w, seq, { index: l.index, newName }), d);
    });
  }

  async linkDel(ref: LinkRef): Promise<void> {
    const d = (): string => `link del ${describeLink(ref)}`;
    checkLinkRef(ref, d);
    return this.s.exclusive(() =>
      this.s.exec((w, seq) => (typeof ref === 'number' ? encodeLinkDel(w, seq, ref) : encodeLinkDel(w, seq, 0, ref)), d, { offThread: true }),
    );
  }

  private async one(op: NetlinkOp): Promise<void> {
    const [r] = await this.batch([op]);
    if (r && !r.ok) throw r.error;
  }

  async addrAdd(a: Addr): Promise<void> {
    return this.one({ op: 'addrAdd', addr: a });
  }

  async addrDel(a: Addr): Promise<void> {
    return this.one({ op: 'addrDel', addr: a });
  }

  async addrList(f: AddrFilter = {}): Promise<Addr[]> {
    return this.s.exclusive(async () => {
      const all = await this.s.dump((w, seq) => encodeAddrDump(w, seq, afOf(f.family), f.ifindex ?? 0), decodeAddr, () => 'address list');
      return all.filter((a) => (f.family === undefined || a.family === f.family) && (f.ifindex === undefined || a.ifindex === f.ifindex));
    });
  }

  async routeAdd(r: Route): Promise<void> {
    return this.one({ op: 'routeAdd', route: r });
  }

  async routeReplace(r: Route): Promise<void> {
    return this.one({ op: 'routeReplace', route: r });
  }

  async routeDel(r: Route): Promise<void> {
    return this.one({ op: 'routeDel', route: r });
  }

  async routeList(f: RouteFilter = {}): Promise<Route[]> {
    return this.s.exclusive(async () => {
      // The kernel filters by table, protocol, type and interface already; this catches the rest.
      const decode = (buf: Buffer, m: RawMessage): Route | undefined => {
        const r = decodeRoute(buf, m);
        return r && routeMatches(r, f) ? r : undefined;
      };
      try {
        return await this.s.dump((w, seq) => encodeRouteDump(w, seq, afOf(f.family), f), decode, () => 'route list');
      } catch (e) {
        // IPv4 answers ENOENT for a table that has never held a route: that is an empty table.
        if (e instanceof NetlinkError && e.errno === Errno.ENOENT) return [];
        throw e;
      }
    });
  }

  async neighAdd(n: Neighbour): Promise<void> {
    return this.one({ op: 'neighAdd', neigh: n });
  }

  async neighReplace(n: Neighbour): Promise<void> {
    return this.one({ op: 'neighReplace', neigh: n });
  }

  async neighDel(n: Neighbour): Promise<void> {
    return this.one({ op: 'neighDel', neigh: n });
  }

  async neighList(f: NeighFilter = {}): Promise<Neighbour[]> {
    return this.s.exclusive(async () => {
      const all = await this.s.dump((w, seq) => encodeNeighDump(w, seq, afOf(f.family), f.ifindex ?? 0), decodeNeigh, () => 'neighbour list');
      return all.filter((n) => (f.family === undefined || n.family === f.family) && (f.ifindex === undefined || n.ifindex === f.ifindex));
    });
  }

  private inNetns<T>(fn: () => T): T {
    return this.nsFd >= 0 ? withNetns(this.nsFd, this.netns, fn) : fn();
  }

  async sysctlGet(path: string): Promise<string> {
    const req = `sysctl get ${path}`;
    const file = sysctlFile(path, req);
    return this.s.exclusive(async () => this.inNetns(() => sysctlRead(sysctlOpen(file, false, req), req)));
  }

  async sysctlSet(path: string, value: string): Promise<void> {
    const req = `sysctl set ${path}=${value}`;
    const file = sysctlFile(path, req);
    return this.s.exclusive(async () => this.inNetns(() => sysctlWrite(sysctlOpen(file, true, req), value, req)));
  }

  async batch(ops: readonly NetlinkOp[]): Promise<BatchResult[]> {
    return this.s.exclusive(async () => {
      const errs = await this.s.batch(
        ops.length,
        (w, i, seq) => encodeOp(w, ops[i]!, seq),
        (i) => describeOp(ops[i]!),
      );
      const out: BatchResult[] = new Array<BatchResult>(ops.length);
      for (let i = 0; i < ops.length; i++) {
        const e = errs[i];
        out[i] = e ? { ok: false, error: e } : OK;
      }
      return out;
    });
  }

  close(): void {
    this.s.close();
    if (this.nsFd >= 0) getLibc().close(this.nsFd);
  }
}
