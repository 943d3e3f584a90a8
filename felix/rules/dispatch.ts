// Dispatch from interface name to the endpoint chains: a shallow tree keyed on the characters
// after the interfaces' common prefix (each rule costs per packet, so hundreds of interfaces in
// one flat chain are a tax). Every dispatch chain ends in DROP: an interface we do not know
// carries nothing until it is programmed.

import { MAX_CHAIN_NAME } from '../../src/iptables/naming.js';
import { ChainBuilder } from './hash.js';
import { CHAIN, endpointChain } from './names.js';
import type { Chain } from './types.js';

const MAX_DEPTH = 3;

function commonPrefixLength(xs: readonly string[]): number {
  if (xs.length === 0) return 0;
  let n = xs[0]!.length;
  for (const x of xs) {
    let i = 0;
    while (i < n && i < x.length && x[i] === xs[0]![i]) i++;
    n = i;
  }
  return n;
}

/** Is this usable as an interface name in a rule and a chain name? */
export function isValidInterfaceName(s: string): boolean {
  return s.length >= 1 && s.length <= 15 && !/[\s/"'!]/.test(s) && !s.startsWith('-');
}

/**
 * The dispatch chains for one direction. `ifaces` need not be sorted. Interfaces that are not
 * valid names are left out (so they hit the final DROP).
 */
export function dispatchChains(ifaces: readonly string[], dir: 'to' | 'from', fanout: number): Chain[] {
  const root = dir === 'to' ? CHAIN.toWlDispatch : CHAIN.fromWlDispatch;
  const flag = dir === 'to' ? '-o' : '-i';
  const sorted = [...new Set(ifaces.filter(isValidInterfaceName))].sort();
  const base = commonPrefixLength(sorted);
  const out: Chain[] = [];

  const build = (name: string, group: string[], depth: number): void => {
    const b = new ChainBuilder(name);
    const direct = (i: string): void => {
      b.add(`${flag} ${i} -g ${endpointChain(i, dir)}`);
    };
    if (group.length <= fanout || depth >= MAX_DEPTH) {
      group.forEach(direct);
    } else {
      const cp = commonPrefixLength(group);
      const groups = new Map<string, string[]>();
      const order: (string | { key: string })[] = [];
      for (const i of group) {
        if (i.length <= cp) {
          order.push(i);
          continue;
        }
        const key = i.slice(0, cp + 1);
        let g = groups.get(key);
        if (g === undefined) {
          g = [];
          groups.set(key, g);
          order.push({ key });
        }
        g.push(i);
      }
      for (const o of order) {
        if (typeof o === 'string') {
          direct(o);
          continue;
        }
        const members = groups.get(o.key)!;
        const sub = `${root}-${o.key.slice(base)}`;
        if (members.length === 1 || sub.length > MAX_CHAIN_NAME) {
          members.forEach(direct);
          continue;
        }
        b.add(`${flag} ${o.key}+ -g ${sub}`);
        build(sub, members, depth + 1);
      }
    }
    b.add('-j DROP');
    out.push(b.build());
  };
  build(root, sorted, 0);
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
