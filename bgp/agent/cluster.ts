// Reads the cluster-wide settings (BGPConfiguration) and every Node's BGP identity. Pure; every
// problem becomes a sentence, never an exception.

import { createHash } from 'node:crypto';
import { formatIp, parseCidr, type IpAddr, type IpFamily } from '../../src/api/cidr.js';
import { BGP_CONFIGURATION_DEFAULTS } from '../../src/api/defaults.js';
import { parseDuration } from '../../src/api/duration.js';
import type { BGPConfigurationSpec, NodeResource } from '../../src/api/types.js';
import type { Labels } from '../../src/api/selector/index.js';
import type { AgentSnapshot } from './types.js';

export const DEFAULT_BGP_PORT = 179;

/** One node's BGP identity. */
export interface NodeBgp {
  name: string;
  labels: Labels;
  /** Canonical addresses (no prefix length) per family. */
  addr: Partial<Record<IpFamily, IpAddr>>;
  /** The same, as text. */
  addrText: Partial<Record<IpFamily, string>>;
  asn: number;
  /** routeReflectorClusterID, when the node is a reflector. */
  clusterId?: string;
  /** The port its speaker listens on. */
  port: number;
}

export interface ClusterBgp {
  asn: number;
  mesh: boolean;
  /** BGPConfiguration default's spec (or empty). */
  spec: BGPConfigurationSpec;
  nodes: Map<string, NodeBgp>;
}

export function isAsn(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 0xffffffff;
}

/** Whole seconds of a duration text, or a problem. */
export function seconds(text: string, what: string, problems: string[]): number | undefined {
  const ms = parseDuration(text);
  if (ms === undefined) {
    problems.push(`${what}: "${text}" is not a duration: write e.g. "90s", "2m" or "1m30s"`);
    return undefined;
  }
  // Whole seconds; a non-zero duration never becomes 0 (which would mean "off" for a hold time).
  return ms === 0 ? 0 : Math.max(1, Math.round(ms / 1000));
}

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function isDottedQuad(s: string): boolean {
  const m = DOTTED_QUAD.exec(s);
  return m !== null && m.slice(1).every((x) => Number(x) <= 255);
}

function nodeAddress(node: NodeResource, family: IpFamily, problems: string[]): IpAddr | undefined {
  const field = family === 4 ? 'ipv4Address' : 'ipv6Address';
  const text = node.spec?.bgp?.[field];
  if (text === undefined || text === '') return undefined;
  const what = `Node ${node.metadata.name}: spec.bgp.${field}`;
  try {
    const c = parseCidr(text, { strict: false, allowBare: true });
    if (c.family !== family) {
      problems.push(`${what} "${text}" is not an IPv${family} address`);
      return undefined;
    }
    if (c.addr === 0n) {
      problems.push(`${what} "${text}" is the unspecified address; use the node's own address`);
      return undefined;
    }
    return { family: c.family, addr: c.addr };
  } catch (e) {
    problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    return undefined;
  }
}

function listenPortOf(spec: BGPConfigurationSpec | undefined, what: string, problems: string[]): number | undefined {
  const p = spec?.listenPort;
  if (p === undefined) return undefined;
  if (Number.isInteger(p) && p >= 1 && p <= 65535) return p;
  problems.push(`${what}: listenPort ${JSON.stringify(p)} is not a TCP port (1..65535); using ${DEFAULT_BGP_PORT}`);
  return undefined;
}

interface NodeAddresses {
  addr: Partial<Record<IpFamily, IpAddr>>;
  addrText: Partial<Record<IpFamily, string>>;
  problems: string[];
}

// Parsed addresses per Node object (objects are never changed once stored; see store.ts).
const addressMemo = new WeakMap<NodeResource, NodeAddresses>();

function addressesOf(n: NodeResource): NodeAddresses {
  let a = addressMemo.get(n);
  if (a === undefined) {
    a = { addr: {}, addrText: {}, problems: [] };
    for (const f of [4, 6] as const) {
      const ip = nodeAddress(n, f, a.problems);
      if (ip !== undefined) {
        a.addr[f] = ip;
        a.addrText[f] = formatIp(ip);
      }
    }
    addressMemo.set(n, a);
  }
  return a;
}

export function readCluster(s: AgentSnapshot, problems: string[]): ClusterBgp {
  const specs = new Map(s.bgpConfigurations.map((c) => [c.metadata.name, c.spec ?? {}]));
  const spec = specs.get('default') ?? {};
  let asn: number = BGP_CONFIGURATION_DEFAULTS.asNumber;
  if (spec.asNumber !== undefined) {
    if (isAsn(spec.asNumber)) asn = spec.asNumber;
    else problems.push(`BGPConfiguration default: asNumber ${JSON.stringify(spec.asNumber)} is not an AS number (1..4294967295); using ${asn}`);
  }
  const clusterPort = listenPortOf(spec, 'BGPConfiguration default', problems) ?? DEFAULT_BGP_PORT;
  const nodes = new Map<string, NodeBgp>();
  const perNode = [...specs.keys()].some((k) => k.startsWith('node.'));
  for (const n of s.nodes) {
    const name = n.metadata.name;
    const bgp = n.spec?.bgp;
    const addrs = addressesOf(n);
    problems.push(...addrs.problems);
    const nodeSpec = perNode ? specs.get(`node.${name}`) : undefined;
    const info: NodeBgp = {
      name,
      labels: n.metadata.labels ?? {},
      addr: addrs.addr,
      addrText: addrs.addrText,
      asn,
      port: (nodeSpec !== undefined ? listenPortOf(nodeSpec, `BGPConfiguration node.${name}`, problems) : undefined) ?? clusterPort,
    };
    if (bgp?.asNumber !== undefined) {
      if (isAsn(bgp.asNumber)) info.asn = bgp.asNumber;
      else problems.push(`Node ${name}: spec.bgp.asNumber ${JSON.stringify(bgp.asNumber)} is not an AS number (1..4294967295); using the cluster's ${asn}`);
    }
    const cid = bgp?.routeReflectorClusterID;
    if (cid !== undefined && cid !== '') {
      if (isDottedQuad(cid)) info.clusterId = cid;
      else problems.push(`Node ${name}: spec.bgp.routeReflectorClusterID "${cid}" is not a dotted quad (e.g. 244.0.0.1); the node is not a route reflector`);
    }
    nodes.set(name, info);
  }
  return { asn, mesh: spec.nodeToNodeMeshEnabled ?? BGP_CONFIGURATION_DEFAULTS.nodeToNodeMeshEnabled, spec, nodes };
}

/**
 * The BGP identifier: the IPv4 address, else (IPv6-only node) four octets of SHA-256 of the IPv6
 * address, so it is stable and unlikely to collide.
 */
export function routerIdOf(n: NodeBgp): string {
  const v4 = n.addr[4];
  if (v4 !== undefined) return n.addrText[4]!;
  const h = createHash('sha256').update(n.addrText[6]!).digest();
  const b = [h[0]! || 1, h[1]!, h[2]!, h[3]!];
  return b.join('.');
}
