// Which Twill object a Kubernetes document stands for, from its identity alone (kind, name,
// namespace), so it can be deleted with a file whose spec no longer converts.
import { keyOf, type ResourceKey } from '../api/types.js';
import { kubeMeta } from './check.js';
import { KubeConvertError } from './errors.js';
import { knsName } from './namespace.js';
import { knpName } from './policy.js';

/** NetworkPolicy → NetworkPolicy knp.default.<name>; Namespace → Profile kns.<name>. A Pod has none it owns. */
export function twillKeyOf(doc: unknown): ResourceKey {
  const kind = (doc as { kind?: unknown }).kind;
  if (kind === 'NetworkPolicy') {
    const { meta } = kubeMeta('NetworkPolicy', doc, true);
    return keyOf({ kind: 'NetworkPolicy', metadata: { name: knpName(meta.name), namespace: meta.namespace } });
  }
  if (kind === 'Namespace') {
    const { meta } = kubeMeta('Namespace', doc, false);
    return keyOf({ kind: 'Profile', metadata: { name: knsName(meta.name) } });
  }
  const { at } = kubeMeta(String(kind), doc, true);
  throw new KubeConvertError(
    at.object,
    'kind',
    "a Pod's WorkloadEndpoint belongs to twill-cni: it goes when the runtime runs DEL",
    'to drop the pod\'s labels, apply the Pod without labels',
  );
}
