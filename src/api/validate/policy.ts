// NetworkPolicy, GlobalNetworkPolicy and Profile specs.

import type { Path, Problems } from './problems.js';
import { labelKeyCheck, labelValue, selector } from './scalars.js';
import { rules } from './rules.js';
import { bool, list, map, num, obj, str, type ObjectSchema } from './schema.js';

export const POLICY_TYPES = ['Ingress', 'Egress'] as const;

function nonEmptyList(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0;
}

function checkPolicy(spec: Record<string, unknown>, path: Path, problems: Problems): void {
  const types = spec.types;
  if (!Array.isArray(types)) return;
  const seen = new Set<unknown>();
  types.forEach((t, i) => {
    if (seen.has(t)) problems.add([...path, 'types', i], `${String(t)} is listed twice`);
    seen.add(t);
  });
  for (const [field, type] of [
    ['ingress', 'Ingress'],
    ['egress', 'Egress'],
  ] as const) {
    if (nonEmptyList(spec[field]) && !types.includes(type)) {
      problems.add(
        [...path, field],
        `these rules are never applied: types does not include ${type} (add ${type} to spec.types, or remove the rules)`,
      );
    }
  }
}

function checkGlobalPolicy(spec: Record<string, unknown>, path: Path, problems: Problems): void {
  checkPolicy(spec, path, problems);
  const { preDNAT, doNotTrack, applyOnForward } = spec;
  if (preDNAT === true && doNotTrack === true) {
    problems.add([...path, 'preDNAT'], 'preDNAT and doNotTrack cannot both be true');
  }
  if ((preDNAT === true || doNotTrack === true) && (applyOnForward === undefined || applyOnForward === false)) {
    problems.add(
      [...path, 'applyOnForward'],
      `${preDNAT === true ? 'preDNAT' : 'doNotTrack'} policies also act on forwarded traffic: set applyOnForward: true`,
    );
  }
  if (preDNAT === true) {
    if (nonEmptyList(spec.egress)) problems.add([...path, 'egress'], 'preDNAT policies can only have ingress rules');
    if (Array.isArray(spec.types) && spec.types.includes('Egress')) {
      problems.add([...path, 'types'], 'preDNAT policies can only be of type Ingress');
    }
  }
}

const policyFields = {
  order: num(),
  selector: selector(),
  types: list(str({ enum: POLICY_TYPES })),
  ingress: rules(),
  egress: rules(),
  serviceAccountSelector: selector(),
};

export const networkPolicySpec: ObjectSchema = obj(policyFields, { check: checkPolicy });

export const globalNetworkPolicySpec: ObjectSchema = obj(
  {
    ...policyFields,
    namespaceSelector: selector(),
    applyOnForward: bool(),
    preDNAT: bool(),
    doNotTrack: bool(),
  },
  { check: checkGlobalPolicy },
);

export const profileSpec: ObjectSchema = obj({
  ingress: rules(),
  egress: rules(),
  labelsToApply: map(labelValue(), { key: labelKeyCheck }),
});
