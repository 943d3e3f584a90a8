// Secrets inside resources (BGP MD5 passwords): what is printed in their place.
import type { Resource } from './types.js';

/** Printed instead of a secret's value; refused as a value on write (it is never a real one). */
export const REDACTED_SECRET = '<redacted>';

function redact<T extends { value?: string } | undefined>(s: T): T {
  return s !== undefined && typeof s.value === 'string' ? { ...s, value: REDACTED_SECRET } : s;
}

/**
 * A copy with every inline secret value replaced by REDACTED_SECRET (BGPPeer spec.password,
 * BGPConfiguration spec.nodeMeshPassword); other resources are returned as they are.
 */
export function redactSecrets(r: Resource): Resource {
  if (r.kind === 'BGPPeer' && r.spec?.password?.value !== undefined) {
    return { ...r, spec: { ...r.spec, password: redact(r.spec.password) } };
  }
  if (r.kind === 'BGPConfiguration' && r.spec?.nodeMeshPassword?.value !== undefined) {
    return { ...r, spec: { ...r.spec, nodeMeshPassword: redact(r.spec.nodeMeshPassword) } };
  }
  return r;
}
