// The kinds registry: how users may name each kind on the command line (singular, plural, short
// names as calicoctl knows them), and whether it is namespaced or internal.

import { TwillError } from '../errors.js';
import { INTERNAL_KINDS, isNamespaced, PUBLIC_KINDS, type Kind, type PublicKind } from './types.js';
import { closest } from './suggest.js';

export interface KindInfo {
  kind: Kind;
  /** Lower-case plural, e.g. "networkpolicies". */
  plural: string;
  /** Lower-case short names, e.g. ["np", "netpol"]. */
  shortNames: string[];
  namespaced: boolean;
  /** Kept by Twill's own components (IPAM); not written by users. */
  internal: boolean;
}

const NAMES: Record<Kind, { plural: string; shortNames: string[] }> = {
  Node: { plural: 'nodes', shortNames: ['no'] },
  WorkloadEndpoint: { plural: 'workloadendpoints', shortNames: ['wep', 'weps'] },
  HostEndpoint: { plural: 'hostendpoints', shortNames: ['hep', 'heps'] },
  IPPool: { plural: 'ippools', shortNames: ['ipp', 'ipps', 'pool', 'pools'] },
  Profile: { plural: 'profiles', shortNames: ['pro', 'pros'] },
  NetworkPolicy: { plural: 'networkpolicies', shortNames: ['np', 'nps', 'netpol', 'netpols', 'policy', 'policies'] },
  GlobalNetworkPolicy: { plural: 'globalnetworkpolicies', shortNames: ['gnp', 'gnps'] },
  NetworkSet: { plural: 'networksets', shortNames: ['netset', 'netsets'] },
  GlobalNetworkSet: { plural: 'globalnetworksets', shortNames: ['gns', 'globalnetset', 'globalnetsets'] },
  BGPPeer: { plural: 'bgppeers', shortNames: ['bgpp', 'bgpps'] },
  BGPConfiguration: { plural: 'bgpconfigurations', shortNames: ['bgpconfig', 'bgpconfigs'] },
  FelixConfiguration: { plural: 'felixconfigurations', shortNames: ['felixconfig', 'felixconfigs'] },
  IPAMBlock: { plural: 'ipamblocks', shortNames: [] },
  BlockAffinity: { plural: 'blockaffinities', shortNames: [] },
  IPAMHandle: { plural: 'ipamhandles', shortNames: [] },
  IPAMConfig: { plural: 'ipamconfigs', shortNames: ['ipamconfiguration', 'ipamconfigurations'] },
};

const INTERNAL = new Set<Kind>(INTERNAL_KINDS);

export const KINDS: Record<Kind, KindInfo> = Object.fromEntries(
  (Object.keys(NAMES) as Kind[]).map((kind) => [
    kind,
    {
      kind,
      plural: NAMES[kind].plural,
      shortNames: [...NAMES[kind].shortNames],
      namespaced: isNamespaced(kind),
      internal: INTERNAL.has(kind),
    },
  ]),
) as Record<Kind, KindInfo>;

/** Every accepted spelling (lower case) → its kind. */
const BY_NAME = new Map<string, Kind>();
for (const info of Object.values(KINDS)) {
  for (const n of [info.kind.toLowerCase(), info.plural, ...info.shortNames]) BY_NAME.set(n, info.kind);
}

const PUBLIC = new Set<Kind>(PUBLIC_KINDS);

export function isPublicKind(kind: string): kind is PublicKind {
  return PUBLIC.has(kind as Kind);
}

/** "networkpolicy (np, nps, ...)" lines for every public kind. */
function kindList(): string {
  return PUBLIC_KINDS.map((k) => {
    const s = KINDS[k].shortNames;
    return s.length > 0 ? `${k.toLowerCase()} (${s.join(', ')})` : k.toLowerCase();
  }).join(', ');
}

export class UnknownKindError extends TwillError {
  /** The closest public kind (lower-case singular), when the input looks like a typo. */
  readonly suggestion: string | undefined;

  constructor(
    readonly input: string,
    reason?: string,
  ) {
    const publicNames = [...BY_NAME].filter(([, k]) => PUBLIC.has(k)).map(([n]) => n);
    const near = closest(input.toLowerCase(), publicNames);
    const suggestion = near !== undefined ? (BY_NAME.get(near) ?? '').toLowerCase() : undefined;
    const base = reason ?? `unknown resource kind ${JSON.stringify(input)}`;
    super('UnknownKind', suggestion ? `${base} (did you mean ${suggestion}?)` : base, {
      hint: `valid kinds: ${kindList()}`,
    });
    this.suggestion = suggestion;
  }
}

/** Any kind, internal ones included, from any accepted spelling (case-insensitive). */
export function resolveAnyKind(text: string): Kind {
  const k = BY_NAME.get(text.trim().toLowerCase());
  if (k === undefined) throw new UnknownKindError(text);
  return k;
}

/**
 * A kind users manage, from its singular, plural or short name, in any case ("NP", "ippools",
 * "GlobalNetworkPolicy"). Throws UnknownKindError naming the closest kind when there is one.
 */
export function resolveKind(text: string): PublicKind {
  const k = BY_NAME.get(text.trim().toLowerCase());
  if (k === undefined) throw new UnknownKindError(text);
  if (!isPublicKind(k)) {
    throw new UnknownKindError(
      text,
      `${k} is internal to Twill (IPAM bookkeeping) and is not managed as a resource; use "twillctl ipam" to inspect it`,
    );
  }
  return k;
}
