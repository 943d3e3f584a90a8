// Per-endpoint chains. to-workload (tw-tw-<iface>) applies ingress policy, from-workload
// (tw-fw-<iface>) egress policy:
//   accept replies (conntrack ESTABLISHED,RELATED), drop INVALID, clear the accept/pass marks;
//   per tier: clear pass, jump to each policy (skipped once pass is set), return as soon as the
//   accept mark is set; drop at the end of the tier unless a policy passed;
//   then the profiles in order (pass mark cleared before each, return when one accepts); then drop.
// With denied-packet logging on, each of those drops is preceded by a rate-limited NFLOG naming
// the tier / the endpoint (deny-log.ts).

import type { EndpointState, PolicyRef } from '../calc/types.js';
import { denyLogId, nflogTarget, type DeniedLogSettings } from './deny-log.js';
import { ChainBuilder } from './hash.js';
import { hex } from './marks.js';
import { endpointChain, policyChain, profileChain } from './names.js';
import type { Chain, MarkBits } from './types.js';

function tiers(refs: readonly PolicyRef[]): PolicyRef[][] {
  const out: PolicyRef[][] = [];
  for (const r of refs) {
    const last = out[out.length - 1];
    if (last !== undefined && last[0]!.tier === r.tier) last.push(r);
    else out.push([r]);
  }
  return out;
}

export function endpointDirectionChain(ep: EndpointState, dir: 'to' | 'from', marks: MarkBits, denyLog?: DeniedLogSettings): Chain {
  const b = new ChainBuilder(endpointChain(ep.interfaceName, dir));
  const acc = `${hex(marks.accept)}/${hex(marks.accept)}`;
  const pass = hex(marks.pass);
  b.add('-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT');
  b.add('-m conntrack --ctstate INVALID -j DROP');
  b.add(`-j MARK --set-xmark 0x0/${hex((marks.accept | marks.pass) >>> 0)}`);
  const policyDir = dir === 'to' ? 'in' : 'out';
  const direction = dir === 'to' ? 'ingress' : 'egress';
  const iface = ep.interfaceName;
  const refs = dir === 'to' ? ep.ingressPolicies : ep.egressPolicies;
  for (const tier of tiers(refs)) {
    b.add(`-j MARK --set-xmark 0x0/${pass}`);
    for (const r of tier) {
      b.add(`-m mark --mark 0x0/${pass} -j ${policyChain(r.id, policyDir)}`);
      b.add(`-m mark --mark ${acc} -j RETURN`);
    }
    const tierEnd = `-m mark --mark 0x0/${pass}`;
    if (denyLog) b.add(`${tierEnd} ${nflogTarget(denyLogId({ kind: 'end-of-tier', tier: tier[0]!.tier, interfaceName: iface, direction }), denyLog)}`);
    b.add(`${tierEnd} -j DROP`);
  }
  const tierCount = tiers(refs).length;
  ep.profileIds.forEach((id, i) => {
    // A Pass of the last tier or of the previous profile leaves the pass mark set, and a profile
    // chain RETURNs on it after each of its own Pass rules: clear it, or that profile ends at
    // its first Pass rule whether that rule matched or not.
    if (i > 0 || tierCount > 0) b.add(`-j MARK --set-xmark 0x0/${pass}`);
    b.add(`-j ${profileChain(id, policyDir)}`);
    b.add(`-m mark --mark ${acc} -j RETURN`);
  });
  if (denyLog) b.add(nflogTarget(denyLogId({ kind: 'no-profile-allowed', interfaceName: iface, direction }), denyLog));
  b.add('-j DROP');
  return b.build();
}

export function endpointChains(ep: EndpointState, marks: MarkBits, denyLog?: DeniedLogSettings): Chain[] {
  return [endpointDirectionChain(ep, 'to', marks, denyLog), endpointDirectionChain(ep, 'from', marks, denyLog)];
}

/**
 * The endpoint's chains in one IP family. An endpoint with no address in that family carries
 * nothing in it: its chains there only drop. They still exist (dispatch names every interface
 * in both families), but they no longer depend on policy, so a policy or label change never
 * rewrites them — on nf_tables every chain write costs a whole-table commit.
 */
export function endpointChainsFor(ep: EndpointState, family: 4 | 6, marks: MarkBits, denyLog?: DeniedLogSettings): Chain[] {
  const nets = family === 4 ? ep.ipv4Nets : ep.ipv6Nets;
  if (nets.length > 0) return endpointChains(ep, marks, denyLog);
  return (['to', 'from'] as const).map((dir) => {
    const b = new ChainBuilder(endpointChain(ep.interfaceName, dir));
    b.add('-j DROP');
    return b.build();
  });
}
