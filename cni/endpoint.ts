// The attachment's WorkloadEndpoint: building it, the network's profile for endpoints made
// outside Kubernetes, writing it, waiting until twill-node has programmed it, and deleting it.
import { API_VERSION, type ProfileResource, type WorkloadEndpointResource, type WorkloadEndpointSpec } from '../src/api/types.js';
import type { Datastore } from '../src/datastore/types.js';
import { AlreadyExistsError, ConflictError, NotFoundError } from '../src/datastore/errors.js';
import { workloadEndpointName } from '../src/workload/naming.js';
import { workloadSpecHash } from '../src/api/spec-hash.js';
import type { TwillCniConfig } from './config.js';
import { CniCode, CniError, type CniEnv } from './protocol.js';

/** Annotations that tie an endpoint to its CNI attachment (GC and DEL read them). */
export const ANN_NETWORK = 'cni.twill.io/network';
export const ANN_CONTAINER = 'cni.twill.io/containerID';
export const ANN_IFNAME = 'cni.twill.io/ifname';
/** The label every endpoint of a non-Kubernetes network gets (through its profile's labelsToApply). */
export const NETWORK_LABEL = 'twill.io/network';

export interface EndpointKey {
  namespace: string;
  name: string;
  orchestrator: string;
  workload: string;
}

/**
 * Kubernetes (config has a `kubernetes` section and CNI_ARGS names the pod): namespace = the pod's,
 * orchestrator k8s, workload = pod name. Otherwise namespace "default", orchestrator "cni",
 * workload = the container id. Endpoint = CNI_IFNAME.
 */
export function endpointKey(cfg: TwillCniConfig, env: CniEnv): EndpointKey {
  const k8s = cfg.kubernetes && env.args.K8S_POD_NAME !== undefined && env.args.K8S_POD_NAMESPACE !== undefined;
  const orchestrator = k8s ? 'k8s' : 'cni';
  const workload = k8s ? (env.args.K8S_POD_NAME as string) : env.containerID;
  const namespace = k8s ? (env.args.K8S_POD_NAMESPACE as string) : 'default';
  return { namespace, orchestrator, workload, name: workloadEndpointName({ node: cfg.nodename, orchestrator, workload, endpoint: env.ifname }) };
}

export function buildEndpoint(cfg: TwillCniConfig, env: CniEnv, key: EndpointKey, hostIface: string, ipNetworks: string[], mac: string): WorkloadEndpointResource {
  const spec: WorkloadEndpointSpec = {
    node: cfg.nodename,
    orchestrator: key.orchestrator,
    workload: key.workload,
    endpoint: env.ifname,
    containerID: env.containerID,
    interfaceName: hostIface,
    ipNetworks,
    profiles: cfg.kubernetes ? [`kns.${key.namespace}`] : [cfg.network],
  };
  if (key.orchestrator === 'k8s') spec.pod = key.workload;
  if (mac) spec.mac = mac;
  if (cfg.ports.length > 0) spec.ports = cfg.ports;
  return {
    apiVersion: API_VERSION,
    kind: 'WorkloadEndpoint',
    metadata: {
      name: key.name,
      namespace: key.namespace,
      labels: { ...cfg.labels },
      annotations: { [ANN_NETWORK]: cfg.network, [ANN_CONTAINER]: env.containerID, [ANN_IFNAME]: env.ifname },
    },
    spec,
  };
}

/** The network's profile: all egress; ingress from endpoints of the same network. */
export function networkProfile(network: string): ProfileResource {
  return {
    apiVersion: API_VERSION,
    kind: 'Profile',
    metadata: { name: network },
    spec: {
      labelsToApply: { [NETWORK_LABEL]: network },
      ingress: [{ action: 'Allow', source: { selector: `${NETWORK_LABEL} == '${network.replace(/'/g, '')}'` } }],
      egress: [{ action: 'Allow' }],
    },
  };
}

/** How long a server (one datastore object for many calls) trusts that a network's profile exists. */
const PROFILE_SEEN_MS = 60_000;
const profilesSeen = new WeakMap<Datastore, Map<string, number>>();

/**
 * Creates the network's profile unless it exists (a user's edits are kept). A long-running server
 * checks each network once a minute, not on every ADD.
 */
export async function ensureProfile(ds: Datastore, network: string, now = Date.now()): Promise<void> {
  let seen = profilesSeen.get(ds);
  if (!seen) profilesSeen.set(ds, (seen = new Map()));
  if ((seen.get(network) ?? 0) > now) return;
  if (!(await ds.get({ kind: 'Profile', name: network }))) {
    try {
      await ds.create(networkProfile(network));
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
    }
  }
  seen.set(network, now + PROFILE_SEEN_MS);
}

/**
 * Writes the endpoint (replacing one left by an earlier attempt, status cleared). Returns its
 * revision. A create first: one datastore round trip in the common case (an upsert reads first).
 */
export async function writeEndpoint(ds: Datastore, wep: WorkloadEndpointResource): Promise<string> {
  let stored: WorkloadEndpointResource;
  try {
    stored = await ds.create(wep);
  } catch (e) {
    if (!(e instanceof AlreadyExistsError)) throw e;
    stored = await ds.upsert(wep);
  }
  return stored.metadata.resourceVersion ?? '0';
}

/** The error of an ADD whose endpoint was not programmed in time (code 113). */
export function policyTimeout(wep: WorkloadEndpointResource, timeoutMs: number): CniError {
  const { name, namespace } = wep.metadata;
  return new CniError(
    CniCode.PolicyTimeout,
    `twill-node on node ${wep.spec.node} did not program the policy of endpoint ${namespace}/${name} within ${timeoutMs / 1000} s`,
    `hint: check that twill-node is running on this host with --node-name ${wep.spec.node} and the same datastore; raise "policySetupTimeout", or set it to 0 to stop waiting`,
  );
}

/**
 * Resolves once the endpoint's status says programmed for exactly this spec; rejects with a
 * CniError after timeoutMs.
 */
export function waitProgrammed(ds: Datastore, wep: WorkloadEndpointResource, afterRevision: string, timeoutMs: number): Promise<void> {
  const hash = workloadSpecHash(wep.spec);
  const { name, namespace } = wep.metadata;
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void watcher.close().catch(() => undefined);
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => {
      finish(policyTimeout(wep, timeoutMs));
    }, timeoutMs);
    const watcher = ds.watch({ kind: 'WorkloadEndpoint', namespace, afterRevision }, (ev) => {
      if (ev.type === 'deleted' && ev.key.name === name) {
        finish(new CniError(CniCode.Internal, `endpoint ${namespace}/${name} was deleted while ADD waited for its policy`));
      } else if ((ev.type === 'added' || ev.type === 'modified') && ev.resource.metadata.name === name) {
        const st = (ev.resource as WorkloadEndpointResource).status;
        if (st?.programmed === true && st.specHash === hash) finish();
      } else if (ev.type === 'resync') {
        void ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace, name }).then((w) => {
          if (w?.status?.programmed === true && w.status.specHash === hash) finish();
        }, () => undefined);
      }
    });
  });
}

/** Deletes the endpoint if it belongs to this container. Returns whether one was deleted. */
export async function deleteEndpoint(ds: Datastore, key: EndpointKey, containerID: string): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const w = await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: key.namespace, name: key.name });
    if (!w || (w.spec.containerID !== undefined && w.spec.containerID !== containerID)) return false;
    try {
      await ds.delete({ kind: 'WorkloadEndpoint', namespace: key.namespace, name: key.name }, { revision: w.metadata.resourceVersion ?? '' });
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      // twill-node wrote the status meanwhile: read again.
      if (!(e instanceof ConflictError) || attempt >= 5) throw e;
    }
  }
}
