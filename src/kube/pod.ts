// v1 Pod → its WorkloadEndpoint(s): the pod's labels, and (when the document lists containers)
// its named container ports. The endpoint is the one twill-cni wrote for the pod (namespace and
// `spec.pod`); a pod with none is an error, since Twill cannot invent the interface.
import type { EndpointPort, WorkloadEndpointResource } from '../api/types.js';
import { fail, isRecord, kubeMeta, list, record } from './check.js';
import { KubeConvertError } from './errors.js';

/** The endpoints of pod `namespace/name` among `endpoints`. */
export function podEndpoints(namespace: string, name: string, endpoints: readonly WorkloadEndpointResource[]): WorkloadEndpointResource[] {
  return endpoints.filter((e) => (e.metadata.namespace ?? 'default') === namespace && e.spec.pod === name);
}

/** The pod's namespace and name (for looking its endpoints up), checked. */
export function podKey(doc: unknown): { namespace: string; name: string } {
  const { meta } = kubeMeta('Pod', doc, true);
  return { namespace: meta.namespace, name: meta.name };
}

/**
 * The endpoints updated with the pod's labels and named ports. `endpoints` may hold any
 * endpoints; the pod's are picked by namespace and `spec.pod`. Throws KubeConvertError when
 * there are none.
 */
export function convertPod(doc: unknown, endpoints: readonly WorkloadEndpointResource[]): WorkloadEndpointResource[] {
  const { at, meta, raw } = kubeMeta('Pod', doc, true);
  const mine = podEndpoints(meta.namespace, meta.name, endpoints);
  if (mine.length === 0) {
    throw new KubeConvertError(
      at.object,
      'metadata.name',
      `no WorkloadEndpoint in namespace ${meta.namespace} has spec.pod ${meta.name}`,
      'twill-cni writes a pod\'s endpoint when the pod starts (Kubernetes mode: K8S_POD_NAMESPACE, K8S_POD_NAME); see `twillctl get workloadendpoints -n ' + meta.namespace + '`',
    );
  }
  let ports: EndpointPort[] | undefined;
  const spec = isRecord(raw.spec) ? raw.spec : undefined;
  if (spec !== undefined && spec.containers !== undefined) {
    ports = [];
    list(at, 'spec.containers', spec.containers).forEach((c, i) => {
      const cr = isRecord(c) ? c : fail(at, `spec.containers[${i}]`, 'must be an object');
      list(at, `spec.containers[${i}].ports`, cr.ports).forEach((p, j) => {
        const f = `spec.containers[${i}].ports[${j}]`;
        const pr = record(at, f, p, Object.keys(isRecord(p) ? p : {}));
        if (pr.name === undefined) return; // only named ports matter to policy
        const protocol = pr.protocol ?? 'TCP';
        if (protocol !== 'TCP' && protocol !== 'UDP' && protocol !== 'SCTP') fail(at, `${f}.protocol`, `${JSON.stringify(protocol)} is not TCP, UDP or SCTP`);
        if (typeof pr.name !== 'string' || pr.name === '') fail(at, `${f}.name`, 'must be a port name');
        const port = pr.containerPort;
        if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) fail(at, `${f}.containerPort`, 'must be a port (1..65535)');
        ports!.push({ name: pr.name, protocol, port });
      });
    });
  }
  return mine.map((e) => {
    const spec2 = { ...e.spec };
    if (ports !== undefined) {
      if (ports.length > 0) spec2.ports = ports;
      else delete spec2.ports;
    }
    const metadata = { ...e.metadata };
    if (Object.keys(meta.labels).length > 0) metadata.labels = { ...meta.labels };
    else delete metadata.labels;
    return { ...e, metadata, spec: spec2 };
  });
}
