// Denied-packet logging (FelixConfiguration logDeniedPackets): every drop that policy decides —
// a Deny rule, the end of a tier, no profile allowing — is preceded by a rate-limited NFLOG rule
// whose prefix is a short id of what decided. The id is a hash of that cause, so the same cause
// always gets the same id (across restarts and hosts); denyLogIndex maps ids back to causes for
// the reader (twill-node). iptables limits an NFLOG prefix to 64 characters; ours are 16.

import { createHash } from 'node:crypto';
import type { FelixConfigurationSpec } from '../../src/api/types.js';
import type { EndpointState, PolicyState, ProfileState } from '../calc/types.js';

export interface DeniedLogSettings {
  /** The NFLOG group the reader binds. */
  group: number;
  /** Logged packets per second per drop rule (iptables `-m limit --limit N/second`). */
  rate: number;
  /** `--limit-burst`. */
  burst: number;
}

/** What applies when FelixConfiguration leaves a field out. */
export const DENIED_LOG_DEFAULTS: Readonly<DeniedLogSettings> = { group: 20, rate: 10, burst: 20 };

/** The effective denied-packet log settings, or undefined while logging is off (the default). */
export function deniedLogSettings(c: FelixConfigurationSpec | undefined): DeniedLogSettings | undefined {
  if (c?.logDeniedPackets !== true) return undefined;
  return {
    group: c.logDeniedPacketsGroup ?? DENIED_LOG_DEFAULTS.group,
    rate: c.logDeniedPacketsRate ?? DENIED_LOG_DEFAULTS.rate,
    burst: c.logDeniedPacketsBurst ?? DENIED_LOG_DEFAULTS.burst,
  };
}

export type DenyDirection = 'ingress' | 'egress';

/** What decided a drop (the words of felix/explain's decidedBy). */
export type DenyCause =
  /** A Deny rule: "np/<ns>/<name>", "gnp/<name>" or "prof/<name>", its index as written. */
  | { kind: 'rule'; policy: string; index: number; direction: DenyDirection }
  /** A tier with policies for this endpoint where none allowed (or passed). */
  | { kind: 'end-of-tier'; tier: string; interfaceName: string; direction: DenyDirection }
  /** No tier decided and no profile of the endpoint allowed. */
  | { kind: 'no-profile-allowed'; interfaceName: string; direction: DenyDirection };

/** Every NFLOG prefix Twill writes starts with this. */
export const DENY_LOG_PREFIX = 'twd:';

/** The NFLOG prefix of a cause: "twd:" + 12 hex digits of SHA-256 over its canonical form. */
export function denyLogId(c: DenyCause): string {
  const canon =
    c.kind === 'rule'
      ? ['rule', c.policy, c.direction, String(c.index)]
      : c.kind === 'end-of-tier'
        ? ['end-of-tier', c.tier, c.interfaceName, c.direction]
        : ['no-profile-allowed', c.interfaceName, c.direction];
  return DENY_LOG_PREFIX + createHash('sha256').update(canon.join('\0'), 'utf8').digest('hex').slice(0, 12);
}

/** The rule text (after the match) that logs before a drop. */
export function nflogTarget(id: string, s: DeniedLogSettings): string {
  return `-m limit --limit ${s.rate}/second --limit-burst ${s.burst} -j NFLOG --nflog-group ${s.group} --nflog-prefix ${id}`;
}

/** One id, resolved: what the reader writes into its log line and metric. */
export interface DenyLogEntry {
  id: string;
  cause: DenyCause;
  /**
   * The policy that decided: "np/<ns>/<name>", "gnp/<name>", "prof/<name>", or for drops no
   * single policy made, "end-of-tier/<tier>" / "no-profile-allowed".
   */
  policy: string;
  /** Rule index (kind 'rule'). */
  rule: number | undefined;
  direction: DenyDirection;
  /**
   * The endpoint, when the id names one (end of tier, no profile). A rule's drop is shared by
   * every endpoint its policy applies to: the reader finds the endpoint from the packet's
   * interface instead.
   */
  endpoint: { namespace: string; name: string; interfaceName: string } | undefined;
}

function entry(cause: DenyCause, ep?: EndpointState): DenyLogEntry {
  return {
    id: denyLogId(cause),
    cause,
    policy: cause.kind === 'rule' ? cause.policy : cause.kind === 'end-of-tier' ? `end-of-tier/${cause.tier}` : 'no-profile-allowed',
    rule: cause.kind === 'rule' ? cause.index : undefined,
    direction: cause.direction,
    endpoint: ep ? { namespace: ep.namespace, name: ep.name, interfaceName: ep.interfaceName } : undefined,
  };
}

/** Every id the rendered chains can log, for the policies, profiles and endpoints given. */
export function denyLogIndex(
  endpoints: Iterable<EndpointState>,
  policies: Iterable<PolicyState>,
  profiles: Iterable<ProfileState>,
): Map<string, DenyLogEntry> {
  const out = new Map<string, DenyLogEntry>();
  const put = (e: DenyLogEntry): void => void out.set(e.id, e);
  const rules = (policy: string, list: readonly { action: string }[] | undefined, direction: DenyDirection): void => {
    list?.forEach((r, index) => {
      if (r.action === 'Deny') put(entry({ kind: 'rule', policy, index, direction }));
    });
  };
  for (const p of policies) {
    rules(p.id, p.ingress, 'ingress');
    rules(p.id, p.egress, 'egress');
  }
  for (const p of profiles) {
    rules(p.id, p.ingress, 'ingress');
    rules(p.id, p.egress, 'egress');
  }
  for (const ep of endpoints) {
    for (const direction of ['ingress', 'egress'] as const) {
      const refs = direction === 'ingress' ? ep.ingressPolicies : ep.egressPolicies;
      for (const tier of new Set(refs.map((r) => r.tier))) put(entry({ kind: 'end-of-tier', tier, interfaceName: ep.interfaceName, direction }, ep));
      put(entry({ kind: 'no-profile-allowed', interfaceName: ep.interfaceName, direction }, ep));
    }
  }
  return out;
}
