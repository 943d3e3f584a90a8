// DEL: idempotent. The host veth (named from the container id, so no netns is needed), then the
// endpoint (only if it is this container's), then the addresses. Whatever is already gone is
// skipped; a container never seen costs one netlink call and two datastore reads.
import { attachmentKey, workloadIface } from '../src/workload/naming.js';
import { unplumbWorkload } from '../src/workload/plumb.js';
import { addressSource } from './addresses.js';
import { deleteEndpoint, endpointKey } from './endpoint.js';
import type { CniContext } from './context.js';

export async function cniDel(ctx: CniContext): Promise<void> {
  const { env, cfg, conf } = ctx;
  const host = await ctx.netlink({ current: true });
  await unplumbWorkload(host, workloadIface(attachmentKey(env.containerID, env.ifname)));
  const ds = await ctx.store();
  await deleteEndpoint(ds, endpointKey(cfg, env), env.containerID);
  const addrs = await addressSource(conf, cfg, env, ctx.io.env, ctx.io.stdin, () => ctx.store());
  await addrs.release();
}
