// STATUS (CNI 1.1): ready for ADDs when the datastore answers and twill-node is alive on this
// host (its health endpoint, unless "nodeHealth" is ""). Otherwise error 50 saying which.
import type { CniContext } from './context.js';
import { CniCode, CniError } from './protocol.js';

async function liveness(url: string): Promise<boolean> {
  try {
    const r = await fetch(`${url.replace(/\/$/, '')}/liveness`, { signal: AbortSignal.timeout(2000) });
    return r.ok;
  } catch {
    return false;
  }
}

export async function cniStatus(ctx: CniContext): Promise<void> {
  const { cfg } = ctx;
  try {
    const ds = await ctx.store();
    await ds.list({ kind: 'IPPool' });
  } catch (e) {
    throw new CniError(
      CniCode.NotAvailable,
      `twill-cni cannot take ADDs: the datastore ${cfg.datastore} is unreachable (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`,
      'hint: check that etcd is running and reachable from this host, and the "datastore" setting',
    );
  }
  if (cfg.nodeHealth !== '' && !(await (ctx.io.nodeAlive ?? liveness)(cfg.nodeHealth))) {
    throw new CniError(
      CniCode.NotAvailable,
      `twill-cni cannot take ADDs: twill-node is not running on this host (${cfg.nodeHealth}/liveness did not answer)`,
      'hint: start twill-node (with --health-port matching "nodeHealth"), or set "nodeHealth": "" to skip this check',
    );
  }
}
