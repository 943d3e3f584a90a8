// Applying one received UPDATE to the RIB: withdrawals, then announcements — or, when RFC 7606
// says treat-as-withdraw, the announced prefixes withdrawn instead. Attribute sets are interned
// by their received octets (see attr-set.ts), so the decoded attributes are used only the first
// time a set is seen.
import type { CodecContext, DecodeResult, UpdateMessage } from '../packet/index.js';
import { receivedKey } from './attr-set.js';
import type { Source } from './path.js';
import type { CompiledPolicy } from './policy.js';
import type { Rib } from './rib.js';

export interface UpdateApplied {
  /** Set when the UPDATE was treated as a withdrawal: how many prefixes were actually removed. */
  readonly treatedAsWithdraw: { readonly announced: number; readonly removed: number } | undefined;
}

export function applyUpdate(
  rib: Rib,
  src: Source,
  r: DecodeResult & { readonly message: UpdateMessage },
  policy: CompiledPolicy,
  ctx: CodecContext,
): UpdateApplied {
  const m = r.message;
  if (m.withdrawn.length > 0) rib.withdraw(src, m.withdrawn);
  if (m.mpUnreach && m.mpUnreach.withdrawn.length > 0) rib.withdraw(src, m.mpUnreach.withdrawn);
  const reach = m.mpReach;
  if (r.treatAsWithdraw) {
    let removed = rib.withdraw(src, m.nlri);
    if (reach) removed += rib.withdraw(src, reach.nlri);
    return { treatedAsWithdraw: { announced: m.nlri.length + (reach?.nlri.length ?? 0), removed } };
  }
  if (m.nlri.length === 0 && (!reach || reach.nlri.length === 0)) return { treatedAsWithdraw: undefined };
  const tag = `${ctx.fourOctetAs ? 4 : 2}${ctx.ebgp ? 'e' : 'i'}`;
  const raw = m.rawAttrs ?? Buffer.alloc(0);
  if (m.nlri.length > 0) {
    const set = rib.store.intern(receivedKey(raw, tag, undefined), () => m.attrs);
    rib.announce(src, m.nlri, set, policy);
  }
  if (reach && reach.nlri.length > 0) {
    const set = rib.store.intern(receivedKey(raw, tag, reach.nextHop), () => ({ ...m.attrs, nextHop: reach.nextHop }));
    rib.announce(src, reach.nlri, set, policy);
  }
  return { treatedAsWithdraw: undefined };
}
