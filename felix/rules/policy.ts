// Policy and profile chains: one chain per policy (or profile) and direction. Allow sets the
// accept mark and returns, Pass sets the pass mark and returns, Deny drops (after a rate-limited
// NFLOG naming the rule when denied-packet logging is on), Log logs and goes on.

import type { CalcRule, IpVersion, PolicyState, ProfileState } from '../calc/types.js';
import { denyLogId, nflogTarget, type DeniedLogSettings, type DenyDirection } from './deny-log.js';
import { ChainBuilder } from './hash.js';
import { hex } from './marks.js';
import { ruleMatches } from './match.js';
import { policyChain, profileChain } from './names.js';
import type { Chain, MarkBits } from './types.js';

export interface RuleContext {
  family: IpVersion;
  marks: MarkBits;
  logPrefix: string;
  /** Denied-packet logging; absent: off (no NFLOG rule anywhere). */
  denyLog?: DeniedLogSettings | undefined;
}

/** Whose rules these are, for the NFLOG prefix of their Deny rules. */
export interface RuleOwner {
  /** "np/<ns>/<name>", "gnp/<name>", "prof/<name>". */
  id: string;
  direction: DenyDirection;
}

function join(...parts: string[]): string {
  return parts.filter((p) => p !== '').join(' ');
}

export function renderRules(b: ChainBuilder, rules: readonly CalcRule[], ctx: RuleContext, owner: RuleOwner): void {
  const { accept, pass } = ctx.marks;
  for (const [index, rule] of rules.entries()) {
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
      case 'Deny': {
        const log = ctx.denyLog;
        const id = log ? denyLogId({ kind: 'rule', policy: owner.id, index, direction: owner.direction }) : '';
        for (const m of alts) {
          if (log) b.add(join(m, nflogTarget(id, log)));
          b.add(join(m, '-j DROP'));
        }
        break;
      }
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
    renderRules(b, p.ingress, ctx, { id: p.id, direction: 'ingress' });
    out.push(b.build());
  }
  if (p.egress !== undefined) {
    const b = new ChainBuilder(policyChain(p.id, 'out'));
    renderRules(b, p.egress, ctx, { id: p.id, direction: 'egress' });
    out.push(b.build());
  }
  return out;
}

export function profileChains(p: ProfileState, ctx: RuleContext): Chain[] {
  const bi = new ChainBuilder(profileChain(p.id, 'in'));
  renderRules(bi, p.ingress, ctx, { id: p.id, direction: 'ingress' });
  const bo = new ChainBuilder(profileChain(p.id, 'out'));
  renderRules(bo, p.egress, ctx, { id: p.id, direction: 'egress' });
  return [bi.build(), bo.build()];
}
