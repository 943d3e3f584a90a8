// Chain and ipset names. Everything Twill owns starts with "tw-" (chains) or "tw4-" / "tw6-"
// (ipsets); names derived from user-chosen names are hashed so they fit and never collide.

import { createHash } from 'node:crypto';
import { CHAIN_PREFIX, IPSET_PREFIX_V4, IPSET_PREFIX_V6, MAX_CHAIN_NAME, MAX_IPSET_NAME } from '../../src/iptables/naming.js';
import type { IpVersion } from '../calc/types.js';
import { RuleNameError } from './errors.js';

export const CHAIN = {
  forward: `${CHAIN_PREFIX}FORWARD`,
  input: `${CHAIN_PREFIX}INPUT`,
  output: `${CHAIN_PREFIX}OUTPUT`,
  postrouting: `${CHAIN_PREFIX}POSTROUTING`,
  wlToHost: `${CHAIN_PREFIX}wl-to-host`,
  toWlDispatch: `${CHAIN_PREFIX}to-wl-dispatch`,
  fromWlDispatch: `${CHAIN_PREFIX}from-wl-dispatch`,
  natOutgoing: `${CHAIN_PREFIX}nat-outgoing`,
} as const;

function hash20(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 20);
}

function checkChain(name: string): string {
  if (name.length > MAX_CHAIN_NAME) {
    throw new RuleNameError(`iptables chain name ${JSON.stringify(name)} is longer than ${MAX_CHAIN_NAME} characters`);
  }
  return name;
}

/** Policy chains: inbound (rules for traffic into the selected endpoints) and outbound. */
export function policyChain(id: string, dir: 'in' | 'out'): string {
  return checkChain(`${CHAIN_PREFIX}p${dir === 'in' ? 'i' : 'o'}-${hash20(id)}`);
}

export function profileChain(id: string, dir: 'in' | 'out'): string {
  return checkChain(`${CHAIN_PREFIX}pr${dir === 'in' ? 'i' : 'o'}-${hash20(id)}`);
}

/** Per-endpoint chains: to-workload (ingress) and from-workload (egress). */
export function endpointChain(iface: string, dir: 'to' | 'from'): string {
  if (iface.length > 15 || /[\s/]/.test(iface) || iface === '') {
    throw new RuleNameError(
      `interface name ${JSON.stringify(iface)} is not a valid Linux interface name (1-15 characters, no spaces or "/")`,
      'fix spec.interfaceName of the WorkloadEndpoint',
    );
  }
  return checkChain(`${CHAIN_PREFIX}${dir === 'to' ? 'tw' : 'fw'}-${iface}`);
}

export function ipsetName(id: string, family: IpVersion): string {
  const name = `${family === 4 ? IPSET_PREFIX_V4 : IPSET_PREFIX_V6}${id}`;
  if (name.length > MAX_IPSET_NAME) throw new RuleNameError(`ipset name ${JSON.stringify(name)} is longer than ${MAX_IPSET_NAME} characters`);
  return name;
}

/** The sets the nat-outgoing rule uses: pools with natOutgoing, and all pools. */
export const POOL_SET_IDS = { masq: 'masq-pools', all: 'all-pools' } as const;
