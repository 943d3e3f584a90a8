// The Kubernetes objects the converter reads, as far as it reads them (networking.k8s.io/v1
// NetworkPolicy, v1 Namespace, v1 Pod). Only what matters to policy; everything is optional
// because input comes from files and an API server alike, and the converter checks it.

export interface KubeObjectMeta {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [key: string]: unknown;
}

export interface KubeLabelSelectorRequirement {
  key?: string;
  operator?: string;
  values?: string[];
}

export interface KubeLabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: KubeLabelSelectorRequirement[];
}

export interface KubeIPBlock {
  cidr?: string;
  except?: string[];
}

export interface KubeNetworkPolicyPeer {
  podSelector?: KubeLabelSelector;
  namespaceSelector?: KubeLabelSelector;
  ipBlock?: KubeIPBlock;
}

export interface KubeNetworkPolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

export interface KubeNetworkPolicyIngressRule {
  from?: KubeNetworkPolicyPeer[];
  ports?: KubeNetworkPolicyPort[];
}

export interface KubeNetworkPolicyEgressRule {
  to?: KubeNetworkPolicyPeer[];
  ports?: KubeNetworkPolicyPort[];
}

export interface KubeNetworkPolicySpec {
  podSelector?: KubeLabelSelector;
  policyTypes?: string[];
  ingress?: KubeNetworkPolicyIngressRule[];
  egress?: KubeNetworkPolicyEgressRule[];
}

export interface KubeNetworkPolicy {
  apiVersion: 'networking.k8s.io/v1';
  kind: 'NetworkPolicy';
  metadata: KubeObjectMeta;
  spec?: KubeNetworkPolicySpec;
}

export interface KubeNamespace {
  apiVersion: 'v1';
  kind: 'Namespace';
  metadata: KubeObjectMeta;
  spec?: unknown;
}

export interface KubeContainerPort {
  name?: string;
  containerPort?: number;
  protocol?: string;
  [key: string]: unknown;
}

export interface KubePod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: KubeObjectMeta;
  spec?: { containers?: { name?: string; ports?: KubeContainerPort[]; [key: string]: unknown }[]; [key: string]: unknown };
}

export type KubeObject = KubeNetworkPolicy | KubeNamespace | KubePod;

/** The (apiVersion, kind) pairs the converter reads. */
export const KUBE_KINDS = [
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy' },
  { apiVersion: 'v1', kind: 'Namespace' },
  { apiVersion: 'v1', kind: 'Pod' },
] as const;

/** Is this document one of the Kubernetes kinds the converter reads? */
export function isKubeObject(doc: unknown): doc is KubeObject {
  if (typeof doc !== 'object' || doc === null) return false;
  const d = doc as { apiVersion?: unknown; kind?: unknown };
  return KUBE_KINDS.some((k) => k.apiVersion === d.apiVersion && k.kind === d.kind);
}
