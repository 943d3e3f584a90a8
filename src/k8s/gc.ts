// IPAM garbage collection for pods that no longer exist. One pass (run periodically by the
// leader once its pod cache is complete; tests drive it with their own clock):
//
// 1. A WorkloadEndpoint twill-cni wrote for a pod (orchestrator k8s, spec.pod) whose pod is not
//    in the cluster is remembered from the first pass that saw it so; once it has been gone for
//    the grace period its endpoint is deleted (compare-and-swap on the revision seen, so an
//    endpoint rewritten meanwhile stays) — the CNI DEL that would have done it never came (the
//    node died, the runtime lost the sandbox).
// 2. ipam's gcPass then releases allocations that no endpoint uses. For the addresses of the
//    endpoints just deleted, the grace period already ran while the pod was gone, so their
//    unused-since time is the pod's gone-since time: they are released in this same pass
//    (guarded by their sequence number, as gcPass always does). Other unused allocations (an
//    ADD in progress, a workload outside Kubernetes) wait gcPass's grace period as usual.
//
// A restarted controller starts the grace period again: that only delays collection.
import { formatIp, parseCidr } from '../api/cidr.js';
import type { WorkloadEndpointResource } from '../api/types.js';
import { ConflictError, NotFoundError } from '../datastore/errors.js';
import type { Datastore } from '../datastore/types.js';
import { allAllocations, gcPass, newGcState, readIpamState, type GcResult, type GcState } from '../../ipam/index.js';

export interface PodGcResult extends GcResult {
  /** Endpoints of gone pods deleted this pass ("ns/name"). */
  endpointsDeleted: string[];
  /** Endpoints whose pod is gone but still inside the grace period. */
  podsWaiting: number;
}

function ipOf(net: string): string | undefined {
  try {
    return formatIp(parseCidr(net, { allowBare: true, strict: false }));
  } catch {
    return undefined;
  }
}

export class PodGc {
  /** "ns/endpoint-name" → when a pass first saw its pod gone (ms). */
  private readonly goneSince = new Map<string, number>();
  private readonly state: GcState = newGcState();

  constructor(
    private readonly ds: Datastore,
    private readonly graceMs: number,
    /** Does the pod exist in the cluster (from a complete cache)? */
    private readonly podExists: (namespace: string, name: string) => boolean,
  ) {}

  async pass(now: number): Promise<PodGcResult> {
    const s = await readIpamState(this.ds);
    const seen = new Set<string>();
    const collected: { wep: WorkloadEndpointResource; since: number }[] = [];
    let podsWaiting = 0;
    for (const w of s.workloadEndpoints) {
      const pod = w.spec.pod;
      if (w.spec.orchestrator !== 'k8s' || pod === undefined) continue;
      const ns = w.metadata.namespace ?? 'default';
      if (this.podExists(ns, pod)) continue;
      const key = `${ns}/${w.metadata.name}`;
      seen.add(key);
      const since = this.goneSince.get(key) ?? now;
      this.goneSince.set(key, since);
      if (now - since < this.graceMs) {
        podsWaiting++;
        continue;
      }
      try {
        await this.ds.delete({ kind: 'WorkloadEndpoint', namespace: ns, name: w.metadata.name }, { revision: w.metadata.resourceVersion ?? '' });
        collected.push({ wep: w, since });
        this.goneSince.delete(key);
      } catch (e) {
        if (!(e instanceof ConflictError) && !(e instanceof NotFoundError)) throw e;
      }
    }
    for (const k of [...this.goneSince.keys()]) if (!seen.has(k)) this.goneSince.delete(k);

    // The collected endpoints' addresses have been unused since their pod went.
    if (collected.length > 0) {
      const sinceByIp = new Map<string, { since: number; containerID: string | undefined }>();
      for (const c of collected) for (const n of c.wep.spec.ipNetworks) {
        const ip = ipOf(n);
        if (ip !== undefined) sinceByIp.set(ip, { since: c.since, containerID: c.wep.spec.containerID });
      }
      for (const a of allAllocations(s)) {
        const m = sinceByIp.get(a.ip);
        if (m === undefined) continue;
        // Only the gone pod's own allocation (twill-cni's handle is "<network>.<containerID>").
        if (m.containerID !== undefined && a.handleID !== undefined && !a.handleID.endsWith(`.${m.containerID}`)) continue;
        const key = `${a.ip}#${a.handleID ?? ''}#${a.sequence}`;
        this.state.unusedSince.set(key, Math.min(this.state.unusedSince.get(key) ?? m.since, m.since));
      }
    }
    const r = await gcPass(this.ds, this.state, now, { graceMs: this.graceMs });
    return { ...r, endpointsDeleted: collected.map((c) => `${c.wep.metadata.namespace ?? 'default'}/${c.wep.metadata.name}`), podsWaiting };
  }
}
