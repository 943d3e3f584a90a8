// Applying one received UPDATE to the RIB: withdrawals, then announcements — or, when RFC 7606
// says treat-as-withdraw, the announced prefixes withdrawn instead. Attribute sets are interned
// by their received octets (see attr-set.ts), so the decoded attributes are used only the first
// time a set is seen.
//
// ADD-PATH receive (RFC 7911): the session has one Source per path identifier, so the Adj-RIB-In
// is keyed by (prefix, path id) and several paths of one prefix from one peer live side by side.
// Graceful restart (RFC 4724): `replaces` are the stale sources of the peer's previous session;
// what the new session announces or withdraws replaces their paths prefix by prefix.
import type { CodecContext, DecodeResult, Prefix, UpdateMessage } from '../packet/index.js';
import { receivedKey } from './attr-set.js';
import type { Source } from './path.js';
import type { CompiledPolicy } from './policy.js';
import type { Admit, Rib } from './rib.js';

export interface UpdateApplied {
  /** Set when the UPDATE was treated as a withdrawal: how many prefixes were actually removed. */
  readonly treatedAsWithdraw: { readonly announced: number; readonly removed: number } | undefined;
  /** Announced prefixes new to the peer that `admit` refused (a prefix limit). */
  readonly refused: number;
}

/** The session's source for an ADD-PATH path id (made on first use). */
export type SourceOf = (pathId: number) => Source;

export function applyUpdate(
  rib: Rib,
  src: Source | SourceOf,
  r: DecodeResult & { readonly message: UpdateMessage },
  policy: CompiledPolicy,
  ctx: CodecContext,
  replaces?: readonly Source[],
  admit?: Admit,
): UpdateApplied {
  const m = r.message;
  const rep = replaces && replaces.length > 0 ? replaces : undefined;
  const withdraw = (ps: readonly Prefix[]): number => {
    if (ps.length === 0) return 0;
    if (typeof src !== 'function') return rib.withdraw(src, ps, rep);
    let n = 0;
    for (const [id, list] of byPathId(ps)) n += rib.withdraw(src(id), list, rep);
    return n;
  };
  withdraw(m.withdrawn);
  if (m.mpUnreach) withdraw(m.mpUnreach.withdrawn);
  const reach = m.mpReach;
  if (r.treatAsWithdraw) {
    let removed = withdraw(m.nlri);
    if (reach) removed += withdraw(reach.nlri);
    return { treatedAsWithdraw: { announced: m.nlri.length + (reach?.nlri.length ?? 0), removed }, refused: 0 };
  }
  if (m.nlri.length === 0 && (!reach || reach.nlri.length === 0)) return { treatedAsWithdraw: undefined, refused: 0 };
  const tag = `${ctx.fourOctetAs ? 4 : 2}${ctx.ebgp ? 'e' : 'i'}`;
  const raw = m.rawAttrs ?? Buffer.alloc(0);
  let refused = 0;
  const announce = (ps: readonly Prefix[], set: ReturnType<Rib['store']['intern']>): void => {
    if (typeof src !== 'function') {
      refused += rib.announce(src, ps, set, policy, rep, admit);
      return;
    }
    for (const [id, list] of byPathId(ps)) refused += rib.announce(src(id), list, set, policy, rep, admit);
  };
  if (m.nlri.length > 0) {
    const set = rib.store.intern(receivedKey(raw, tag, undefined), () => m.attrs);
    announce(m.nlri, set);
  }
  if (reach && reach.nlri.length > 0) {
    const set = rib.store.intern(receivedKey(raw, tag, reach.nextHop), () => ({ ...m.attrs, nextHop: reach.nextHop }));
    announce(reach.nlri, set);
  }
  return { treatedAsWithdraw: undefined, refused };
}

function byPathId(ps: readonly Prefix[]): Map<number, Prefix[]> {
  const out = new Map<number, Prefix[]>();
  for (const p of ps) {
    let l = out.get(p.pathId);
    if (!l) out.set(p.pathId, (l = []));
    l.push(p);
  }
  return out;
}
