// What /readiness answers for one twill-node, from the policy agent's status.
import type { FelixAgentStatus } from '../../felix/agent.js';

export interface Readiness {
  ready: boolean;
  detail: object;
}

/** Why the agent is not ready; empty when it is. `twillctl node status` shows the same list. */
export function readinessReasons(s: FelixAgentStatus): string[] {
  const reasons: string[] = [];
  if (s.syncer.status === 'error') reasons.push(`datastore syncer: ${s.syncer.detail ?? 'error'}`);
  if (!s.dataplane.ready) reasons.push(s.dataplane.failing.length > 0 ? 'dataplane writes keep failing' : 'dataplane not programmed yet');
  return reasons;
}

/**
 * Ready: the dataplane is programmed with nothing failing, and the datastore syncer is not in
 * error (while it is, the kernel keeps its last state but the agent no longer sees changes).
 * Objects the agent fails closed on do not make it unready: they are listed by key in badObjects.
 */
export function readiness(s: FelixAgentStatus): Readiness {
  const reasons = readinessReasons(s);
  return {
    ready: reasons.length === 0,
    detail: {
      ...(reasons.length > 0 ? { reasons } : {}),
      inSync: s.inSync,
      syncer: s.syncer.status,
      localEndpoints: s.localEndpoints,
      programmedEndpoints: s.programmedEndpoints,
      failing: s.dataplane.failing,
      badObjects: s.badObjects,
    },
  };
}
