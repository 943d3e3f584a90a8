// From a model to a concrete plan: every namespace, link, address, router config and resource the
// lab needs, named after the lab so two labs (and parallel tests) never collide. Pure.
//
// Addresses (all inside the lab's own namespaces, never the machine's):
//   rack i LAN            198.18.i.0/24   hosts .1 .. .n, the ToR .254 (the hosts' default gateway)
//   spine (ToRs, >1 rack) 198.19.0.0/24   ToR i at .i, eBGP between ToRs
//   rack i outside LAN    198.19.(100+i).0/24   outside clients .1 .., the ToR .254
import { createHash } from 'node:crypto';
import type { Resource } from '../api/types.js';
import type { LabModel, LabWorkload } from './model.js';
import { torConfig, type TorDaemon, type TorNeighbor } from './tor-config.js';

export interface PlannedHost {
  name: string;
  rack: string;
  ns: string;
  /** Its address on the rack LAN (no length). */
  addr: string;
  gateway: string;
  /** Uplink interface name inside the host namespace. */
  uplink: string;
  routeReflector: boolean;
}

export interface PlannedTor {
  rack: string;
  ns: string;
  /** The routing daemon the model names for this rack. */
  daemon: TorDaemon;
  asn: number;
  /** On the rack LAN. */
  addr: string;
  spineAddr?: string;
  outsideAddr?: string;
  /** Its BGP neighbours: the rack's hosts, then the other ToRs. */
  neighbors: TorNeighbor[];
  /** BIRD's config, or FRR's bgpd config (see tor-config.ts). */
  config: string;
}

export interface PlannedOutside {
  name: string;
  rack: string;
  ns: string;
  addr: string;
  gateway: string;
}

export interface PlannedWorkload extends LabWorkload {
  /** "NAMESPACE/NAME". */
  id: string;
  ns: string;
  containerId: string;
  hostNs: string;
}

export interface PlannedLan {
  /** The switch namespace holding the bridge. */
  ns: string;
  bridge: string;
  /** Members: namespace, interface name inside it, address/len. */
  members: { ns: string; ifName: string; cidr: string }[];
}

export interface LabPlan {
  name: string;
  /** Short tag unique to the lab's name, used in interface names (≤ 15 chars). */
  tag: string;
  hosts: PlannedHost[];
  tors: PlannedTor[];
  outside: PlannedOutside[];
  workloads: PlannedWorkload[];
  lans: PlannedLan[];
  /** Twill resources the lab writes before the nodes start (pools, BGP, namespaces' profiles, RR nodes). */
  resources: Resource[];
  clusterAsn: number;
}

function shortTag(name: string): string {
  return createHash('sha1').update(name).digest('hex').slice(0, 4);
}

/** One workload's names in lab `name` (its namespace, container id), on the host whose namespace is hostNs. */
export function planWorkload(name: string, w: LabWorkload, hostNs: string): PlannedWorkload {
  return { ...w, id: `${w.namespace}/${w.name}`, ns: `${name}-w-${w.namespace}-${w.name}`, containerId: `${name}-${w.namespace}-${w.name}`, hostNs };
}

export function planLab(model: LabModel, name = model.name): LabPlan {
  const tag = shortTag(name);
  const hosts: PlannedHost[] = [];
  const tors: PlannedTor[] = [];
  const lans: PlannedLan[] = [];
  const outside: PlannedOutside[] = [];
  const multiRack = model.racks.length > 1;
  model.racks.forEach((rack, ri) => {
    const r = ri + 1;
    const torNs = `${name}-tor-${rack.name}`;
    const members: PlannedLan['members'] = [];
    rack.hosts.forEach((hn, hi) => {
      const addr = `198.18.${r}.${hi + 1}`;
      const h: PlannedHost = {
        name: hn,
        rack: rack.name,
        ns: `${name}-${hn}`,
        addr,
        gateway: `198.18.${r}.254`,
        uplink: 'eth0',
        routeReflector: model.bgp.routeReflectors.includes(hn),
      };
      hosts.push(h);
      members.push({ ns: h.ns, ifName: 'eth0', cidr: `${addr}/24` });
    });
    members.push({ ns: torNs, ifName: 'rack0', cidr: `198.18.${r}.254/24` });
    lans.push({ ns: `${name}-sw-${rack.name}`, bridge: 'br0', members });
    const outs = model.outside.filter((o) => o.rack === rack.name);
    if (outs.length > 0) {
      const om: PlannedLan['members'] = [];
      outs.forEach((o, oi) => {
        const p: PlannedOutside = { name: o.name, rack: rack.name, ns: `${name}-out-${o.name}`, addr: `198.19.${100 + r}.${oi + 1}`, gateway: `198.19.${100 + r}.254` };
        outside.push(p);
        om.push({ ns: p.ns, ifName: 'eth0', cidr: `${p.addr}/24` });
      });
      om.push({ ns: torNs, ifName: 'out0', cidr: `198.19.${100 + r}.254/24` });
      lans.push({ ns: `${name}-osw-${rack.name}`, bridge: 'br0', members: om });
    }
    tors.push({
      rack: rack.name,
      ns: torNs,
      daemon: rack.tor,
      asn: rack.asn,
      addr: `198.18.${r}.254`,
      ...(multiRack ? { spineAddr: `198.19.0.${r}` } : {}),
      ...(outs.length > 0 ? { outsideAddr: `198.19.${100 + r}.254` } : {}),
      neighbors: [],
      config: '',
    });
  });
  if (multiRack) {
    lans.push({ ns: `${name}-spine`, bridge: 'br0', members: tors.map((t) => ({ ns: t.ns, ifName: 'spine0', cidr: `${t.spineAddr}/24` })) });
  }
  for (const t of tors) {
    t.neighbors = [
      ...hosts.filter((h) => h.rack === t.rack).map((h): TorNeighbor => ({ kind: 'host', name: h.name, addr: h.addr, asn: model.bgp.asn })),
      ...tors.filter((o) => o !== t).map((o): TorNeighbor => ({ kind: 'tor', name: o.rack, addr: o.spineAddr!, asn: o.asn })),
    ];
    t.config = torConfig(t.daemon, { name: `tor-${t.rack}`, routerId: t.addr, asn: t.asn, neighbors: t.neighbors });
  }
  const hostByName = new Map(hosts.map((h) => [h.name, h]));
  const workloads: PlannedWorkload[] = model.workloads.map((w) => planWorkload(name, w, hostByName.get(w.host)!.ns));

  const resources: Resource[] = [];
  const meta = (n: string): { name: string } => ({ name: n });
  model.pools.forEach((p, i) =>
    resources.push({ apiVersion: 'twill.io/v1', kind: 'IPPool', metadata: meta(`lab-pool-${i + 1}`), spec: { cidr: p.cidr, ...(p.blockSize !== undefined ? { blockSize: p.blockSize } : {}) } }),
  );
  resources.push({ apiVersion: 'twill.io/v1', kind: 'BGPConfiguration', metadata: meta('default'), spec: { asNumber: model.bgp.asn, nodeToNodeMeshEnabled: model.bgp.mesh === true } });
  for (const h of hosts) {
    const t = tors.find((x) => x.rack === h.rack)!;
    resources.push({ apiVersion: 'twill.io/v1', kind: 'BGPPeer', metadata: meta(`tor-${h.name}`), spec: { node: h.name, peerIP: t.addr, asNumber: t.asn } });
    resources.push({
      apiVersion: 'twill.io/v1',
      kind: 'Node',
      metadata: { name: h.name, labels: { 'twill.io/rack': h.rack, ...(h.routeReflector ? { 'route-reflector': 'true' } : {}) } },
      spec: { bgp: { ipv4Address: `${h.addr}/24`, ...(h.routeReflector ? { routeReflectorClusterID: '224.0.0.1' } : {}) } },
    });
  }
  if (model.bgp.mesh === 'rack') {
    // A mesh within each rack: other racks' blocks come by the default route through the ToR.
    for (const r of [...new Set(hosts.map((h) => h.rack))]) {
      const sel = `twill.io/rack == '${r}'`;
      resources.push({ apiVersion: 'twill.io/v1', kind: 'BGPPeer', metadata: meta(`rack-mesh-${r}`), spec: { nodeSelector: sel, peerSelector: sel } });
    }
  }
  if (model.bgp.mesh === false) {
    resources.push({ apiVersion: 'twill.io/v1', kind: 'BGPPeer', metadata: meta('peer-with-route-reflectors'), spec: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" } });
  }
  // Each namespace is a profile kns.<ns>, as Kubernetes namespaces are: its labels are the
  // namespace labels selectors see, and it allows everything, so a workload no policy selects is
  // open (Kubernetes' default) and one that a policy selects gets only what policies allow.
  for (const n of model.namespaces) {
    resources.push({
      apiVersion: 'twill.io/v1',
      kind: 'Profile',
      metadata: meta(`kns.${n.name}`),
      spec: { labelsToApply: { ...n.labels }, ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
    });
  }
  return { name, tag, hosts, tors, outside, workloads, lans, resources, clusterAsn: model.bgp.asn };
}
