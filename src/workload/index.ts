// Workload wiring: naming, the veth plumbing (netlink) and the endpoint spec hash.
export {
  DEFAULT_IFACE_PREFIX,
  HOST_VETH_MAC,
  WORKLOAD_GATEWAY4,
  WORKLOAD_GATEWAY6,
  attachmentKey,
  workloadEndpointName,
  workloadIface,
  type EndpointIdentifiers,
} from './naming.js';
export { inspectWorkload, plumbWorkload, unplumbWorkload, type PlumbRequest, type Plumbed } from './plumb.js';
export { workloadSpecHash } from '../api/spec-hash.js';
