// Small checks shared by the converters: the object's name, unknown fields, label keys and values.
import { labelKeyProblem } from '../api/selector/index.js';
import { KubeConvertError } from './errors.js';

/** Where a problem is: the object ("NetworkPolicy x/deny") and its fields. */
export interface At {
  object: string;
}

export function fail(at: At, field: string, reason: string, hint?: string): never {
  throw new KubeConvertError(at.object, field, reason, hint);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An object with only these keys (a field the converter does not know could change the meaning). */
export function record(at: At, field: string, v: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (!isRecord(v)) fail(at, field, 'must be an object');
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) fail(at, `${field}.${k}`, `unknown field (Twill reads ${allowed.join(', ')})`);
  }
  return v;
}

export function list(at: At, field: string, v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(at, field, 'must be a list');
  return v;
}

export function str(at: At, field: string, v: unknown): string {
  if (typeof v !== 'string') fail(at, field, 'must be a string');
  return v;
}

// Kubernetes label values: empty, or ≤ 63 of [A-Za-z0-9-_.] starting and ending alphanumeric.
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function labelKey(at: At, field: string, key: string): string {
  const p = labelKeyProblem(key);
  if (p !== undefined) fail(at, field, `label key ${JSON.stringify(key)}: ${p}`);
  return key;
}

export function labelValue(at: At, field: string, v: unknown): string {
  const s = str(at, field, v);
  if (s.length > 63 || !LABEL_VALUE.test(s)) {
    fail(at, field, `label value ${JSON.stringify(s)} is not a Kubernetes label value (≤ 63 letters, digits, '-', '_', '.', alphanumeric at both ends)`);
  }
  return s;
}

export function labels(at: At, field: string, v: unknown): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) fail(at, field, 'must be a map of label key to value');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) out[labelKey(at, `${field}.${k}`, k)] = labelValue(at, `${field}.${k}`, val);
  return out;
}

// Kubernetes object names (DNS-1123 subdomain; namespaces are DNS-1123 labels).
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export interface NamedMeta {
  name: string;
  namespace: string;
  labels: Record<string, string>;
}

/** metadata.name (and namespace, default "default") of a Kubernetes object. */
export function kubeMeta(kind: string, doc: unknown, namespaced: boolean): { at: At; meta: NamedMeta; raw: Record<string, unknown> } {
  const raw = isRecord(doc) ? doc : {};
  const m = isRecord(raw.metadata) ? raw.metadata : {};
  const name = typeof m.name === 'string' ? m.name : '';
  const namespace = namespaced ? (typeof m.namespace === 'string' && m.namespace !== '' ? m.namespace : 'default') : '';
  const at: At = { object: `${kind} ${namespaced ? `${namespace}/` : ''}${name || '(no name)'}` };
  if (!isRecord(raw.metadata)) fail(at, 'metadata', 'missing');
  if (name === '') fail(at, 'metadata.name', 'missing');
  if (name.length > 253 || !SUBDOMAIN.test(name) || (!namespaced && !DNS_LABEL.test(name))) {
    fail(at, 'metadata.name', `${JSON.stringify(name)} is not a Kubernetes name (lower-case letters, digits, '-'${namespaced ? ", '.'" : ''})`);
  }
  if (namespaced && (namespace.length > 63 || !DNS_LABEL.test(namespace))) {
    fail(at, 'metadata.namespace', `${JSON.stringify(namespace)} is not a Kubernetes namespace name`);
  }
  return { at, meta: { name, namespace, labels: labels(at, 'metadata.labels', m.labels) }, raw };
}
