// Ownership conventions: what marks a chain, a set or a rule as Twill's.

/** Chains we own start with this. */
export const CHAIN_PREFIX = 'tw-';
/** IPv4 / IPv6 ipsets we own start with these. */
export const IPSET_PREFIX_V4 = 'tw4-';
export const IPSET_PREFIX_V6 = 'tw6-';
/** iptables limits chain names to 28 characters; ipset limits set names to 31. */
export const MAX_CHAIN_NAME = 28;
export const MAX_IPSET_NAME = 31;

const HASH_RE = /^[0-9a-f]{16}$/;
const COMMENT_HASH_RE = /--comment\s+"?tw:([0-9a-f]{16})(?=["\s]|$)/;

/** The match that tags a rule with its hash: `-m comment --comment "tw:<16 hex>"`. */
export function hashComment(hash: string): string {
  if (!HASH_RE.test(hash)) throw new RangeError(`rule hash ${JSON.stringify(hash)} is not 16 lowercase hex digits`);
  return `-m comment --comment "tw:${hash}"`;
}

function isHex16(s: string, at: number): boolean {
  for (let i = at; i < at + 16; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

const FAST = '--comment "tw:';

/** The hash from a rule's `tw:` comment, or undefined. */
export function extractHash(spec: string): string | undefined {
  const i = spec.indexOf(FAST);
  if (i >= 0) {
    const at = i + FAST.length;
    if (spec.charCodeAt(at + 16) === 34 /* " */ && isHex16(spec, at)) return spec.slice(at, at + 16);
  }
  if (spec.indexOf('tw:') < 0) return undefined;
  return COMMENT_HASH_RE.exec(spec)?.[1];
}

export function isOwnedChain(name: string): boolean {
  return name.startsWith(CHAIN_PREFIX);
}

export function isOwnedIpset(name: string): boolean {
  return name.startsWith(IPSET_PREFIX_V4) || name.startsWith(IPSET_PREFIX_V6);
}
