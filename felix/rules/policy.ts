// Policy and profile chains: one chain per policy (or profile) and direction. Allow sets the
// accept mark and returns, Pass sets the pass mark and returns, Deny drops, Log logs and goes on.

import type { CalcRule, IpVersion, PolicyState, ProfileState } from '../calc/types.js';
import { ChainBuilder } from './hash.js';
import { hex } from './marks.js';
import { ruleMatches } from './match.js';
import { policyChain, profileChain } from './names.js';
import type { Chain, MarkBits } from './types.js';

export interface RuleContext {
  family: IpVersion;
  marks: MarkBits;
  logPrefix: string;
}

function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join(' ');
}

export function renderRules(b: ChainBuilder, rules: readonly CalcRule[], ctx: RuleContext): void {
  const { accept, pass } = ctx.marks;
  for (const rule of rules) {
    const alts = ruleMatches(rule, ctx.family);
    if (alts === undefined) continue;
    switch (rule.action) {
      case 'Allow':
        for (const m of alts) b.add(join(m, `-j MARK --set-xmark ${hex(accept)}/${hex(accept)}`));
        b.add(`-m mark --mark ${hex(accept)}/${hex(accept)} -j RETURN`);
        break;
      case 'Pass':
        for (const m of alts) b.add(join(m, `-j MARK --set-xmark ${hex(pass)}/${hex(pass)}`));
        b.add(`-m mark --mark ${hex(pass)}/${hex(pass)} -j RETURN`);
        break;
      case 'Deny':
        for (const m of alts) b.add(join(m, '-j DROP'));
        break;
      case 'Log':
        for (const m of alts) b.add(join(m, `-j LOG --log-prefix "${ctx.logPrefix}"`));
        break;
    }
  }
}

/** The chains of one policy: inbound when it has ingress rules in force, outbound likewise. */
export function policyChains(p: PolicyState, ctx: RuleContext): Chain[] {
  const out: Chain[] = [];
  if (p.ingress !== undefined) {
    const b = new ChainBuilder(policyChain(p.id, 'in'));
    renderRules(b, p.ingress, ctx);
    out.push(b.build());
  }
  if (p.egress !== undefined) {
    const b = new ChainBuilder(policyChain(p.id, 'out'));
    renderRules(b, p.egress, ctx);
    out.push(b.build());
  }
  return out;
}

export function profileChains(p: ProfileState, ctx: RuleContext): Chain[] {
  const bi = new ChainBuilder(profileChain(p.id, 'in'));
  renderRules(bi, p.ingress, ctx);
  const bo = new ChainBuilder(profileChain(p.id, 'out'));
  renderRules(bo, p.egress, ctx);
  return [bi.build(), bo.build()];
}
