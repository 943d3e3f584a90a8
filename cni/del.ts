// DEL: idempotent. The host veth (named from the container id, so no netns is needed) and the
// endpoint (only if it is this container's), then the addresses. Whatever is already gone is
// skipped; a container never seen costs one netlink call and two datastore reads.
import { attachmentKey, workloadIface } from '../src/workload/naming.js';
import { unplumbWorkload } from '../src/workload/plumb.js';
import { addressSource } from './addresses.js';
import { deleteEndpoint, endpointKey } from './endpoint.js';
import type { CniContext } from './context.js';

export async function cniDel(ctx: CniContext): Promise<void> {
  const { env, cfg, conf } = ctx;
  // The veth and the endpoint go side by side (either order is safe: twill-node drops a workload
  // interface it has no endpoint for); the addresses only after both, so no other container gets
  // one while this endpoint still names it.
  await Promise.all([
    ctx.netlink({ current: true }).then((host) => unplumbWorkload(host, workloadIface(attachmentKey(env.containerID, env.ifname)))),
    ctx.store().then((ds) => deleteEndpoint(ds, endpointKey(cfg, env), env.containerID)),
  ]);
  const addrs = await addressSource(conf, cfg, env, ctx.io.env, ctx.io.stdin, () => ctx.store());
  await addrs.release();
}
