// The fixed chains: the top chains the built-in chains jump to, workload-to-host, NAT outgoing,
// and the hooks themselves.

import type { EffectiveConfig, IpVersion, PoolState } from '../calc/types.js';
import { ChainBuilder, ruleHash, withComment } from './hash.js';
import { allBits, hex } from './marks.js';
import { CHAIN, ipsetName, POOL_SET_IDS } from './names.js';
import type { Chain, Hook, MarkBits, RenderedIpSet, TableName } from './types.js';

/** ICMPv6 types of neighbour / router discovery and MLD (RFC 4861, 2710): a workload needs them with its host. */
export const NDP_ICMPV6_TYPES: readonly number[] = [130, 131, 132, 133, 135, 136];

/** filter: tw-FORWARD, tw-INPUT, tw-OUTPUT, tw-wl-to-host. */
export function filterTopChains(config: EffectiveConfig, marks: MarkBits, family: IpVersion): Chain[] {
  const wl = `${config.interfacePrefix}+`;
  const acc = `${hex(marks.accept)}/${hex(marks.accept)}`;
  const forward = new ChainBuilder(CHAIN.forward)
    .add(`-j MARK --set-xmark 0x0/${hex(allBits(marks))}`)
    .add(`-i ${wl} -j ${CHAIN.fromWlDispatch}`)
    .add(`-o ${wl} -j ${CHAIN.toWlDispatch}`)
    .add(`-m mark --mark ${acc} -j ACCEPT`);
  const input = new ChainBuilder(CHAIN.input).add(`-i ${wl} -g ${CHAIN.wlToHost}`);
  const action =
    config.defaultEndpointToHostAction === 'Accept'
      ? 'ACCEPT'
      : config.defaultEndpointToHostAction === 'Return'
        ? 'RETURN'
        : 'DROP';
  const wlToHost = new ChainBuilder(CHAIN.wlToHost);
  if (family === 6) {
    // Without neighbour discovery with its host an IPv6 workload reaches nothing, whatever policy says.
    for (const t of NDP_ICMPV6_TYPES) wlToHost.add(`-p ipv6-icmp -m icmp6 --icmpv6-type ${t} -j ACCEPT`);
  }
  wlToHost.add(`-j ${CHAIN.fromWlDispatch}`).add(`-j ${action}`);
  // Host → local workloads is not policed (as in Calico: kubelet probes must work).
  const output = new ChainBuilder(CHAIN.output).add(`-o ${wl} -j RETURN`);
  return [forward.build(), input.build(), output.build(), wlToHost.build()];
}

/** nat: tw-POSTROUTING → tw-nat-outgoing (MASQUERADE from natOutgoing pools to outside all pools). */
export function natChains(pools: Iterable<PoolState>, family: IpVersion): Chain[] {
  const post = new ChainBuilder(CHAIN.postrouting).add(`-j ${CHAIN.natOutgoing}`);
  const nat = new ChainBuilder(CHAIN.natOutgoing);
  if ([...pools].some((p) => p.family === family && p.natOutgoing)) {
    nat.add(
      `-m set --match-set ${ipsetName(POOL_SET_IDS.masq, family)} src ` +
        `-m set ! --match-set ${ipsetName(POOL_SET_IDS.all, family)} dst -j MASQUERADE`,
    );
  }
  return [post.build(), nat.build()];
}

export function poolSets(pools: Iterable<PoolState>, family: IpVersion): RenderedIpSet[] {
  const list = [...pools].filter((p) => p.family === family);
  const members = (ps: PoolState[]): string[] => [...new Set(ps.map((p) => p.cidr))].sort();
  const sets: RenderedIpSet[] = [
    { name: ipsetName(POOL_SET_IDS.all, family), family, type: 'hash:net', members: members(list) },
    { name: ipsetName(POOL_SET_IDS.masq, family), family, type: 'hash:net', members: members(list.filter((p) => p.natOutgoing)) },
  ];
  return sets.sort((a, b) => (a.name < b.name ? -1 : 1));
}

function hook(table: TableName, chain: string, target: string): Hook {
  const text = `-j ${target}`;
  const hash = ruleHash(chain, '', text);
  return { table, chain, spec: withComment(hash, text), hash };
}

export function hooks(): Hook[] {
  return [
    hook('filter', 'FORWARD', CHAIN.forward),
    hook('filter', 'INPUT', CHAIN.input),
    hook('filter', 'OUTPUT', CHAIN.output),
    hook('nat', 'POSTROUTING', CHAIN.postrouting),
  ];
}
