// The shapes shared by the real (a process per call) and fake (in-memory) iptables/ipset adapters.

export type IptablesBackend = 'nft' | 'legacy';
export type Family = 4 | 6;
export type BackendOverride = 'Auto' | 'NFT' | 'Legacy';

/** Where to run: the caller's own network namespace, or a named one. */
export interface NetnsTarget {
  /** A name under /run/netns, or an absolute path to a network-namespace file (e.g. /proc/PID/ns/net). */
  netns?: string;
}

/** One rule as iptables-save prints it. */
export interface SavedRule {
  chain: string;
  /** The text after `-A CHAIN `, exactly as iptables-save printed it. */
  spec: string;
  /** The 16 hex digits of a `-m comment --comment "tw:<hash>"` on the rule, when present. */
  hash?: string;
}

export interface SavedChain {
  name: string;
  /** ACCEPT / DROP for built-in chains; undefined for user chains (printed as `-`). */
  policy?: string;
  rules: SavedRule[];
}

export interface SavedTable {
  table: string;
  /** In iptables-save order (built-in chains first, then user chains sorted). */
  chains: Map<string, SavedChain>;
}

export interface RestoreOptions {
  /** Keep what is not mentioned (`--noflush`). Default true: the agent writes incrementally. */
  noflush?: boolean;
}

/** iptables or ip6tables, for one backend, in one network namespace. */
export interface Iptables {
  readonly family: Family;
  readonly backend: IptablesBackend;
  /**
   * Feed `text` (iptables-restore format) to one `iptables-restore --wait` run. Each table is
   * applied atomically at its COMMIT. Throws IptablesRestoreError naming the rejected line.
   */
  restore(text: string, opts?: RestoreOptions): Promise<void>;
  /** `iptables-save -t table`, parsed. A table that does not exist yet comes back with no chains. */
  save(table: string): Promise<SavedTable>;
  /** `iptables-save -t table`, as text. */
  saveRaw(table: string): Promise<string>;
}

export type IpsetFamily = 'inet' | 'inet6';

export interface IpsetInfo {
  /** e.g. hash:ip, hash:net */
  type: string;
  /** The set's address family; sets without one (list:set, bitmap:port) report 'inet'. */
  family: IpsetFamily;
  /** Members in the kernel's canonical text (10.0.0.1, 10.1.0.0/16, 2001:db8::1). */
  members: Set<string>;
  /** maxelem from the set header, when printed. */
  maxelem?: number;
}

export interface IpsetRestoreOptions {
  /**
   * `ipset restore -exist`: creating an identical existing set, adding a present member and
   * deleting an absent one are not errors. Default false.
   */
  exist?: boolean;
}

/** ipset in one network namespace. Sets are shared by IPv4 and IPv6 and by both iptables backends. */
export interface Ipset {
  /**
   * Feed `text` to one `ipset restore`. NOT atomic: lines before a failing line stay applied.
   * Throws IpsetRestoreError naming the rejected line.
   */
  restore(text: string, opts?: IpsetRestoreOptions): Promise<void>;
  /** All sets (or those whose name starts with `prefix`) with their members. */
  list(prefix?: string): Promise<Map<string, IpsetInfo>>;
  /** Set names only (cheap: no members). */
  listNames(prefix?: string): Promise<string[]>;
}
