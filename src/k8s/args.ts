// twill-kube-controllers' command line.
import { hostname } from 'node:os';
import { Command, InvalidArgumentError } from 'commander';
import { TwillError } from '../errors.js';
import { addEtcdTlsOptions, etcdTlsFiles, type EtcdTlsFiles } from '../lib/etcd-flags.js';
import { LOG_LEVELS, type LogLevel } from '../lib/logger.js';

export interface ControllerArgs extends EtcdTlsFiles {
  kubeconfig: string;
  datastore: string;
  /** /health, /liveness, /readiness and /metrics; 0 = off. */
  healthPort: number;
  healthHost: string;
  leaseNamespace: string;
  leaseName: string;
  leaseDurationMs: number;
  identity: string;
  gcGraceMs: number;
  gcIntervalMs: number;
  workers: number;
  logLevel: LogLevel;
}

export class ControllerArgsError extends TwillError {
  constructor(message: string) {
    super('KubeControllerArgs', message, { hint: 'run "twill-kube-controllers --help" for the options' });
  }
}

function int(min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${v} is not a whole number in ${min}..${max}`);
    return n;
  };
}

export function parseControllerArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ControllerArgs {
  const cmd = addEtcdTlsOptions(
    new Command('twill-kube-controllers')
      .description('Keeps Twill\'s datastore in step with a Kubernetes cluster: NetworkPolicies, Namespaces, Pods; IPAM garbage collection')
      .option('--kubeconfig <file>', 'kubeconfig of the cluster (env KUBECONFIG)', env.KUBECONFIG)
      .option('--datastore <url>', 'datastore URL, e.g. etcd://127.0.0.1:2379 (env TWILL_DATASTORE)', env.TWILL_DATASTORE),
  )
    .option('--health-port <port>', '/health, /liveness, /readiness and /metrics port (0 = off)', int(0, 65535), 9094)
    .option('--health-host <addr>', 'address the health and metrics endpoints listen on', '127.0.0.1')
    .option('--lease-namespace <ns>', 'namespace of the leader-election Lease', 'kube-system')
    .option('--lease-name <name>', 'name of the leader-election Lease', 'twill-kube-controllers')
    .option('--lease-duration-seconds <n>', 'how long a lease holder may go without renewing before a standby takes over', int(1, 3600), 15)
    .option('--identity <id>', 'this replica\'s holder identity in the Lease (default: HOSTNAME_PID)', `${hostname()}_${process.pid}`)
    .option('--gc-grace-seconds <n>', 'how long a pod must be gone (and an address unused) before IPAM garbage collection frees it', int(0, 86_400 * 7), 900)
    .option('--gc-interval-seconds <n>', 'period of the IPAM garbage collection (0 = off)', int(0, 86_400), 60)
    .option('--workers <n>', 'objects reconciled at once (concurrent datastore writes)', int(1, 64), 32)
    .option('--log-level <level>', 'trace, debug, info, warn, error', env.TWILL_LOG_LEVEL ?? 'info')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<EtcdTlsFiles & {
    kubeconfig?: string;
    datastore?: string;
    healthPort: number;
    healthHost: string;
    leaseNamespace: string;
    leaseName: string;
    leaseDurationSeconds: number;
    identity: string;
    gcGraceSeconds: number;
    gcIntervalSeconds: number;
    workers: number;
    logLevel: string;
  }>();
  if (!o.kubeconfig) throw new ControllerArgsError('no kubeconfig: pass --kubeconfig FILE (or set KUBECONFIG)');
  if (!o.datastore) throw new ControllerArgsError('no datastore: pass --datastore URL (or set TWILL_DATASTORE), e.g. etcd://127.0.0.1:2379');
  if (!(LOG_LEVELS as readonly string[]).includes(o.logLevel)) throw new ControllerArgsError(`--log-level ${o.logLevel}: use trace, debug, info, warn or error`);
  if (o.identity === '') throw new ControllerArgsError('--identity must not be empty');
  return {
    kubeconfig: o.kubeconfig,
    datastore: o.datastore,
    ...etcdTlsFiles(o),
    healthPort: o.healthPort,
    healthHost: o.healthHost,
    leaseNamespace: o.leaseNamespace,
    leaseName: o.leaseName,
    leaseDurationMs: o.leaseDurationSeconds * 1000,
    identity: o.identity,
    gcGraceMs: o.gcGraceSeconds * 1000,
    gcIntervalMs: o.gcIntervalSeconds * 1000,
    workers: o.workers,
    logLevel: o.logLevel as LogLevel,
  };
}
