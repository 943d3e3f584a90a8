// Kubernetes label selectors → Twill (Calico) selector text, as Calico's Kubernetes converter
// writes them: matchLabels become `k == "v"`, matchExpressions In / NotIn / Exists /
// DoesNotExist become `k in {…}`, `k not in {…}`, `has(k)`, `!has(k)`, all joined with &&.
// NotIn and DoesNotExist match a missing label in both languages.
import { quoteString } from '../api/selector/index.js';
import { type At, fail, labelKey, labelValue, list, record } from './check.js';

/** What every pod selector adds: only Kubernetes pods (not network sets or other workloads). */
export const K8S_POD_SELECTOR = `twill.io/orchestrator == ${quoteString('k8s')}`;

/** The terms of a LabelSelector, in Calico's order (matchLabels by key, then expressions as written). */
function terms(at: At, field: string, v: unknown): string[] {
  const s = record(at, field, v, ['matchLabels', 'matchExpressions']);
  const out: string[] = [];
  const ml = s.matchLabels === undefined || s.matchLabels === null ? {} : record(at, `${field}.matchLabels`, s.matchLabels, Object.keys(s.matchLabels as object));
  for (const k of Object.keys(ml).sort()) {
    const f = `${field}.matchLabels.${k}`;
    out.push(`${labelKey(at, f, k)} == ${quoteString(labelValue(at, f, ml[k]))}`);
  }
  list(at, `${field}.matchExpressions`, s.matchExpressions).forEach((raw, i) => {
    const f = `${field}.matchExpressions[${i}]`;
    const e = record(at, f, raw, ['key', 'operator', 'values']);
    if (typeof e.key !== 'string') fail(at, `${f}.key`, 'missing');
    const key = labelKey(at, `${f}.key`, e.key);
    const values = list(at, `${f}.values`, e.values).map((x, j) => labelValue(at, `${f}.values[${j}]`, x));
    switch (e.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) fail(at, `${f}.values`, `operator ${e.operator} needs at least one value`);
        out.push(`${key} ${e.operator === 'In' ? 'in' : 'not in'} {${values.map(quoteString).join(', ')}}`);
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) fail(at, `${f}.values`, `operator ${e.operator} takes no values`);
        out.push(e.operator === 'Exists' ? `has(${key})` : `!has(${key})`);
        break;
      default:
        fail(at, `${f}.operator`, `${JSON.stringify(e.operator)} is not one of In, NotIn, Exists, DoesNotExist`);
    }
  });
  return out;
}

/** A pod selector (absent or `{}`: every pod of the scope). */
export function podSelectorText(at: At, field: string, v: unknown): string {
  if (v === undefined || v === null) return K8S_POD_SELECTOR;
  return [K8S_POD_SELECTOR, ...terms(at, field, v)].join(' && ');
}

/** A namespace selector, matched against the namespace labels (`{}`: every namespace, `all()`). */
export function namespaceSelectorText(at: At, field: string, v: unknown): string {
  const t = terms(at, field, v);
  return t.length === 0 ? 'all()' : t.join(' && ');
}
