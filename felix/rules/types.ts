// What felix/rules produces from a DesiredState: iptables chains (per family, per table), the
// hooks from the built-in chains into ours, and the kernel ipsets. Plain data; the same input
// renders byte-identical output.

import type { IpSetType, IpVersion } from '../calc/types.js';

export type TableName = 'filter' | 'nat' | 'raw' | 'mangle';

export interface RenderedRule {
  /**
   * The iptables arguments after `-A <chain> `, INCLUDING the hash comment
   * (`-m comment --comment "tw:<hash>"`, always the first match). Write it as
   * `-A <chain> <spec>` in iptables-restore input.
   */
  spec: string;
  /**
   * 16 lowercase hex digits: a hash of (chain name, this rule's text without the comment, the
   * previous rule's hash). Inserting a rule changes the hashes of the rules after it only; a
   * read-back compares these (src/iptables extractHash) to find what differs.
   */
  hash: string;
}

export interface Chain {
  /** "tw-..." (≤ 28 characters). */
  name: string;
  rules: RenderedRule[];
}

/**
 * One jump from a built-in chain into ours, e.g. filter FORWARD → tw-FORWARD. The dataplane keeps
 * exactly one copy of each at position 1 of the built-in chain (`-I <chain> 1 <spec>`).
 */
export interface Hook {
  table: TableName;
  /** The built-in chain: FORWARD, INPUT, OUTPUT, POSTROUTING, ... */
  chain: string;
  /** As RenderedRule.spec (with its own hash comment), e.g. `-m comment --comment "tw:…" -j tw-FORWARD`. */
  spec: string;
  hash: string;
}

export interface RenderedIpSet {
  /** "tw4-<IpSetId>" / "tw6-<IpSetId>" (≤ 31 characters). */
  name: string;
  family: IpVersion;
  type: IpSetType;
  /** Canonical kernel text, sorted (see IpSetState). */
  members: string[];
}

/** The chains of one table, sorted by name. */
export type ChainList = Chain[];

/** Everything for one address family (iptables or ip6tables). */
export interface RenderedFamily {
  family: IpVersion;
  filter: ChainList;
  nat: ChainList;
  /** Nothing Twill renders lives there yet; kept so the dataplane can treat every table alike. */
  raw: ChainList;
  mangle: ChainList;
  hooks: Hook[];
  /** Sets this family's rules use, sorted by name. */
  ipsets: RenderedIpSet[];
}

export interface Rendered {
  v4: RenderedFamily;
  /** Absent when config.ipv6Support is false. */
  v6: RenderedFamily | undefined;
}

/** Mark bits, all inside config.iptablesMarkMask (lowest bits of the mask first). */
export interface MarkBits {
  /** A policy or profile accepted the packet. */
  accept: number;
  /** A policy said Pass: skip to the next tier (or the profiles). */
  pass: number;
  /** Free for temporary use inside one chain. */
  scratch0: number;
  scratch1: number;
}

export interface RenderOptions {
  /**
   * LOG prefix for Log rules (default "twill-packet: "). At most 29 characters (iptables limit).
   */
  logPrefix?: string;
  /**
   * How many interfaces a dispatch chain lists before it splits into sub-chains keyed on the
   * next character of the interface name (default 16).
   */
  dispatchFanout?: number;
}

/** Changes to one table of one family since the previous render. */
export interface TableDelta {
  /** Chains that are new or whose rules changed, with their full new rules (sorted by name). */
  upserts: Chain[];
  /** Chains that are no longer wanted (sorted). Delete them after the upserts no longer jump there. */
  deletes: string[];
}

export interface FamilyDelta {
  family: IpVersion;
  filter: TableDelta;
  nat: TableDelta;
  raw: TableDelta;
  mangle: TableDelta;
  /**
   * Present only when the hooks changed: the full new list. Remove hooks that are no longer in it
   * (e.g. IPv6 switched off) before deleting the chains they jump to.
   */
  hooks?: Hook[];
  /** Sets that are new or whose type or members changed (full new value). Create before the rules. */
  ipsetUpserts: RenderedIpSet[];
  /** Set names no longer wanted. Destroy after the rules that used them are gone. */
  ipsetDeletes: string[];
}

export interface RenderDelta {
  v4: FamilyDelta;
  /**
   * ip6tables changes. When IPv6 support was switched off, this lists the deletion of everything
   * rendered before; when it is off and was off, every list is empty.
   */
  v6: FamilyDelta;
}
