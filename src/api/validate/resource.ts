// A whole resource: apiVersion, kind, metadata, spec, status — dispatching spec and status to
// the schema of the kind.

import { KINDS, isPublicKind, resolveAnyKind } from '../kinds.js';
import { API_VERSION, PUBLIC_KINDS, type PublicKind } from '../types.js';
import { closest } from '../suggest.js';
import { bgpConfigurationSpec, bgpPeerSpec } from './bgp.js';
import { hostEndpointSpec, nodeSpec, nodeStatus, workloadEndpointSpec, workloadEndpointStatus } from './endpoints.js';
import { felixConfigurationSpec } from './felix.js';
import { metadataSchema } from './meta.js';
import { ipPoolSpec, networkSetSpec } from './network.js';
import { globalNetworkPolicySpec, networkPolicySpec, profileSpec } from './policy.js';
import { describeValue } from './problems.js';
import { custom, obj, type CustomSchema, type ObjectSchema } from './schema.js';

const KIND_SCHEMAS: Record<PublicKind, { spec: ObjectSchema; status?: ObjectSchema }> = {
  Node: { spec: nodeSpec, status: nodeStatus },
  WorkloadEndpoint: { spec: workloadEndpointSpec, status: workloadEndpointStatus },
  HostEndpoint: { spec: hostEndpointSpec },
  IPPool: { spec: ipPoolSpec },
  Profile: { spec: profileSpec },
  NetworkPolicy: { spec: networkPolicySpec },
  GlobalNetworkPolicy: { spec: globalNetworkPolicySpec },
  NetworkSet: { spec: networkSetSpec },
  GlobalNetworkSet: { spec: networkSetSpec },
  BGPPeer: { spec: bgpPeerSpec },
  BGPConfiguration: { spec: bgpConfigurationSpec },
  FelixConfiguration: { spec: felixConfigurationSpec },
};

const CALICO_API = /^(crd\.)?projectcalico\.org\//;

const apiVersion: CustomSchema = custom((v, path, problems) => {
  if (v === API_VERSION) return v;
  if (typeof v !== 'string') {
    problems.add(path, `expected "${API_VERSION}", found ${describeValue(v)}`);
  } else if (CALICO_API.test(v)) {
    problems.add(path, `${v} is Calico's API version: change it to ${API_VERSION} (the resource fields are as in Calico)`);
  } else {
    problems.add(path, `unsupported apiVersion ${JSON.stringify(v)}: use ${API_VERSION}`);
  }
  return v;
});

/** The public kind `v` names exactly, or undefined. */
export function exactPublicKind(v: unknown): PublicKind | undefined {
  return typeof v === 'string' && isPublicKind(v) ? v : undefined;
}

/** Why `v` is not a public kind name, or undefined when it is one. */
export function kindProblem(v: unknown): string | undefined {
  if (exactPublicKind(v) !== undefined) return undefined;
  if (typeof v !== 'string') return `expected a kind name such as NetworkPolicy, found ${describeValue(v)}`;
  let near: string | undefined;
  try {
    const k = resolveAnyKind(v);
    if (KINDS[k].internal) return `${k} is internal to Twill (IPAM bookkeeping) and cannot be written as a resource`;
    near = k;
  } catch {
    near = closest(v, PUBLIC_KINDS);
  }
  if (near === undefined && v.endsWith('List')) return `unknown kind ${JSON.stringify(v)}: a list of resources is written as kind: List with items`;
  return near !== undefined
    ? `unknown kind ${JSON.stringify(v)} (did you mean ${near}?)`
    : `unknown kind ${JSON.stringify(v)}: use one of ${PUBLIC_KINDS.join(', ')}`;
}

const kindField: CustomSchema = custom((v, path, problems) => {
  const p = kindProblem(v);
  if (p) problems.add(path, p);
  return v;
});

const passthrough: CustomSchema = custom((v) => v);

const cache = new Map<PublicKind | undefined, ObjectSchema>();

/** The schema of a whole resource of `kind` (undefined: kind unknown, spec and status unchecked). */
export function resourceSchema(kind: PublicKind | undefined): ObjectSchema {
  let s = cache.get(kind);
  if (s) return s;
  const k = kind === undefined ? undefined : KIND_SCHEMAS[kind];
  const fields = {
    apiVersion,
    kind: kindField,
    metadata: metadataSchema(kind),
    spec: k?.spec ?? passthrough,
    ...(kind === undefined ? { status: passthrough } : k?.status ? { status: k.status } : {}),
  };
  s = obj(fields, {
    required: ['apiVersion', 'kind', 'metadata'],
    unknownField: (key) =>
      key === 'status' && kind !== undefined ? `${kind} has no status (only Node and WorkloadEndpoint do)` : undefined,
  });
  cache.set(kind, s);
  return s;
}
