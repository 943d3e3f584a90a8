#!/usr/bin/env node
// twill-kube-controllers: follows a Kubernetes cluster (Namespaces, Pods, NetworkPolicies) into
// Twill's datastore, and collects the addresses of pods that are gone. One replica leads (a
// Lease); SIGTERM / SIGINT stop writing, release the lease and exit 0. See README.md.
import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { openDatastore } from '../datastore/index.js';
import { errorMessage, TwillError } from '../errors.js';
import { EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, commanderExitCode } from '../lib/exit-codes.js';
import { startHttp } from '../lib/http.js';
import { etcdTlsFiles } from '../lib/etcd-flags.js';
import { createLogger } from '../lib/logger.js';
import { parseControllerArgs, type ControllerArgs } from './args.js';
import { KubeController } from './controller.js';
import { ControllerMetrics } from './metrics.js';

function loadKubeconfig(file: string): KubeConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new TwillError('KubeConfig', `cannot read the kubeconfig ${file}: ${errorMessage(e)}`, { hint: 'pass --kubeconfig FILE' });
  }
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
  } catch (e) {
    throw new TwillError('KubeConfig', `${file} is not a kubeconfig: ${errorMessage(e)}`);
  }
  if (!kc.getCurrentCluster()) throw new TwillError('KubeConfig', `${file}: current-context names no cluster`, { hint: 'set current-context' });
  return kc;
}

async function main(): Promise<number> {
  let args: ControllerArgs;
  let kc: KubeConfig;
  try {
    args = parseControllerArgs(process.argv.slice(2));
    kc = loadKubeconfig(args.kubeconfig);
  } catch (e) {
    const parsed = commanderExitCode(e);
    if (parsed !== undefined) return parsed;
    process.stderr.write(`twill-kube-controllers: ${errorMessage(e)}\n`);
    return EXIT_USAGE;
  }
  const log = createLogger({ level: args.logLevel, base: { identity: args.identity } });
  let ds;
  try {
    ds = await openDatastore(args.datastore, etcdTlsFiles(args));
  } catch (e) {
    process.stderr.write(`twill-kube-controllers: cannot open the datastore: ${errorMessage(e)}\n`);
    return EXIT_UNREACHABLE;
  }
  const metrics = new ControllerMetrics({ defaultMetrics: true });
  const controller = new KubeController({
    kubeconfig: kc,
    ds,
    log,
    metrics,
    identity: args.identity,
    leaseNamespace: args.leaseNamespace,
    leaseName: args.leaseName,
    leaseDurationMs: args.leaseDurationMs,
    gcGraceMs: args.gcGraceMs,
    gcIntervalMs: args.gcIntervalMs,
    workers: args.workers,
  });
  let http;
  if (args.healthPort !== 0) {
    try {
      http = await startHttp({ host: args.healthHost, port: args.healthPort, health: controller, registry: metrics.registry });
    } catch (e) {
      process.stderr.write(`twill-kube-controllers: cannot listen on ${args.healthHost}:${args.healthPort}: ${errorMessage(e)}\n`);
      await ds.close();
      return EXIT_FAILED;
    }
    log.info({ address: `${args.healthHost}:${http.port}` }, 'health and metrics listening');
  }
  controller.start();
  log.info({ server: kc.getCurrentCluster()?.server, datastore: ds.location, lease: `${args.leaseNamespace}/${args.leaseName}` }, 'started; waiting for the lease');
  const sig = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal: sig }, 'stopping: releasing the lease');
  await controller.stop();
  http?.server.close();
  await ds.close();
  return EXIT_OK;
}

const code = await main();
process.exitCode = code;
setTimeout(() => process.exit(code), 1000).unref();
