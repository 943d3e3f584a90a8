// src/iptables: iptables / ip6tables / ipset through their restore and save tools, in any
// network namespace, on the backend (nft or legacy) the host actually uses. See README.md.
export type {
  BackendOverride,
  Family,
  IpsetFamily,
  IpsetInfo,
  Ipset,
  IpsetRestoreOptions,
  Iptables,
  IptablesBackend,
  NetnsTarget,
  RestoreOptions,
  SavedChain,
  SavedRule,
  SavedTable,
} from './types.js';
export { IpsetRestoreError, IptablesRestoreError, IptablesUsageError, NetfilterCommandError } from './errors.js';
export { detectBackend, chooseBackend, evidenceFromSaves, KUBE_HINT_CHAINS } from './detect.js';
export type { BackendChoice, BackendEvidence } from './detect.js';
export { iptables, ipset } from './real.js';
export { parseSave, parseSaveTable } from './save-parser.js';
export { parseIpsetSave, parseIpsetNames } from './ipset-parser.js';
export { BUILTIN_CHAINS, TABLES } from './tables.js';
export {
  CHAIN_PREFIX,
  IPSET_PREFIX_V4,
  IPSET_PREFIX_V6,
  MAX_CHAIN_NAME,
  MAX_IPSET_NAME,
  extractHash,
  hashComment,
  isOwnedChain,
  isOwnedIpset,
} from './naming.js';
export { splitArgs, saveString } from './tokens.js';
