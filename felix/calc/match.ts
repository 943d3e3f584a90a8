// A scoped selector ("match spec"): which labelled objects a policy or a rule side selects, once
// namespaces are taken into account. Calico folds namespace scoping into the selector text; we
// keep the parts apart and evaluate them in order, so no label keys need rewriting.

import { createHash } from 'node:crypto';
import type { Labels, Selector } from '../../src/api/selector/index.js';

/** Label keys Twill adds to every endpoint / network set (Calico's projectcalico.org/...). */
export const NAMESPACE_LABEL = 'twill.io/namespace';
export const ORCHESTRATOR_LABEL = 'twill.io/orchestrator';
export const SERVICE_ACCOUNT_LABEL = 'twill.io/serviceaccount';
/** Always present among a namespace's labels: its name. */
export const NAMESPACE_NAME_LABEL = 'twill.io/name';
/** The Profile that carries a namespace's labels (as in Calico's Kubernetes mapping). */
export const NAMESPACE_PROFILE_PREFIX = 'kns.';

/** Something selectors can match: an endpoint, a NetworkSet or a GlobalNetworkSet. */
export interface MatchItem {
  readonly key: string;
  /** undefined for non-namespaced objects (GlobalNetworkSet): `global()` is true for them. */
  readonly namespace: string | undefined;
  readonly labels: Labels;
}

export interface MatchSpec {
  /** Only objects in this namespace. */
  readonly namespace?: string;
  /** Only objects whose namespace's labels match (non-namespaced objects: evaluated with global()). */
  readonly namespaceSelector?: Selector;
  /** The objects' own labels must match. */
  readonly selector?: Selector;
  /** Only endpoints whose service account (SERVICE_ACCOUNT_LABEL) is one of these (sorted). */
  readonly serviceAccountNames?: readonly string[];
  /**
   * Evaluated against empty labels (Twill keeps no ServiceAccount labels): either every object
   * passes or none does.
   */
  readonly serviceAccountSelector?: Selector;
}

const EMPTY: Labels = Object.freeze({});

/** The canonical text of a spec: equal specs (in meaning, up to selector canonical form) print equal. */
export function specKey(s: MatchSpec): string {
  const parts: string[] = [];
  if (s.namespace !== undefined) parts.push(`ns=${JSON.stringify(s.namespace)}`);
  if (s.namespaceSelector !== undefined) parts.push(`nssel=${s.namespaceSelector.toString()}`);
  if (s.selector !== undefined) parts.push(`sel=${s.selector.toString()}`);
  if (s.serviceAccountNames !== undefined) parts.push(`sa=${JSON.stringify(s.serviceAccountNames)}`);
  if (s.serviceAccountSelector !== undefined) parts.push(`sasel=${s.serviceAccountSelector.toString()}`);
  return parts.length === 0 ? 'all()' : parts.join(' ; ');
}

/** Label keys of the object's own labels that a spec reads. */
export function specLabelKeys(s: MatchSpec): Set<string> {
  const keys = new Set<string>(s.selector?.labelKeys ?? []);
  if (s.serviceAccountNames !== undefined) keys.add(SERVICE_ACCOUNT_LABEL);
  return keys;
}

/** Does `item` match? `nsLabels` gives a namespace's labels. */
export function evaluateSpec(s: MatchSpec, item: MatchItem, nsLabels: (ns: string) => Labels): boolean {
  const global = item.namespace === undefined;
  if (s.namespace !== undefined && item.namespace !== s.namespace) return false;
  if (s.serviceAccountSelector !== undefined && !s.serviceAccountSelector.evaluate(EMPTY)) return false;
  if (s.serviceAccountNames !== undefined) {
    const sa = item.labels[SERVICE_ACCOUNT_LABEL];
    if (sa === undefined || !s.serviceAccountNames.includes(sa)) return false;
  }
  if (s.namespaceSelector !== undefined) {
    const ok =
      item.namespace === undefined
        ? s.namespaceSelector.evaluate(EMPTY, { global: true })
        : s.namespaceSelector.evaluate(nsLabels(item.namespace), { global: false });
    if (!ok) return false;
  }
  if (s.selector !== undefined && !s.selector.evaluate(item.labels, { global })) return false;
  return true;
}

/** 20 lowercase hex digits of SHA-256: ipset ids. */
export function shortHash(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 20);
}
