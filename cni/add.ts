// ADD: addresses → the veth, and in parallel the network's profile and the WorkloadEndpoint →
// wait until twill-node has programmed it. Any failure after the addresses were taken undoes
// every step.
import { HOST_VETH_MAC, WORKLOAD_GATEWAY4, WORKLOAD_GATEWAY6, attachmentKey, workloadIface, workloadMac } from '../src/workload/naming.js';
import { plumbWorkload, unplumbWorkload } from '../src/workload/plumb.js';
import type { NetlinkHandle } from '../src/netlink/types.js';
import { addressSource } from './addresses.js';
import { buildEndpoint, deleteEndpoint, endpointKey, ensureProfile, waitProgrammed, writeEndpoint } from './endpoint.js';
import type { CniContext } from './context.js';
import { CNI_VERSION, CniCode, CniError, type CniResult } from './protocol.js';

const DEFAULT_MTU = 1500;

/** The MTU of the interface the host's default route leaves through (else the largest of the up, non-loopback links). */
export async function uplinkMtu(host: NetlinkHandle): Promise<number> {
  const routes = await host.routeList({ family: 4 });
  const dflt = routes.find((r) => r.dst === '0.0.0.0/0' && (r.ifindex !== undefined || r.multipath?.[0]?.ifindex !== undefined));
  const links = await host.linkList();
  const ix = dflt?.ifindex ?? dflt?.multipath?.[0]?.ifindex;
  const up = ix !== undefined ? links.find((l) => l.index === ix) : undefined;
  if (up) return up.mtu;
  const candidates = links.filter((l) => l.up && l.name !== 'lo' && l.kind !== 'veth');
  return candidates.length > 0 ? Math.max(...candidates.map((l) => l.mtu)) : DEFAULT_MTU;
}

export async function cniAdd(ctx: CniContext): Promise<CniResult> {
  const { env, cfg, conf } = ctx;
  const ctr = await ctx.containerNetlink();
  const host = await ctx.netlink({ current: true });
  const hostIface = workloadIface(attachmentKey(env.containerID, env.ifname));
  const key = endpointKey(cfg, env);
  const undo: (() => Promise<unknown>)[] = [];
  try {
    const mtuP = cfg.mtu !== undefined ? Promise.resolve(cfg.mtu) : uplinkMtu(host);
    const addrs = await addressSource(conf, cfg, env, ctx.io.env, ctx.io.stdin, () => ctx.store());
    undo.push(() => addrs.release());
    const ips = await addrs.assign();
    ctx.io.mark?.('ipam');
    if (ips.ipv4 === undefined && ips.ipv6 === undefined) throw new CniError(CniCode.Internal, `IPAM (${cfg.ipam.type}) returned no address`);
    const mtu = await mtuP;
    // The endpoint is written while the veth is being made (its container MAC is known up front):
    // twill-node programs the policy meanwhile, and the routes and sysctls once the veth is there.
    // The network's profile goes first, so the endpoint is never programmed without it.
    const mac = workloadMac(attachmentKey(env.containerID, env.ifname));
    const ipNetworks = [ips.ipv4 && `${ips.ipv4}/32`, ips.ipv6 && `${ips.ipv6}/128`].filter((x): x is string => !!x);
    const wep = buildEndpoint(cfg, env, key, hostIface, ipNetworks, mac);
    const ds = await ctx.store();
    // (Deletes only this container's endpoint: safe whether or not the write below happened.)
    undo.push(() => deleteEndpoint(ds, key, env.containerID));
    const [plumbed, written] = await Promise.allSettled([
      plumbWorkload(host, ctr, { hostIface, ifname: env.ifname, mtu, mac, ...(ips.ipv4 ? { ipv4: ips.ipv4 } : {}), ...(ips.ipv6 ? { ipv6: ips.ipv6 } : {}) }).finally(() => ctx.io.mark?.('veth')),
      (async () => {
        if (!cfg.kubernetes) await ensureProfile(ds, cfg.network);
        const rev = await writeEndpoint(ds, wep);
        ctx.io.mark?.('endpoint');
        return rev;
      })(),
    ]);
    if (plumbed.status === 'fulfilled') undo.push(() => unplumbWorkload(host, hostIface));
    if (plumbed.status === 'rejected') throw plumbed.reason;
    if (written.status === 'rejected') throw written.reason;
    if (cfg.policySetupTimeoutMs > 0) {
      // twill-node hosting this call knows from its dataplane; else watch for status.programmed.
      await (ctx.io.waitProgrammed?.(wep, cfg.policySetupTimeoutMs) ?? waitProgrammed(ds, wep, written.value, cfg.policySetupTimeoutMs));
      ctx.io.mark?.('programmed');
    }

    const prev = conf.prevResult;
    const base = prev?.interfaces?.length ?? 0;
    const result: CniResult = {
      cniVersion: CNI_VERSION,
      interfaces: [...(prev?.interfaces ?? []), { name: hostIface, mac: HOST_VETH_MAC }, { name: env.ifname, mac: plumbed.value.mac, sandbox: env.netns }],
      ips: [
        ...(prev?.ips ?? []),
        ...(ips.ipv4 ? [{ address: `${ips.ipv4}/32`, gateway: WORKLOAD_GATEWAY4, interface: base + 1 }] : []),
        ...(ips.ipv6 ? [{ address: `${ips.ipv6}/128`, gateway: WORKLOAD_GATEWAY6, interface: base + 1 }] : []),
      ],
      routes: [
        ...(prev?.routes ?? []),
        ...(ips.ipv4 ? [{ dst: '0.0.0.0/0', gw: WORKLOAD_GATEWAY4 }] : []),
        ...(ips.ipv6 ? [{ dst: '::/0', gw: WORKLOAD_GATEWAY6 }] : []),
      ],
      dns: prev?.dns ?? (typeof conf.dns === 'object' && conf.dns !== null ? (conf.dns as CniResult['dns']) : {}),
    };
    return result;
  } catch (e) {
    for (const u of undo.reverse()) await u().catch(() => undefined);
    throw e;
  }
}
