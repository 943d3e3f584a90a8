// twill-node's command line.
import { Command, InvalidArgumentError } from 'commander';
import { TwillError, errorMessage } from '../errors.js';
import { addEtcdTlsOptions, etcdTlsFiles, type EtcdTlsFiles } from '../lib/etcd-flags.js';
import { LOG_LEVELS, type LogLevel } from '../lib/logger.js';
import { defaultNodeName } from '../nodeapi/defaults.js';
import { parseAutodetectMethod } from './autodetect.js';

export interface NodeArgs extends EtcdTlsFiles {
  nodeName: string;
  datastore: string;
  /** 0 = off. */
  healthPort: number;
  healthHost: string;
  /** 0 = off. */
  metricsPort: number;
  logLevel: LogLevel;
  /** Full kernel read-back period, ms. Absent: FelixConfiguration iptablesRefreshInterval (90 s). */
  refreshMs?: number;
  iptablesBackend: 'Auto' | 'NFT' | 'Legacy';
  /** Program IPv6 (ip6tables, v6 routes) at all. */
  ipv6: boolean;
  /** Run the BGP speaker (default true; --no-bgp when another daemon routes for this host). */
  bgp: boolean;
  /** The node's addresses, "ADDR/LEN" (see identity.ts for the order of precedence). */
  nodeIp?: string;
  nodeIp6?: string;
  /** Autodetection methods (autodetect.ts). */
  ipAutodetection?: string;
  ip6Autodetection?: string;
  /** The local API's unix socket; '' = off. Default /run/twill/<node-name>.sock. */
  apiSocket?: string;
  /** Where CNI calls are served (twill-cni hands them over); '' = off. Default /run/twill/cni.sock. */
  cniSocket?: string;
  /** IPAM garbage collection of this host's leaked addresses: pass period (0 = off) and grace, ms. */
  ipamGcIntervalMs: number;
  ipamGcGraceMs: number;
}

export class NodeArgsError extends TwillError {
  constructor(message: string) {
    super('NodeArgs', message, { hint: 'run "twill-node --help" for the options' });
  }
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`${v} is not a port number (0-65535)`);
  return n;
}

function durationMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  if (!m) throw new InvalidArgumentError(`${v} is not a duration like 10s, 500ms or 2m`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

export function parseNodeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): NodeArgs {
  const cmd = addEtcdTlsOptions(
    new Command('twill-node')
      .description('Twill node agent: policy and routes (felix) for the network namespace it runs in')
      .option('--node-name <name>', 'this host\'s Node name (env TWILL_NODE_NAME; default: the host name)', env.TWILL_NODE_NAME ?? defaultNodeName())
      .option('--datastore <url>', 'datastore URL: etcd://host:port, file:PATH, memory: (env TWILL_DATASTORE)', env.TWILL_DATASTORE),
  )
    .option('--health-port <port>', 'health endpoint port (0 = off)', port, 9099)
    .option('--health-host <addr>', 'address the health and metrics endpoints listen on', '127.0.0.1')
    .option('--metrics-port <port>', 'Prometheus metrics port (0 = off)', port, 0)
    .option('--log-level <level>', 'trace, debug, info, warn, error', env.TWILL_LOG_LEVEL ?? 'info')
    .option('--refresh-interval <duration>', 'full kernel read-back period (repairs drift); default: FelixConfiguration iptablesRefreshInterval, 90s', durationMs)
    .option('--iptables-backend <b>', 'Auto, NFT or Legacy', 'Auto')
    .option('--no-ipv6', 'do not program IPv6 (ip6tables, IPv6 routes)')
    .option('--no-bgp', 'do not run the BGP speaker (another routing daemon announces this host\'s blocks)')
    .option('--node-ip <addr/len>', 'this node\'s IPv4 address and prefix length (default: the Node resource\'s, else autodetected)')
    .option('--node-ip6 <addr/len>', 'this node\'s IPv6 address and prefix length')
    .option('--ip-autodetection <method>', 'how to find the IPv4 address: first-found, interface=REGEX, skip-interface=REGEX, can-reach=ADDR, cidr=CIDR[,CIDR]; default: the Node resource\'s address, else the only candidate')
    .option('--ip6-autodetection <method>', 'the same for IPv6 (default: none unless the Node resource has one)')
    .option('--api-socket <path>', 'unix socket of the local API (twillctl node status); "" = off', undefined)
    .option('--cni-socket <path>', 'unix socket where twill-cni calls are served (default /run/twill/cni.sock); "" = off', undefined)
    .option('--ipam-gc-interval <duration>', 'how often to release addresses of this node that no workload endpoint uses (0 = never)', durationMs, 60_000)
    .option('--ipam-gc-grace <duration>', 'how long such an address stays unused before it is released', durationMs, 15 * 60_000)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<EtcdTlsFiles & {
    nodeName?: string;
    datastore?: string;
    healthPort: number;
    healthHost: string;
    metricsPort: number;
    logLevel: string;
    refreshInterval?: number;
    iptablesBackend: string;
    ipv6: boolean;
    bgp: boolean;
    nodeIp?: string;
    nodeIp6?: string;
    ipAutodetection?: string;
    ip6Autodetection?: string;
    apiSocket?: string;
    cniSocket?: string;
    ipamGcInterval: number;
    ipamGcGrace: number;
  }>();
  if (!o.nodeName) throw new NodeArgsError('no node name: pass --node-name NAME (or set TWILL_NODE_NAME)');
  for (const [flag, v] of [['--ip-autodetection', o.ipAutodetection], ['--ip6-autodetection', o.ip6Autodetection]] as const) {
    if (v !== undefined) {
      try {
        parseAutodetectMethod(v);
      } catch (e) {
        throw new NodeArgsError(`${flag}: ${errorMessage(e)}`);
      }
    }
  }
  if (!o.datastore) throw new NodeArgsError('no datastore: pass --datastore URL (or set TWILL_DATASTORE), e.g. etcd://127.0.0.1:2379');
  const backend = o.iptablesBackend.toLowerCase();
  const iptablesBackend = backend === 'nft' ? 'NFT' : backend === 'legacy' ? 'Legacy' : backend === 'auto' ? 'Auto' : undefined;
  if (!iptablesBackend) throw new NodeArgsError(`--iptables-backend ${o.iptablesBackend}: use Auto, NFT or Legacy`);
  if (!(LOG_LEVELS as readonly string[]).includes(o.logLevel)) {
    throw new NodeArgsError(`--log-level ${o.logLevel}: use trace, debug, info, warn or error`);
  }
  return {
    nodeName: o.nodeName,
    datastore: o.datastore,
    ...etcdTlsFiles(o),
    healthPort: o.healthPort,
    healthHost: o.healthHost,
    metricsPort: o.metricsPort,
    logLevel: o.logLevel as LogLevel,
    ...(o.refreshInterval !== undefined ? { refreshMs: o.refreshInterval } : {}),
    iptablesBackend,
    ipv6: o.ipv6,
    bgp: o.bgp,
    ...(o.nodeIp ? { nodeIp: o.nodeIp } : {}),
    ...(o.nodeIp6 ? { nodeIp6: o.nodeIp6 } : {}),
    ...(o.ipAutodetection ? { ipAutodetection: o.ipAutodetection } : {}),
    ...(o.ip6Autodetection ? { ip6Autodetection: o.ip6Autodetection } : {}),
    ...(o.apiSocket !== undefined ? { apiSocket: o.apiSocket } : {}),
    ...(o.cniSocket !== undefined ? { cniSocket: o.cniSocket } : {}),
    ipamGcIntervalMs: o.ipamGcInterval,
    ipamGcGraceMs: o.ipamGcGrace,
  };
}
