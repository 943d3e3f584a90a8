// NetworkPolicy / GlobalNetworkPolicy / Profile → their parsed, normalised form. Pure.

import { parseSelector, type Selector } from '../../src/api/selector/index.js';
import type {
  GlobalNetworkPolicyResource,
  NetworkPolicyResource,
  PolicyType,
  ProfileResource,
} from '../../src/api/types.js';
import { convertRules, type SetRequest } from './convert-rule.js';
import { specKey, type MatchSpec } from './match.js';
import type { PolicyState, ProfileState } from './types.js';

export const DEFAULT_TIER = 'default';

export function policyId(kind: 'NetworkPolicy' | 'GlobalNetworkPolicy', name: string, namespace?: string): string {
  return kind === 'NetworkPolicy' ? `np/${namespace ?? 'default'}/${name}` : `gnp/${name}`;
}

export function profileId(name: string): string {
  return `prof/${name}`;
}

export interface ParsedPolicy {
  id: string;
  /** For ordering after `order`: "<namespace>/<name>" or "<name>". */
  sortName: string;
  /** Which endpoints it applies to (evaluated against local endpoints only). */
  spec: MatchSpec;
  specKey: string;
  state: PolicyState;
  /** Sets its rules need (for the directions in `types` only), sorted by id. */
  sets: SetRequest[];
  problems: string[];
}

/** Calico's default: Egress alone with only egress rules, both with both, else Ingress. */
export function defaultTypes(ingress: unknown[] | undefined, egress: unknown[] | undefined): PolicyType[] {
  const i = (ingress?.length ?? 0) > 0;
  const e = (egress?.length ?? 0) > 0;
  return e ? (i ? ['Ingress', 'Egress'] : ['Egress']) : ['Ingress'];
}

function optSelector(text: string | undefined): Selector | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const s = parseSelector(text);
  return s.toString() === 'all()' ? undefined : s;
}

/** A policy that matches nothing: what an unusable policy becomes (reported as a problem). */
const NOTHING: MatchSpec = { selector: parseSelector('!all()') };

export function parsePolicy(r: NetworkPolicyResource | GlobalNetworkPolicyResource): ParsedPolicy {
  const namespaced = r.kind === 'NetworkPolicy';
  const namespace = namespaced ? (r.metadata.namespace ?? 'default') : undefined;
  const id = policyId(r.kind, r.metadata.name, namespace);
  const spec = r.spec ?? {};
  const problems: string[] = [];
  let match: MatchSpec;
  try {
    const selector = optSelector(spec.selector);
    const nsSel = r.kind === 'GlobalNetworkPolicy' ? optSelector(r.spec?.namespaceSelector) : undefined;
    const saSel = optSelector(spec.serviceAccountSelector);
    match = {
      ...(namespace !== undefined ? { namespace } : {}),
      ...(nsSel !== undefined ? { namespaceSelector: nsSel } : {}),
      ...(selector !== undefined ? { selector } : {}),
      ...(saSel !== undefined ? { serviceAccountSelector: saSel } : {}),
    };
  } catch (e) {
    problems.push(`selector: ${e instanceof Error ? e.message : String(e)} (the policy applies to nothing)`);
    match = NOTHING;
  }
  const types = [...new Set(spec.types ?? defaultTypes(spec.ingress, spec.egress))].sort() as PolicyType[];
  const scope = namespace !== undefined ? { namespace } : {};
  const sets = new Map<string, SetRequest>();
  const dir = (t: PolicyType, rules: typeof spec.ingress, field: string) => {
    if (!types.includes(t)) return undefined;
    const c = convertRules(rules, scope, field);
    for (const s of c.sets) sets.set(s.id, s);
    problems.push(...c.problems);
    return c.rules;
  };
  const ingress = dir('Ingress', spec.ingress, 'ingress');
  const egress = dir('Egress', spec.egress, 'egress');
  const order = typeof spec.order === 'number' && Number.isFinite(spec.order) ? spec.order : undefined;
  const state: PolicyState = {
    id,
    kind: r.kind,
    name: r.metadata.name,
    namespace,
    tier: DEFAULT_TIER,
    order,
    types,
    ingress,
    egress,
  };
  return {
    id,
    sortName: namespace !== undefined ? `${namespace}/${r.metadata.name}` : r.metadata.name,
    spec: match,
    specKey: specKey(match),
    state,
    sets: [...sets.keys()].sort().map((k) => sets.get(k)!),
    problems,
  };
}

export interface ParsedProfile {
  id: string;
  name: string;
  labelsToApply: Record<string, string>;
  state: ProfileState;
  sets: SetRequest[];
  problems: string[];
}

export function parseProfile(r: ProfileResource): ParsedProfile {
  const spec = r.spec ?? {};
  const ing = convertRules(spec.ingress, {}, 'ingress');
  const eg = convertRules(spec.egress, {}, 'egress');
  const sets = new Map<string, SetRequest>();
  for (const s of [...ing.sets, ...eg.sets]) sets.set(s.id, s);
  const id = profileId(r.metadata.name);
  return {
    id,
    name: r.metadata.name,
    labelsToApply: { ...(spec.labelsToApply ?? {}) },
    state: { id, name: r.metadata.name, ingress: ing.rules, egress: eg.rules },
    sets: [...sets.keys()].sort().map((k) => sets.get(k)!),
    problems: [...ing.problems, ...eg.problems],
  };
}

/** Evaluation order: by order (absent last), then name, then kind. */
export function comparePolicies(a: ParsedPolicy, b: ParsedPolicy): number {
  const ao = a.state.order;
  const bo = b.state.order;
  if (ao !== bo) {
    if (ao === undefined) return 1;
    if (bo === undefined) return -1;
    if (ao !== bo) return ao < bo ? -1 : 1;
  }
  if (a.sortName !== b.sortName) return a.sortName < b.sortName ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
