// GC (CNI 1.1): every attachment of this network on this node that is not in
// `cni.dev/valid-attachments` loses its endpoint, its host veth and its addresses; host veths
// (`tw` + 13 hex) that no endpoint on this node names and no valid attachment owns — left by an
// ADD killed part-way — are deleted too.
import type { WorkloadEndpointResource } from '../src/api/types.js';
import { DEFAULT_IFACE_PREFIX, attachmentKey, workloadIface } from '../src/workload/naming.js';
import { unplumbWorkload } from '../src/workload/plumb.js';
import { execPlugin } from './delegate.js';
import { TWILL_IPAM } from './config.js';
import { ANN_CONTAINER, ANN_IFNAME, ANN_NETWORK, deleteEndpoint } from './endpoint.js';
import type { CniContext } from './context.js';
import { CniCode, CniError } from './protocol.js';

interface Attachment {
  containerID: string;
  ifname: string;
}

function validAttachments(v: unknown): Attachment[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new CniError(CniCode.InvalidNetworkConfig, '"cni.dev/valid-attachments" must be a list of {containerID, ifname}');
  return v.map((a) => {
    const r = a as Partial<Attachment> | null;
    if (!r || typeof r.containerID !== 'string' || typeof r.ifname !== 'string') {
      throw new CniError(CniCode.InvalidNetworkConfig, '"cni.dev/valid-attachments" entries must be {"containerID": string, "ifname": string}');
    }
    return { containerID: r.containerID, ifname: r.ifname };
  });
}

export async function cniGc(ctx: CniContext): Promise<void> {
  const { cfg, conf } = ctx;
  const valid = validAttachments(conf['cni.dev/valid-attachments']);
  const validKeys = new Set(valid.map((a) => `${a.containerID}\u0000${a.ifname}`));
  const validContainers = new Set(valid.map((a) => a.containerID));
  const ds = await ctx.store();
  const host = await ctx.netlink({ current: true });

  const { items } = await ds.list<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint' });
  for (const w of items) {
    const ann = w.metadata.annotations ?? {};
    const cid = ann[ANN_CONTAINER];
    const ifname = ann[ANN_IFNAME];
    if (ann[ANN_NETWORK] !== cfg.network || w.spec.node !== cfg.nodename || cid === undefined || ifname === undefined) continue;
    if (validKeys.has(`${cid}\u0000${ifname}`)) continue;
    await unplumbWorkload(host, workloadIface(attachmentKey(cid, ifname)));
    await deleteEndpoint(ds, { namespace: w.metadata.namespace ?? 'default', name: w.metadata.name, orchestrator: '', workload: '' }, cid);
  }

  // Host veths an ADD killed before it wrote the endpoint: ours by prefix and shape, not a valid
  // attachment's, and named by no endpoint on this node (of any network).
  const keep = new Set(valid.map((a) => workloadIface(attachmentKey(a.containerID, a.ifname))));
  for (const w of (await ds.list<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint' })).items) if (w.spec.node === cfg.nodename) keep.add(w.spec.interfaceName);
  for (const l of await host.linkList()) {
    if (l.kind === 'veth' && l.name.length === 15 && l.name.startsWith(DEFAULT_IFACE_PREFIX) && !keep.has(l.name)) await unplumbWorkload(host, l.name);
  }

  if (cfg.ipam.type !== TWILL_IPAM) {
    await execPlugin(cfg.ipam.type, 'GC', ctx.io.env, ctx.io.stdin);
    return;
  }
  const { readIpamState, allAllocations } = await import('../ipam/state.js');
  const { Ipam } = await import('../ipam/ipam.js');
  const prefix = `${cfg.network}.`;
  const stale = new Set<string>();
  for (const a of allAllocations(await readIpamState(ds))) {
    if (a.handleID === undefined || !a.handleID.startsWith(prefix) || a.attrs.node !== cfg.nodename) continue;
    if (!validContainers.has(a.handleID.slice(prefix.length))) stale.add(a.handleID);
  }
  const ipam = new Ipam(ds);
  for (const h of stale) await ipam.releaseHandleIfExists(h);
}
