// CHECK: the attachment is still as ADD left it — addresses held by IPAM, veth and container
// routes in place, the endpoint in the datastore naming this interface and these addresses.
import type { WorkloadEndpointResource } from '../src/api/types.js';
import { attachmentKey, workloadIface } from '../src/workload/naming.js';
import { inspectWorkload } from '../src/workload/plumb.js';
import { addressSource } from './addresses.js';
import { endpointKey } from './endpoint.js';
import type { CniContext } from './context.js';
import { CniCode, CniError } from './protocol.js';

export async function cniCheck(ctx: CniContext): Promise<void> {
  const { env, cfg, conf } = ctx;
  const prev = conf.prevResult;
  if (!prev || !Array.isArray(prev.ips)) throw new CniError(CniCode.InvalidNetworkConfig, 'CHECK needs "prevResult" (the result of ADD) in the configuration');
  const hostIface = workloadIface(attachmentKey(env.containerID, env.ifname));
  // Our addresses: those on the interface named CNI_IFNAME inside the sandbox.
  const ifIndex = (prev.interfaces ?? []).findIndex((i) => i.name === env.ifname && i.sandbox !== undefined && i.sandbox !== '');
  const mine = prev.ips.filter((ip) => ifIndex < 0 || ip.interface === undefined || ip.interface === ifIndex);
  const bare = (a: string): string => a.split('/')[0] ?? a;
  const ipv4 = mine.map((i) => bare(i.address)).find((a) => !a.includes(':'));
  const ipv6 = mine.map((i) => bare(i.address)).find((a) => a.includes(':'));
  const req = { hostIface, ifname: env.ifname, mtu: 0, ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) };
  const problems = await inspectWorkload(await ctx.netlink({ current: true }), await ctx.containerNetlink(), req);

  const addrs = await addressSource(conf, cfg, env, ctx.io.env, ctx.io.stdin, () => ctx.store());
  const held = await addrs.held();
  if (held !== undefined) {
    for (const a of [ipv4, ipv6]) {
      if (a !== undefined && !held.includes(a)) {
        throw new CniError(CniCode.AllocationMismatch, `address ${a} of container ${env.containerID} is not allocated to it in IPAM (it holds ${held.join(', ') || 'nothing'})`);
      }
    }
  }
  const key = endpointKey(cfg, env);
  const ds = await ctx.store();
  const wep = await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: key.namespace, name: key.name });
  if (!wep) problems.push(`workload endpoint ${key.namespace}/${key.name} does not exist`);
  else {
    if (wep.spec.interfaceName !== hostIface) problems.push(`workload endpoint ${key.name} names interface ${wep.spec.interfaceName}, expected ${hostIface}`);
    const want = [ipv4 && `${ipv4}/32`, ipv6 && `${ipv6}/128`].filter((x): x is string => !!x).sort();
    const have = [...wep.spec.ipNetworks].sort();
    if (want.join(',') !== have.join(',')) problems.push(`workload endpoint ${key.name} lists ${have.join(', ')}, expected ${want.join(', ')}`);
    if (wep.spec.node !== cfg.nodename) problems.push(`workload endpoint ${key.name} is on node ${wep.spec.node}, expected ${cfg.nodename}`);
  }
  if (problems.length > 0) {
    throw new CniError(CniCode.CheckFailed, `container ${env.containerID} (${env.ifname}) is not as ADD left it: ${problems.join('; ')}`, 'hint: delete and re-create the container (DEL then ADD)');
  }
}
