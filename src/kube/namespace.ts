// v1 Namespace → the Profile `kns.<namespace>`: its labels become the namespace labels that
// namespaceSelectors match (felix reads a kns profile's labelsToApply so), and it allows
// everything both ways, as Calico's Kubernetes profiles do: a pod no policy selects is open.
import type { ProfileResource } from '../api/types.js';
import { kubeMeta } from './check.js';

export const KNS_PREFIX = 'kns.';

export function knsName(namespace: string): string {
  return `${KNS_PREFIX}${namespace}`;
}

export function convertNamespace(doc: unknown): ProfileResource {
  const { meta } = kubeMeta('Namespace', doc, false);
  return {
    apiVersion: 'twill.io/v1',
    kind: 'Profile',
    metadata: { name: knsName(meta.name) },
    spec: { labelsToApply: meta.labels, ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
  };
}
