// The local API's Verify: felix's kernel comparison (felix/dataplane verifyKernel) and the BGP
// one (bgp/agent diffBgp, fed with the speaker's view and a fresh dump of the main table: the BGP
// protocol's routes, and the others its next hops resolve through), as one report. Wiring only; reads, never writes.
import { diffBgp } from '../../bgp/agent/index.js';
import type { NeighborConfig, PeerStatus, RouteQuery, RouteView } from '../../bgp/server/types.js';
import type { KernelDiff } from '../../felix/dataplane/index.js';
import { errorMessage } from '../errors.js';
import { RT_TABLE_MAIN, RTPROT_TWILL_BGP, type NetlinkHandle } from '../netlink/index.js';
import type { NodeVerifyReport } from '../nodeapi/types.js';

export interface VerifySources {
  nodeName: string;
  /** felix: is the desired state complete, and the comparison itself. */
  policy: { inSync(): boolean; verifyKernel(): Promise<KernelDiff> };
  /** The BGP side; absent with --no-bgp. */
  bgp?: {
    /** The configuration's neighbours; undefined while the speaker has no configuration. */
    neighbors(): readonly NeighborConfig[] | undefined;
    peers(): Promise<PeerStatus[]>;
    routes(q: RouteQuery): Promise<RouteView[]>;
    typeOf(address: string): string | undefined;
  };
  /** For the BGP routes in the kernel (the speaker installs into table main). */
  netlink: NetlinkHandle;
}

export async function verifyNode(s: VerifySources): Promise<NodeVerifyReport> {
  const inSync = s.policy.inSync();
  const felix = await s.policy.verifyKernel();
  const notes: string[] = [];
  if (!inSync) notes.push('the agent is not in sync with the datastore yet: its desired state is incomplete, so differences are expected');
  const report: NodeVerifyReport = {
    nodeName: s.nodeName,
    inSync,
    differences: [...felix.differences],
    checked: { ...felix.checked, bgpSessions: 0, bgpRoutes: 0 },
    notes,
  };
  const neighbors = s.bgp?.neighbors();
  if (!s.bgp) notes.push('BGP: not checked (twill-node runs with --no-bgp)');
  else if (neighbors === undefined) notes.push('BGP: not checked (the speaker has no configuration: no Node resource or no BGP address for this node)');
  else {
    try {
      // One dump of the main table: the BGP protocol's routes, and the rest for next-hop resolution.
      const [peers, learned, main] = await Promise.all([s.bgp.peers(), s.bgp.routes({ table: 'loc', limit: 0 }), s.netlink.routeList({ table: RT_TABLE_MAIN })]);
      const kernel = main.filter((r) => r.protocol === RTPROT_TWILL_BGP);
      const b = diffBgp({ neighbors, peers, learned, kernel, underlay: main, typeOf: (a) => s.bgp?.typeOf(a) });
      report.differences.push(...b.differences);
      report.checked.bgpSessions = b.checked.bgpSessions;
      report.checked.bgpRoutes = b.checked.bgpRoutes;
    } catch (e) {
      notes.push(`BGP: not checked (the speaker did not answer: ${errorMessage(e)})`);
    }
  }
  return report;
}
