// FelixConfiguration spec (the policy and route agent's settings).

import { LOG_SEVERITIES } from './bgp.js';
import { duration, portNumber } from './scalars.js';
import { bool, int, list, obj, str, type ObjectSchema } from './schema.js';

/** Kernel route protocol numbers that belong to the kernel or to other routing daemons. */
const TAKEN_ROUTE_PROTOCOLS: ReadonlyMap<number, string> = new Map([
  [1, 'the kernel (redirect)'],
  [2, 'the kernel'],
  [3, 'the kernel (boot)'],
  [4, 'static routes'],
  [11, 'zebra (FRR/Quagga)'],
  [12, 'BIRD'],
  [85, 'twill-bgp (its learned routes)'],
  [186, 'FRR (bgp)'],
  [187, 'FRR (isis)'],
  [188, 'FRR (ospf)'],
  [189, 'FRR (rip)'],
  [192, 'FRR (eigrp)'],
]);

/** Longest interface prefix: names are prefix + an 11-character hash, and the kernel allows 15. */
export const MAX_INTERFACE_PREFIX = 4;

function popcount(n: number): number {
  let c = 0;
  for (let v = n >>> 0; v !== 0; v >>>= 1) c += v & 1;
  return c;
}

const failsafePorts = () =>
  list(obj({ protocol: str({ enum: ['TCP', 'UDP'] }), port: portNumber() }, { required: ['protocol', 'port'] }));

export const felixConfigurationSpec: ObjectSchema = obj({
  interfacePrefix: str({
    check: (v, path, problems) => {
      if (!/^[a-z][a-z0-9]*$/.test(v)) {
        problems.add(path, `${JSON.stringify(v)} is not a valid interface prefix: lower-case letters and digits, starting with a letter`);
      } else if (v.length > MAX_INTERFACE_PREFIX) {
        problems.add(
          path,
          `${JSON.stringify(v)} is too long: at most ${MAX_INTERFACE_PREFIX} characters ` +
            '(interface names are the prefix plus an 11-character hash, and the kernel allows 15)',
        );
      }
    },
  }),
  iptablesMarkMask: int(0, 0xffffffff, (v, path, problems) => {
    if (popcount(v) < 2) {
      problems.add(path, `0x${v.toString(16)} has ${popcount(v)} bit(s) set: Twill needs at least 2 (accept and pass marks)`);
    }
  }),
  iptablesRefreshInterval: duration(),
  routeRefreshInterval: duration(),
  iptablesBackend: str({ enum: ['Auto', 'NFT', 'Legacy'] }),
  defaultEndpointToHostAction: str({ enum: ['Drop', 'Accept', 'Return'] }),
  logSeverityScreen: str({ enum: LOG_SEVERITIES }),
  ipv6Support: bool(),
  healthEnabled: bool(),
  healthPort: portNumber(),
  prometheusMetricsEnabled: bool(),
  prometheusMetricsPort: portNumber(),
  failsafeInboundHostPorts: failsafePorts(),
  failsafeOutboundHostPorts: failsafePorts(),
  routeProtocol: int(1, 255, (v, path, problems) => {
    const owner = TAKEN_ROUTE_PROTOCOLS.get(v);
    if (owner) problems.add(path, `route protocol ${v} is used by ${owner}; pick another (the default is 84)`);
  }),
  mtu: int(68, 65535),
  logDeniedPackets: bool(),
  logDeniedPacketsRate: int(1, 10000),
  logDeniedPacketsBurst: int(1, 10000),
  logDeniedPacketsGroup: int(1, 65535),
});
