// NetworkPolicy / GlobalNetworkPolicy / Profile → their parsed, normalised form. Pure.

import { parseSelector, type Selector } from '../../src/api/selector/index.js';
import type {
  GlobalNetworkPolicyResource,
  NetworkPolicyResource,
  PolicyType,
  ProfileResource,
} from '../../src/api/types.js';
import { convertRules, dropAllRule, type SetRequest } from './convert-rule.js';
import { specKey, type MatchSpec } from './match.js';
import type { PolicyState, ProfileState } from './types.js';

export const DEFAULT_TIER = 'default';

export function policyId(kind: 'NetworkPolicy' | 'GlobalNetworkPolicy', name: string, namespace?: string): string {
  return kind === 'NetworkPolicy' ? `np/${namespace ?? 'default'}/${name}` : `gnp/${name}`;
}

export function profileId(name: string): string {
  return `prof/${name}`;
}

/**
 * A policy as calc keeps it. Which endpoints it applies to is worked out at once; its rules are
 * converted on the first read of `state`, `sets` or `problems` (conversion never throws), so calc
 * converts only the policies that apply to one of its endpoints (and all of them when asked for
 * its problems): one explain question on a big cluster converts tens of policies, not thousands.
 * The resource must not change after parsePolicy (the datastore hands out copies).
 */
export interface ParsedPolicy {
  readonly id: string;
  /** For ordering after `order`: "<namespace>/<name>" or "<name>". */
  readonly sortName: string;
  /** Which endpoints it applies to (evaluated against local endpoints only). */
  readonly spec: MatchSpec;
  readonly specKey: string;
  readonly state: PolicyState;
  /** Sets its rules need (for the directions in `types` only), sorted by id. */
  readonly sets: SetRequest[];
  readonly problems: string[];
}

/** Calico's default: Egress alone with only egress rules, both with both, else Ingress. */
export function defaultTypes(ingress: unknown, egress: unknown): PolicyType[] {
  // Anything there that is not a list counts as rules (felix then fails closed on it).
  const present = (x: unknown): boolean => (Array.isArray(x) ? x.length > 0 : x !== undefined && x !== null);
  const i = present(ingress);
  const e = present(egress);
  return e ? (i ? ['Ingress', 'Egress'] : ['Egress']) : ['Ingress'];
}

function optSelector(text: string | undefined): Selector | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const s = parseSelector(text);
  return s.toString() === 'all()' ? undefined : s;
}

const TYPES: readonly PolicyType[] = ['Egress', 'Ingress'];

/** spec.types when it is a list of known types; undefined (a problem) otherwise. */
function usableTypes(v: unknown): PolicyType[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.every((t) => TYPES.includes(t as PolicyType)) ? (v as PolicyType[]) : undefined;
}

export function parsePolicy(r: NetworkPolicyResource | GlobalNetworkPolicyResource): ParsedPolicy {
  const namespaced = r.kind === 'NetworkPolicy';
  const namespace = namespaced ? (r.metadata.namespace ?? 'default') : undefined;
  const id = policyId(r.kind, r.metadata.name, namespace);
  const spec = r.spec ?? {};
  const problems: string[] = [];
  // Fail closed: a policy felix cannot fully understand never widens what passes. Unusable rules
  // turn their direction into a drop-all; an unusable selector or types make the policy apply to
  // every endpoint in its scope (its namespace; everything for a global one) and drop all traffic
  // in its directions (both, when the types themselves are unusable).
  let broken = false;
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
    problems.push(
      `selector: ${e instanceof Error ? e.message : String(e)} (felix fails closed: the policy applies to every endpoint ${namespace !== undefined ? `of namespace ${namespace}` : 'on the host'} and drops all their traffic in its directions)`,
    );
    broken = true;
    match = namespace !== undefined ? { namespace } : {};
  }
  let typeList: PolicyType[];
  if (spec.types === undefined || spec.types === null) {
    typeList = defaultTypes(spec.ingress, spec.egress);
  } else {
    const t = usableTypes(spec.types);
    if (t === undefined) {
      problems.push(`types: ${JSON.stringify(spec.types)} is not a list of Ingress / Egress (felix fails closed: all traffic in both directions is dropped)`);
      broken = true;
    }
    typeList = t ?? [...TYPES];
  }
  const types = [...new Set(typeList)].sort() as PolicyType[];
  const scope = namespace !== undefined ? { namespace } : {};
  const convert = (): { state: PolicyState; sets: SetRequest[]; problems: string[] } => {
    const sets = new Map<string, SetRequest>();
    const dir = (t: PolicyType, rules: typeof spec.ingress, field: string) => {
      if (!types.includes(t)) return undefined;
      if (broken) return [dropAllRule()];
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
    return { state, sets: [...sets.keys()].sort().map((k) => sets.get(k)!), problems };
  };
  let body: ReturnType<typeof convert> | undefined;
  const converted = (): ReturnType<typeof convert> => (body ??= convert());
  return {
    id,
    sortName: namespace !== undefined ? `${namespace}/${r.metadata.name}` : r.metadata.name,
    spec: match,
    specKey: specKey(match),
    get state() {
      return converted().state;
    },
    get sets() {
      return converted().sets;
    },
    get problems() {
      return converted().problems;
    },
  };
}

/**
 * What a policy becomes when felix could not convert it at all (calc caught an unexpected error):
 * it applies to every endpoint in its scope and drops all their traffic in both directions.
 */
export function failClosedPolicy(kind: 'NetworkPolicy' | 'GlobalNetworkPolicy', name: string, namespace: string | undefined, problem: string): ParsedPolicy {
  const ns = kind === 'NetworkPolicy' ? (namespace ?? 'default') : undefined;
  const id = policyId(kind, name, ns);
  const match: MatchSpec = ns !== undefined ? { namespace: ns } : {};
  return {
    id,
    sortName: ns !== undefined ? `${ns}/${name}` : name,
    spec: match,
    specKey: specKey(match),
    state: { id, kind, name, namespace: ns, tier: DEFAULT_TIER, order: undefined, types: ['Egress', 'Ingress'], ingress: [dropAllRule()], egress: [dropAllRule()] },
    sets: [],
    problems: [`${problem} (felix fails closed: the policy applies to every endpoint in its scope and drops all their traffic)`],
  };
}

/** What a profile becomes when felix could not convert it at all: drop-all both ways, no labels. */
export function failClosedProfile(name: string, problem: string): ParsedProfile {
  const id = profileId(name);
  return {
    id,
    name,
    labelsToApply: {},
    state: { id, name, ingress: [dropAllRule()], egress: [dropAllRule()] },
    sets: [],
    problems: [`${problem} (felix fails closed: endpoints using the profile drop the traffic no policy allowed)`],
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
  const problems: string[] = [];
  const ing = convertRules(spec.ingress, {}, 'ingress');
  const eg = convertRules(spec.egress, {}, 'egress');
  const sets = new Map<string, SetRequest>();
  for (const s of [...ing.sets, ...eg.sets]) sets.set(s.id, s);
  const id = profileId(r.metadata.name);
  return {
    id,
    name: r.metadata.name,
    labelsToApply: labelsOf(spec.labelsToApply, problems),
    state: { id, name: r.metadata.name, ingress: ing.rules, egress: eg.rules },
    sets: [...sets.keys()].sort().map((k) => sets.get(k)!),
    problems: [...problems, ...ing.problems, ...eg.problems],
  };
}

function labelsOf(v: unknown, problems: string[]): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string')) {
    return { ...(v as Record<string, string>) };
  }
  problems.push('labelsToApply: not a map of strings (ignored)');
  return {};
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
