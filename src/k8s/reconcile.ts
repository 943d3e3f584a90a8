// One object's reconcile: the Kubernetes object as the cache has it now (undefined: it is gone)
// → the Twill resource the converter makes of it, written only when it differs from the stored
// one, with compare-and-swap on the stored revision (a ConflictError is retried by the queue).
//
// What the controller owns is named by the converter: NetworkPolicies `knp.default.<name>` and
// Profiles `kns.<namespace>` (Calico's reserved prefixes). WorkloadEndpoints belong to twill-cni;
// the controller only sets their labels and named ports from the pod.
import type { Resource, WorkloadEndpointResource } from '../api/types.js';
import { NotFoundError } from '../datastore/errors.js';
import type { ResourceKey, TxnOp } from '../datastore/types.js';
import { convertNamespace, convertNetworkPolicy, convertPod, KubeConvertError, knpName, knsName, podEndpoints } from '../kube/index.js';

export type Outcome = 'created' | 'updated' | 'deleted' | 'unchanged' | 'rejected';

/** A Kubernetes object Twill cannot express: nothing of it was written. */
export interface Rejection {
  /** "NetworkPolicy x/p" */
  object: string;
  field: string;
  reason: string;
}

function sameContent(a: Resource, b: Resource): boolean {
  return JSON.stringify(a.spec ?? null) === JSON.stringify(b.spec ?? null) && JSON.stringify(a.metadata.labels ?? {}) === JSON.stringify(b.metadata.labels ?? {});
}

type Converted<T> = { ok: T } | { rejection: Rejection };

/** The converter's result, or what it refused (a KubeConvertError) as a Rejection. */
function convert<T>(f: () => T): Converted<T> {
  try {
    return { ok: f() };
  } catch (e) {
    if (e instanceof KubeConvertError) return { rejection: { object: e.object, field: e.field, reason: e.reason } };
    throw e;
  }
}

/**
 * What the datastore holds under a key, as the controller's view has it (a syncer; it may lag:
 * every write is a compare-and-swap on its revision, so a stale view costs a retry, never a lost
 * write).
 */
export type Current = (key: ResourceKey) => Resource | undefined;

/** Where writes go: one op at a time, committed (batched with others, see batch.ts) or rejected with its typed error. */
export type Writer = (op: TxnOp) => Promise<void>;

async function deleteIfPresent(write: Writer, key: ResourceKey, current: Current): Promise<Outcome> {
  const cur = current(key);
  if (cur === undefined) return 'unchanged';
  try {
    await write({ op: 'delete', key, revision: cur.metadata.resourceVersion ?? '' });
  } catch (e) {
    if (e instanceof NotFoundError) return 'unchanged';
    throw e;
  }
  return 'deleted';
}

async function writeDesired(write: Writer, desired: Resource, current: Current): Promise<Outcome> {
  const key: ResourceKey = { kind: desired.kind, name: desired.metadata.name, ...(desired.metadata.namespace !== undefined ? { namespace: desired.metadata.namespace } : {}) };
  const cur = current(key);
  if (cur === undefined) {
    await write({ op: 'create', resource: desired });
    return 'created';
  }
  if (sameContent(cur, desired)) return 'unchanged';
  await write({ op: 'update', resource: { ...desired, metadata: { ...cur.metadata, labels: desired.metadata.labels } } as Resource, revision: cur.metadata.resourceVersion ?? '' });
  return 'updated';
}

/**
 * NetworkPolicy namespace/name → knp.default.<name>. A policy the converter refuses is a
 * Rejection and nothing is written: an earlier version that converted stays as it was.
 */
export async function syncNetworkPolicy(write: Writer, current: Current, namespace: string, name: string, obj: unknown): Promise<{ outcome: Outcome; rejection?: Rejection }> {
  if (obj === undefined) return { outcome: await deleteIfPresent(write, { kind: 'NetworkPolicy', namespace, name: knpName(name) }, current) };
  const c = convert(() => convertNetworkPolicy(obj));
  return 'rejection' in c ? { outcome: 'rejected', rejection: c.rejection } : { outcome: await writeDesired(write, c.ok, current) };
}

/** Namespace name → Profile kns.<name>. */
export async function syncNamespace(write: Writer, current: Current, name: string, obj: unknown): Promise<{ outcome: Outcome; rejection?: Rejection }> {
  if (obj === undefined) return { outcome: await deleteIfPresent(write, { kind: 'Profile', name: knsName(name) }, current) };
  const c = convert(() => convertNamespace(obj));
  return 'rejection' in c ? { outcome: 'rejected', rejection: c.rejection } : { outcome: await writeDesired(write, c.ok, current) };
}

/**
 * Pod namespace/name → the labels and named ports of its WorkloadEndpoint(s) among `endpoints`
 * (a pod without one, not started on a Twill host yet, is nothing to do; a gone pod's endpoint is
 * left to the IPAM garbage collection, see gc.ts).
 */
export async function syncPod(write: Writer, namespace: string, name: string, obj: unknown, endpoints: readonly WorkloadEndpointResource[]): Promise<{ outcome: Outcome; rejection?: Rejection }> {
  if (obj === undefined) return { outcome: 'unchanged' };
  const mine = podEndpoints(namespace, name, endpoints);
  if (mine.length === 0) return { outcome: 'unchanged' };
  const c = convert(() => convertPod(obj, mine));
  if ('rejection' in c) return { outcome: 'rejected', rejection: c.rejection };
  const desired = c.ok;
  let outcome: Outcome = 'unchanged';
  for (const [i, d] of desired.entries()) {
    const cur = mine[i] as WorkloadEndpointResource;
    if (sameContent(cur, d)) continue;
    // CAS on the revision the cache holds: a stale cache is a ConflictError, retried once the cache caught up.
    await write({ op: 'update', resource: d, revision: cur.metadata.resourceVersion ?? '' });
    outcome = 'updated';
  }
  return { outcome };
}
