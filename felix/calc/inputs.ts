// Datastore objects → the calculation's own records (parsed once per update). Pure.

import type { EndpointPort, NetworkSetResource, GlobalNetworkSetResource, WorkloadEndpointResource } from '../../src/api/types.js';
import { canonNet } from './convert-rule.js';
import { NAMESPACE_LABEL } from './match.js';

/** What every labelled item contributes to the sets that match it. */
export interface ItemData {
  /** Set-member text (host prefixes bare). */
  members4: string[];
  members6: string[];
  /** Host addresses (for named-port members). */
  hostIps4: string[];
  hostIps6: string[];
  ports: EndpointPort[];
}

export interface WepInfo extends ItemData {
  /** "<namespace>/<name>" */
  key: string;
  namespace: string;
  name: string;
  node: string;
  interfaceName: string;
  mac: string | undefined;
  /** Canonical CIDRs, sorted. */
  nets4: string[];
  nets6: string[];
  ownLabels: Record<string, string>;
  profiles: string[];
  orchestrator: string | undefined;
  serviceAccount: string | undefined;
}

export interface NetSetInfo extends ItemData {
  /** Index item key: "n/<namespace>/<name>" or "g/<name>". */
  itemKey: string;
  namespace: string | undefined;
  labels: Record<string, string>;
}

function uniqSorted(xs: string[]): string[] {
  return [...new Set(xs)].sort();
}

export function wepKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? 'default'}/${name}`;
}

export function parseWep(r: WorkloadEndpointResource, problems: string[]): WepInfo {
  const spec = r.spec;
  const namespace = r.metadata.namespace ?? 'default';
  const nets4: string[] = [];
  const nets6: string[] = [];
  const members4: string[] = [];
  const members6: string[] = [];
  const hostIps4: string[] = [];
  const hostIps6: string[] = [];
  for (const text of spec?.ipNetworks ?? []) {
    try {
      const n = canonNet(text);
      const host = !n.member.includes('/');
      if (n.family === 4) {
        nets4.push(n.cidr);
        members4.push(n.member);
        if (host) hostIps4.push(n.member);
      } else {
        nets6.push(n.cidr);
        members6.push(n.member);
        if (host) hostIps6.push(n.member);
      }
    } catch (e) {
      problems.push(`ipNetworks: ${e instanceof Error ? e.message : String(e)} (address ignored)`);
    }
  }
  const profiles: string[] = [];
  for (const p of spec?.profiles ?? []) if (!profiles.includes(p)) profiles.push(p);
  if (typeof spec?.interfaceName !== 'string' || spec.interfaceName === '') {
    problems.push('spec.interfaceName is empty (the endpoint is not programmed)');
  }
  return {
    key: wepKey(namespace, r.metadata.name),
    namespace,
    name: r.metadata.name,
    node: spec?.node ?? '',
    interfaceName: spec?.interfaceName ?? '',
    mac: spec?.mac,
    nets4: uniqSorted(nets4),
    nets6: uniqSorted(nets6),
    members4: uniqSorted(members4),
    members6: uniqSorted(members6),
    hostIps4: uniqSorted(hostIps4),
    hostIps6: uniqSorted(hostIps6),
    ports: (spec?.ports ?? []).map((p) => ({ name: p.name, protocol: p.protocol, port: p.port })),
    ownLabels: { ...(r.metadata.labels ?? {}) },
    profiles,
    orchestrator: spec?.orchestrator,
    serviceAccount: spec?.serviceAccountName,
  };
}

export function parseNetSet(r: NetworkSetResource | GlobalNetworkSetResource, problems: string[]): NetSetInfo {
  const namespaced = r.kind === 'NetworkSet';
  const namespace = namespaced ? (r.metadata.namespace ?? 'default') : undefined;
  const members4: string[] = [];
  const members6: string[] = [];
  for (const text of r.spec?.nets ?? []) {
    try {
      const n = canonNet(text);
      (n.family === 4 ? members4 : members6).push(...n.setMembers);
    } catch (e) {
      problems.push(`nets: ${e instanceof Error ? e.message : String(e)} (net ignored)`);
    }
  }
  const labels: Record<string, string> = { ...(r.metadata.labels ?? {}) };
  if (namespace !== undefined) labels[NAMESPACE_LABEL] = namespace;
  return {
    itemKey: namespace !== undefined ? `n/${namespace}/${r.metadata.name}` : `g/${r.metadata.name}`,
    namespace,
    labels: sortLabels(labels),
    members4: uniqSorted(members4),
    members6: uniqSorted(members6),
    hostIps4: [],
    hostIps6: [],
    ports: [],
  };
}

export function sortLabels(l: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(l).sort()) out[k] = l[k]!;
  return out;
}
