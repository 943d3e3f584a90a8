// Kubernetes documents in -f input (networking.k8s.io/v1 NetworkPolicy, v1 Namespace, v1 Pod),
// through src/kube's converter: a NetworkPolicy becomes NetworkPolicy knp.default.<name>, a
// Namespace the Profile kns.<name>, a Pod an update of the WorkloadEndpoint(s) twill-cni wrote
// for it (which needs the datastore, so it is resolved after loading). Anything the converter
// refuses is an input problem like any other: nothing is written.
import type { Resource, ResourceKey, WorkloadEndpointResource } from '../api/types.js';
import type { Datastore } from '../datastore/types.js';
import { convertNamespace, convertNetworkPolicy, convertPod, KubeConvertError, podKey, twillKeyOf } from '../kube/index.js';
import type { InputProblem } from './problems.js';

export { isKubeObject } from '../kube/index.js';

export interface KubeDoc {
  value: unknown;
  source: string;
}

function problemOf(e: unknown, source: string): InputProblem {
  if (e instanceof KubeConvertError) return { source, object: e.object, path: e.field, message: e.reason };
  throw e;
}

function kindOf(value: unknown): string {
  return String((value as { kind?: unknown }).kind);
}

/**
 * NetworkPolicy and Namespace documents → Twill documents (to validate like any other); Pods are
 * checked (name, namespace) and returned for `resolvePods`.
 */
export function convertKubeDocs(docs: readonly KubeDoc[]): { converted: KubeDoc[]; pods: KubeDoc[]; problems: InputProblem[] } {
  const converted: KubeDoc[] = [];
  const pods: KubeDoc[] = [];
  const problems: InputProblem[] = [];
  for (const d of docs) {
    try {
      switch (kindOf(d.value)) {
        case 'NetworkPolicy':
          converted.push({ value: convertNetworkPolicy(d.value), source: d.source });
          break;
        case 'Namespace':
          converted.push({ value: convertNamespace(d.value), source: d.source });
          break;
        default:
          podKey(d.value);
          pods.push(d);
      }
    } catch (e) {
      problems.push(problemOf(e, d.source));
    }
  }
  return { converted, pods, problems };
}

/** The endpoints each Pod document updates, read from the datastore. */
export async function resolvePods(ds: Datastore, pods: readonly KubeDoc[]): Promise<{ resources: { resource: Resource; source: string }[]; problems: InputProblem[] }> {
  const byNs = new Map<string, WorkloadEndpointResource[]>();
  const resources: { resource: Resource; source: string }[] = [];
  const problems: InputProblem[] = [];
  for (const d of pods) {
    try {
      const { namespace } = podKey(d.value);
      let eps = byNs.get(namespace);
      if (eps === undefined) {
        eps = (await ds.list<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace })).items;
        byNs.set(namespace, eps);
      }
      for (const r of convertPod(d.value, eps)) resources.push({ resource: r, source: d.source });
    } catch (e) {
      problems.push(problemOf(e, d.source));
    }
  }
  return { resources, problems };
}

/** delete -f: the Twill object a Kubernetes document stands for (a Pod has none: a problem). */
export function kubeKey(value: unknown, source: string): { key: ResourceKey } | { problem: InputProblem } {
  try {
    return { key: twillKeyOf(value) };
  } catch (e) {
    return { problem: problemOf(e, source) };
  }
}
