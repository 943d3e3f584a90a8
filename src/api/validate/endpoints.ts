// Node, WorkloadEndpoint and HostEndpoint specs (and their status).

import type { Path, Problems } from './problems.js';
import {
  asNumber,
  cidr,
  interfaceAddress,
  interfaceName,
  interfaceNameProblem,
  ipAddress,
  mac,
  portName,
  portNumber,
  subdomain,
  timestamp,
} from './scalars.js';
import { bool, custom, list, obj, str, type ArraySchema, type ObjectSchema } from './schema.js';

const nonEmpty = () =>
  str({
    check: (v, path, problems) => {
      if (v.length === 0) problems.add(path, 'must not be empty');
    },
  });

export const nodeSpec: ObjectSchema = obj({
  bgp: obj(
    {
      ipv4Address: interfaceAddress(4),
      ipv6Address: interfaceAddress(6),
      asNumber: asNumber(),
      routeReflectorClusterID: ipAddress(4),
    },
    {
      check: (v, path, problems) => {
        if (v.ipv4Address === undefined && v.ipv6Address === undefined) {
          problems.add(path, 'set ipv4Address or ipv6Address (the address this node speaks BGP from)');
        }
      },
    },
  ),
  orchRefs: list(obj({ orchestrator: nonEmpty(), nodeName: str() }, { required: ['orchestrator'] })),
});

export const nodeStatus: ObjectSchema = obj({ agentVersion: str(), lastHeartbeat: timestamp() });

/** Endpoint ports: names unique per protocol. */
function endpointPorts(): ArraySchema {
  return list(
    obj(
      { name: portName(), protocol: str({ enum: ['TCP', 'UDP', 'SCTP'] }), port: portNumber() },
      { required: ['name', 'protocol', 'port'] },
    ),
    {
      check: (ports: unknown[], path: Path, problems: Problems) => {
        const seen = new Set<string>();
        ports.forEach((p, i) => {
          const { name, protocol } = (p ?? {}) as { name?: unknown; protocol?: unknown };
          if (typeof name !== 'string' || typeof protocol !== 'string') return;
          const key = `${protocol}/${name}`;
          if (seen.has(key)) problems.add([...path, i, 'name'], `port name ${name} (${protocol}) is defined twice`);
          seen.add(key);
        });
      },
    },
  );
}

export const workloadEndpointSpec: ObjectSchema = obj(
  {
    node: subdomain(),
    orchestrator: str(),
    workload: str(),
    pod: str(),
    endpoint: str(),
    containerID: str(),
    serviceAccountName: subdomain(),
    interfaceName: interfaceName(),
    mac: mac(),
    ipNetworks: list(cidr(), { minItems: 1 }),
    profiles: list(subdomain()),
    ports: endpointPorts(),
  },
  { required: ['node', 'interfaceName', 'ipNetworks'] },
);

export const workloadEndpointStatus: ObjectSchema = obj({
  programmed: bool(),
  programmedAt: timestamp(),
  programmedBy: str(),
  specHash: str(),
});

export const hostEndpointSpec: ObjectSchema = obj(
  {
    node: subdomain(),
    interfaceName: custom((v, path, problems) => {
      if (typeof v !== 'string') {
        problems.add(path, `expected an interface name (or "*"), found ${JSON.stringify(v)}`);
        return v;
      }
      const p = v === '*' ? undefined : interfaceNameProblem(v);
      if (p) problems.add(path, p);
      return v;
    }),
    expectedIPs: list(ipAddress()),
    profiles: list(subdomain()),
    ports: endpointPorts(),
  },
  {
    required: ['node'],
    check: (v, path, problems) => {
      const ips = v.expectedIPs;
      if (v.interfaceName === undefined && !(Array.isArray(ips) && ips.length > 0)) {
        problems.add(path, 'set interfaceName or expectedIPs (or both), so the endpoint can be matched to an interface');
      }
    },
  },
);
