// Wiring a workload into the host, Calico's shape, through rtnetlink (src/netlink):
//   host side:  veth <hostIface>, MAC ee:ee:ee:ee:ee:ee, no address, up; proxy_arp=1,
//               neigh proxy_delay=0, forwarding=1, route_localnet=1 (IPv6: proxy_ndp=1,
//               accept_ra=0, accept_dad=0, forwarding=1). The host routes to the workload are twill-node's
//               (it adds them once the WorkloadEndpoint and this interface both exist).
//   container:  <ifname> with the /32 (/128) addresses, MTU; `169.254.1.1 dev <ifname> scope link`,
//               a permanent neighbour 169.254.1.1 → ee:ee:ee:ee:ee:ee, `default via 169.254.1.1`
//               (IPv6: permanent neighbour + default via fe80::ecee:eeff:feee:eeee)
// and undoing it (deleting the host side deletes the container side too).
import { NetlinkError, sysctlPath, type NetlinkHandle, type NetlinkOp } from '../netlink/index.js';
import { HOST_VETH_MAC, WORKLOAD_GATEWAY4, WORKLOAD_GATEWAY6 } from './naming.js';

export interface PlumbRequest {
  /** Host-side veth name (workloadIface()). */
  hostIface: string;
  /** The interface name inside the container (CNI_IFNAME). */
  ifname: string;
  /** Bare addresses (no prefix length); one per family at most. */
  ipv4?: string;
  ipv6?: string;
  mtu: number;
  /** The container side's MAC (default: the kernel picks one). */
  mac?: string;
}

export interface Plumbed {
  hostIface: string;
  hostMac: string;
  ifname: string;
  /** MAC of the container side. */
  mac: string;
}

function isErrno(e: unknown, ...names: string[]): boolean {
  return e instanceof NetlinkError && names.includes(e.errnoName);
}

/** Runs a batch and throws the first failure. */
async function all(h: NetlinkHandle, ops: NetlinkOp[]): Promise<void> {
  const res = await h.batch(ops);
  for (const r of res) if (!r.ok) throw r.error;
}

/**
 * Creates and configures the veth pair. `host` works in the host namespace, `ctr` in the
 * container's. A host veth of the same name left over from an earlier attempt is replaced. On
 * failure, whatever was created is removed before the error is thrown.
 */
export async function plumbWorkload(host: NetlinkHandle, ctr: NetlinkHandle, req: PlumbRequest): Promise<Plumbed> {
  if (req.ipv4 === undefined && req.ipv6 === undefined) throw new Error('plumbWorkload: no address');
  await unplumbWorkload(host, req.hostIface);
  await host.vethAdd({ name: req.hostIface, peerName: req.ifname, peerNetns: ctr.netns, mtu: req.mtu, mac: HOST_VETH_MAC, ...(req.mac !== undefined ? { peerMac: req.mac } : {}) });
  try {
    const hv = req.hostIface;
    await host.sysctlSet(sysctlPath.ipv4Conf(hv, 'proxy_arp'), '1');
    await host.sysctlSet(sysctlPath.ipv4Neigh(hv, 'proxy_delay'), '0');
    await host.sysctlSet(sysctlPath.ipv4Conf(hv, 'forwarding'), '1');
    await host.sysctlSet(sysctlPath.ipv4Conf(hv, 'route_localnet'), '1');
    if (req.ipv6 !== undefined) {
      // No DAD on the host side: its link-local (the workload's gateway) is usable the moment the
      // link is up, so the first IPv6 packet after ADD is answered.
      await host.sysctlSet(sysctlPath.ipv6Conf(hv, 'accept_dad'), '0');
      await host.sysctlSet(sysctlPath.ipv6Conf(hv, 'accept_ra'), '0');
      await host.sysctlSet(sysctlPath.ipv6Conf(hv, 'proxy_ndp'), '1');
      await host.sysctlSet(sysctlPath.ipv6Conf(hv, 'forwarding'), '1');
    }
    await host.linkSetUp(hv, true);
    const link = await ctr.linkGet(req.ifname);
    if (!link) throw new Error(`the container side ${req.ifname} vanished right after it was created`);
    const ix = link.index;
    await ctr.linkSetUp('lo', true).catch(() => undefined);
    const ops: NetlinkOp[] = [];
    if (req.ipv4 !== undefined) ops.push({ op: 'addrAdd', addr: { ifindex: ix, family: 4, address: req.ipv4, prefixLength: 32 } });
    if (req.ipv6 !== undefined) ops.push({ op: 'addrAdd', addr: { ifindex: ix, family: 6, address: req.ipv6, prefixLength: 128, noDad: true } });
    await all(ctr, ops);
    await ctr.linkSetUp(ix, true);
    const routes: NetlinkOp[] = [];
    if (req.ipv4 !== undefined) {
      routes.push(
        { op: 'routeAdd', route: { family: 4, dst: `${WORKLOAD_GATEWAY4}/32`, ifindex: ix, scope: 'link' } },
        { op: 'neighReplace', neigh: { family: 4, ifindex: ix, address: WORKLOAD_GATEWAY4, mac: HOST_VETH_MAC, state: 'permanent' } },
        { op: 'routeAdd', route: { family: 4, dst: '0.0.0.0/0', gateway: WORKLOAD_GATEWAY4, ifindex: ix } },
      );
    }
    if (req.ipv6 !== undefined) {
      routes.push(
        { op: 'neighReplace', neigh: { family: 6, ifindex: ix, address: WORKLOAD_GATEWAY6, mac: HOST_VETH_MAC, state: 'permanent' } },
        { op: 'routeAdd', route: { family: 6, dst: '::/0', gateway: WORKLOAD_GATEWAY6, ifindex: ix } },
      );
    }
    await all(ctr, routes);
    return { hostIface: hv, hostMac: HOST_VETH_MAC, ifname: req.ifname, mac: link.mac ?? '' };
  } catch (e) {
    await unplumbWorkload(host, req.hostIface).catch(() => undefined);
    throw e;
  }
}

/** Deletes the host-side veth (and with it the container side and its routes). Absent: nothing to do. */
export async function unplumbWorkload(host: NetlinkHandle, hostIface: string): Promise<boolean> {
  try {
    await host.linkDel(hostIface);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENODEV', 'ENOENT')) return false;
    throw e;
  }
}

/**
 * What is wrong with a plumbed workload (empty: nothing): host veth present, a veth, up, with the
 * host MAC; container interface up with exactly the expected addresses among its global ones;
 * default routes via the gateways. `ctr` undefined: the container namespace is gone.
 */
export async function inspectWorkload(host: NetlinkHandle, ctr: NetlinkHandle | undefined, req: PlumbRequest): Promise<string[]> {
  const problems: string[] = [];
  const hl = await host.linkGet(req.hostIface);
  if (!hl) problems.push(`host interface ${req.hostIface} does not exist`);
  else {
    if (hl.kind !== 'veth') problems.push(`host interface ${req.hostIface} is a ${hl.kind ?? 'non-veth'} device, not a veth`);
    if (!hl.up) problems.push(`host interface ${req.hostIface} is down`);
    if (hl.mac?.toLowerCase() !== HOST_VETH_MAC) problems.push(`host interface ${req.hostIface} has MAC ${hl.mac ?? '?'}, expected ${HOST_VETH_MAC}`);
  }
  if (!ctr) return [...problems, 'the container network namespace is gone'];
  const cl = await ctr.linkGet(req.ifname);
  if (!cl) return [...problems, `container interface ${req.ifname} does not exist`];
  if (!cl.up) problems.push(`container interface ${req.ifname} is down`);
  const addrs = (await ctr.addrList({ ifindex: cl.index })).filter((a) => a.scope === undefined || a.scope === 0);
  const want = [req.ipv4 && `${req.ipv4}/32`, req.ipv6 && `${req.ipv6}/128`].filter((x): x is string => !!x);
  const have = addrs.map((a) => `${a.address}/${a.prefixLength}`);
  for (const w of want) if (!have.includes(w)) problems.push(`container interface ${req.ifname} lacks address ${w} (has ${have.join(', ') || 'none'})`);
  for (const h of have) if (!want.includes(h)) problems.push(`container interface ${req.ifname} has unexpected address ${h}`);
  const routes = await ctr.routeList({ ifindex: cl.index });
  if (req.ipv4 !== undefined && !routes.some((r) => r.family === 4 && r.dst === '0.0.0.0/0' && r.gateway === WORKLOAD_GATEWAY4)) {
    problems.push(`container has no default route via ${WORKLOAD_GATEWAY4} on ${req.ifname}`);
  }
  if (req.ipv6 !== undefined && !routes.some((r) => r.family === 6 && r.dst === '::/0' && r.gateway === WORKLOAD_GATEWAY6)) {
    problems.push(`container has no IPv6 default route via ${WORKLOAD_GATEWAY6} on ${req.ifname}`);
  }
  return problems;
}
