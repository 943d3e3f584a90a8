// Prefix policies (import and export filters) compiled to a fast matcher. Rules are tried in
// order, the first match decides; a rule matches prefixes inside its prefix whose length lies in
// [ge, le] (prefix-list semantics, see PrefixRule in bgp/server/types.ts).
import { TwillError } from '../../src/errors.js';
import { AFI_IPV4, maskIpv4, maskIpv6InPlace, parsePrefix, type Prefix } from '../packet/index.js';
import type { PrefixPolicy } from '../server/types.js';

export class PolicyError extends TwillError {
  constructor(message: string, hint?: string) {
    super('BgpPolicyInvalid', message, hint ? { hint } : undefined);
  }
}

interface CompiledRule {
  readonly afi: number;
  readonly v4: number;
  readonly v6: Buffer | undefined;
  readonly len: number;
  readonly ge: number;
  readonly le: number;
  readonly accept: boolean;
  readonly text: string;
}

export class CompiledPolicy {
  /** True when no rule exists: the answer is always `defaultAccept`. */
  readonly constant: boolean;

  /** Identifies the policy's content: equal keys (and labels) = same decisions. */
  readonly key: string;

  constructor(
    private readonly rules: readonly CompiledRule[],
    readonly defaultAccept: boolean,
    /** Where the policy came from, for reasons ("import policy", "RFC 8212 default"). */
    readonly label: string,
  ) {
    this.constant = rules.length === 0;
    this.key = `${defaultAccept ? 'accept' : 'reject'}|${rules.map((r) => r.text).join(';')}`;
  }

  accepts(p: Prefix): boolean {
    if (this.constant) return this.defaultAccept;
    const r = this.match(p);
    return r ? r.accept : this.defaultAccept;
  }

  /** Why the policy decided as it did, e.g. "rejected by import policy rule 10.0.0.0/8 le 32". */
  reason(p: Prefix): string {
    const r = this.match(p);
    if (r) return `${r.accept ? 'accepted' : 'rejected'} by ${this.label} rule ${r.text}`;
    return `${this.defaultAccept ? 'accepted' : 'rejected'} by ${this.label} default`;
  }

  private match(p: Prefix): CompiledRule | undefined {
    for (const r of this.rules) {
      if (r.afi !== p.afi || p.len < r.ge || p.len > r.le || p.len < r.len) continue;
      if (p.afi === AFI_IPV4) {
        if (maskIpv4(p.addr, r.len) === r.v4) return r;
      } else if (covers(r.v6!, r.len, p.addr)) {
        return r;
      }
    }
    return undefined;
  }
}

function covers(net: Buffer, len: number, addr: Buffer): boolean {
  const full = len >> 3;
  for (let i = 0; i < full; i++) if (net[i] !== addr[i]) return false;
  const rem = len & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return (net[full]! & mask) === (addr[full]! & mask);
}

export const ACCEPT_ALL = new CompiledPolicy([], true, 'default (accept)');
export const REJECT_ALL_RFC8212 = new CompiledPolicy([], false, 'RFC 8212 default for eBGP without a policy');

/** Compiles a policy; throws PolicyError naming the bad rule. */
export function compilePolicy(policy: PrefixPolicy, label: string): CompiledPolicy {
  if (policy.default !== 'accept' && policy.default !== 'reject') {
    throw new PolicyError(`${label}: default must be "accept" or "reject", not ${JSON.stringify(policy.default)}`);
  }
  const rules = (policy.rules ?? []).map((r, i): CompiledRule => {
    let p: Prefix;
    try {
      p = parsePrefix(r.prefix);
    } catch {
      throw new PolicyError(`${label} rule ${i + 1}: "${r.prefix}" is not a prefix`, 'write it like 10.0.0.0/8 or 2001:db8::/32');
    }
    const max = p.afi === AFI_IPV4 ? 32 : 128;
    const ge = r.ge ?? p.len;
    const le = r.le ?? (r.ge !== undefined ? max : p.len);
    if (!Number.isInteger(ge) || !Number.isInteger(le) || ge < p.len || le > max || ge > le) {
      throw new PolicyError(
        `${label} rule ${i + 1} (${r.prefix}): need ${p.len} <= ge <= le <= ${max}, got ge ${String(r.ge ?? '-')} le ${String(r.le ?? '-')}`,
      );
    }
    if (r.action !== 'accept' && r.action !== 'reject') {
      throw new PolicyError(`${label} rule ${i + 1} (${r.prefix}): action must be "accept" or "reject"`);
    }
    let v6: Buffer | undefined;
    if (p.afi !== AFI_IPV4) {
      v6 = Buffer.from(p.addr);
      maskIpv6InPlace(v6, 0, p.len);
    }
    const text = `${r.prefix}${r.ge !== undefined ? ` ge ${r.ge}` : ''}${r.le !== undefined ? ` le ${r.le}` : ''} ${r.action}`;
    return { afi: p.afi, v4: p.afi === AFI_IPV4 ? p.addr : 0, v6, len: p.len, ge, le, accept: r.action === 'accept', text };
  });
  return new CompiledPolicy(rules, policy.default === 'accept', label);
}
