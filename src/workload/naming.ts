// Names and fixed addresses of a workload's plumbing, shared by the CNI plugin, twill-node and
// tests: the host-side veth name, the MAC every host side carries, the gateways the container
// routes through, and Calico's WorkloadEndpoint naming for non-Kubernetes runtimes.
import { createHash } from 'node:crypto';

/** The container's IPv4 gateway: never answered by anything but the host veth's proxy ARP / the permanent neighbour entry. */
export const WORKLOAD_GATEWAY4 = '169.254.1.1';
/** The MAC of every host-side workload veth. */
export const HOST_VETH_MAC = 'ee:ee:ee:ee:ee:ee';
/** The host side's IPv6 link-local address (EUI-64 of HOST_VETH_MAC): the workloads' IPv6 gateway. */
export const WORKLOAD_GATEWAY6 = 'fe80::ecee:eeff:feee:eeee';
/** The interface prefix twill-node polices by default (FelixConfiguration interfacePrefix). */
export const DEFAULT_IFACE_PREFIX = 'tw';

/** prefix + hex digits of sha1(key), 15 characters in all (the kernel's IFNAMSIZ - 1). */
export function workloadIface(key: string, prefix = DEFAULT_IFACE_PREFIX): string {
  return prefix + createHash('sha1').update(key).digest('hex').slice(0, 15 - prefix.length);
}

/**
 * The container side's MAC, from the same key as its host veth: locally administered, unicast,
 * known before the veth exists (so the endpoint can be written while the veth is being made). It
 * is only ever seen on that one veth, so two workloads sharing one cannot clash.
 */
export function workloadMac(key: string): string {
  const h = createHash('sha1').update(`mac:${key}`).digest();
  h[0] = (h[0]! & 0xfc) | 0x02;
  return [...h.subarray(0, 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * The key a CNI attachment's host veth is named from: the container id, plus the interface name
 * when it is not eth0 (a container may be attached more than once, on different interfaces).
 */
export function attachmentKey(containerID: string, ifname: string): string {
  return ifname === 'eth0' || ifname === '' ? containerID : `${containerID}/${ifname}`;
}

export interface EndpointIdentifiers {
  node: string;
  orchestrator: string;
  workload: string;
  endpoint: string;
}

/**
 * Calico's WorkloadEndpoint name: `<node>-<orchestrator>-<workload>-<endpoint>`, each part with
 * "-" doubled so the name splits back unambiguously (node "h-1", workload "abc" →
 * "h--1-cni-abc-eth0").
 */
export function workloadEndpointName(ids: EndpointIdentifiers): string {
  return [ids.node, ids.orchestrator, ids.workload, ids.endpoint].map((p) => p.replace(/-/g, '--')).join('-');
}
