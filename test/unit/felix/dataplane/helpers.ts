// Hand-made rendered chains for the reconciler tests (felix/rules makes the real ones).
import { createHash } from 'node:crypto';
import { hashComment } from '../../../../src/iptables/index.js';
import type { Chain, Hook, RenderedFamily, RenderedIpSet } from '../../../../felix/rules/types.js';

export function h16(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

/** A chain whose rules are the given iptables matches/targets (each gets a hash comment). */
export function chain(name: string, bodies: string[]): Chain {
  let prev = '';
  return {
    name,
    rules: bodies.map((b) => {
      const hash = h16(`${name}|${b}|${prev}`);
      prev = hash;
      return { hash, spec: `${hashComment(hash)} ${b}` };
    }),
  };
}

export function hook(table: 'filter' | 'nat', builtin: string, target: string): Hook {
  const hash = h16(`hook|${builtin}|${target}`);
  return { table, chain: builtin, hash, spec: `${hashComment(hash)} -j ${target}` };
}

export function family(o: { filter?: Chain[]; nat?: Chain[]; hooks?: Hook[]; ipsets?: RenderedIpSet[] }, fam: 4 | 6 = 4): RenderedFamily {
  return { family: fam, filter: o.filter ?? [], nat: o.nat ?? [], raw: [], mangle: [], hooks: o.hooks ?? [], ipsets: o.ipsets ?? [] };
}
