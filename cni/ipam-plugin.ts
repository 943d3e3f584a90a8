// The twill-ipam CNI IPAM plugin, as a function of (environment, stdin) → (stdout, exit code), so
// tests can run it in-process. src/cni/twill-ipam.ts is the program around it.
//
// Network configuration:
//   "ipam": { "type": "twill-ipam",
//             "datastore": "etcd://127.0.0.1:2379",   (else $TWILL_DATASTORE)
//             "nodename": "host1",                    (else $TWILL_NODENAME)
//             "pools": ["default-ipv4"],              (optional: names or CIDRs)
//             "assign_ipv4": true, "assign_ipv6": false,
//             "etcd_ca_cert_file": ..., "etcd_cert_file": ..., "etcd_key_file": ... }
// Handle id: "<network name>.<CNI_CONTAINERID>"; attributes from CNI_ARGS K8S_POD_NAMESPACE /
// K8S_POD_NAME.

import { Ipam } from '../ipam/ipam.js';
import type { Assigned } from '../ipam/types.js';
import { parseIp, formatIp } from '../src/api/cidr.js';
import type { Datastore } from '../src/datastore/types.js';
import { toCniError } from './error-map.js';
import {
  CNI_1_0_VERSIONS,
  CNI_VERSION,
  CniCode,
  CniError,
  compareVersions,
  formatError,
  formatResult,
  parseNetConf,
  readCniEnv,
  versionReply,
  type CniEnv,
  type CniResult,
  type NetConf,
} from './protocol.js';

export interface StoreOptions {
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

export interface IpamPluginIo {
  env: Record<string, string | undefined>;
  stdin: string;
  openStore(url: string, opts: StoreOptions): Promise<Datastore>;
}

export interface IpamPluginOutput {
  stdout: string;
  exitCode: number;
}

export interface IpamPluginConfig {
  datastore: string;
  nodename: string;
  pools: string[] | undefined;
  assignIpv4: boolean;
  assignIpv6: boolean;
  store: StoreOptions;
}

function flag(v: unknown, name: string, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  throw new CniError(CniCode.InvalidNetworkConfig, `ipam.${name} must be true or false (got ${JSON.stringify(v)})`);
}

function optString(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw new CniError(CniCode.InvalidNetworkConfig, `ipam.${name} must be a non-empty string`);
  return v.trim();
}

/** The plugin's own settings from the "ipam" section, with environment fallbacks. */
export function readPluginConfig(conf: NetConf, env: Record<string, string | undefined>): IpamPluginConfig {
  const ipam = conf.ipam ?? {};
  const datastore = optString(ipam.datastore, 'datastore') ?? env.TWILL_DATASTORE?.trim();
  if (!datastore) {
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      'no datastore configured: set "datastore" in the ipam section (e.g. "etcd://127.0.0.1:2379") or TWILL_DATASTORE',
    );
  }
  const nodename = optString(ipam.nodename, 'nodename') ?? env.TWILL_NODENAME?.trim();
  if (!nodename) {
    throw new CniError(CniCode.InvalidNetworkConfig, 'no node name configured: set "nodename" in the ipam section or TWILL_NODENAME');
  }
  let pools: string[] | undefined;
  if (ipam.pools !== undefined) {
    if (!Array.isArray(ipam.pools) || ipam.pools.some((p) => typeof p !== 'string' || p.trim() === '')) {
      throw new CniError(CniCode.InvalidNetworkConfig, 'ipam.pools must be a list of pool names or CIDRs');
    }
    pools = (ipam.pools as string[]).map((p) => p.trim());
  }
  const assignIpv4 = flag(ipam.assign_ipv4, 'assign_ipv4', true);
  const assignIpv6 = flag(ipam.assign_ipv6, 'assign_ipv6', false);
  if (!assignIpv4 && !assignIpv6) throw new CniError(CniCode.InvalidNetworkConfig, 'ipam.assign_ipv4 and ipam.assign_ipv6 are both false: nothing to assign');
  const store: StoreOptions = {};
  const ca = optString(ipam.etcd_ca_cert_file, 'etcd_ca_cert_file') ?? env.TWILL_ETCD_CA;
  const cert = optString(ipam.etcd_cert_file, 'etcd_cert_file') ?? env.TWILL_ETCD_CERT;
  const key = optString(ipam.etcd_key_file, 'etcd_key_file') ?? env.TWILL_ETCD_KEY;
  if (ca) store.etcdCa = ca;
  if (cert) store.etcdCert = cert;
  if (key) store.etcdKey = key;
  return { datastore, nodename, pools, assignIpv4, assignIpv6, store };
}

function result(ips: Assigned[]): CniResult {
  const sorted = [...ips].sort((a, b) => a.family - b.family);
  return { cniVersion: CNI_VERSION, ips: sorted.map((a) => ({ address: a.cidr })), routes: [], dns: {} };
}

function canonical(address: string): string {
  const slash = address.indexOf('/');
  return formatIp(parseIp(slash < 0 ? address : address.slice(0, slash)));
}

/** The handle's addresses: those a first (retried) ADD took, else newly assigned ones. */
export async function takeAddresses(ipam: Ipam, cfg: IpamPluginConfig, env: CniEnv, handleID: string): Promise<Assigned[]> {
  // A retried ADD gets what its handle holds (one read when there is none, the common case).
  if (await ipam.handleExists(handleID)) {
    const existing = await ipam.handleAssignments(handleID);
    if (existing.length > 0) return existing;
  }
  const attrs: Record<string, string> = { containerID: env.containerID };
  if (env.args.K8S_POD_NAMESPACE) attrs.namespace = env.args.K8S_POD_NAMESPACE;
  if (env.args.K8S_POD_NAME) attrs.pod = env.args.K8S_POD_NAME;
  const { ips } = await ipam.autoAssign({
    node: cfg.nodename,
    handleID,
    attrs,
    num4: cfg.assignIpv4 ? 1 : 0,
    num6: cfg.assignIpv6 ? 1 : 0,
    ...(cfg.pools ? { pools: cfg.pools } : {}),
  });
  return ips;
}

export async function runIpamPlugin(io: IpamPluginIo): Promise<IpamPluginOutput> {
  let cniVersion = CNI_VERSION;
  let store: Datastore | undefined;
  try {
    const env = readCniEnv(io.env);
    if (env.command === 'VERSION') {
      return { stdout: versionReply(io.stdin, CNI_1_0_VERSIONS), exitCode: 0 };
    }
    const conf = parseNetConf(io.stdin);
    cniVersion = conf.cniVersion;
    const cfg = readPluginConfig(conf, io.env);
    const handleID = `${conf.name}.${env.containerID}`;
    store = await io.openStore(cfg.datastore, cfg.store);
    const ipam = new Ipam(store);
    switch (env.command) {
      case 'ADD': {
        const ips = await takeAddresses(ipam, cfg, env, handleID);
        return { stdout: formatResult(result(ips), cniVersion), exitCode: 0 };
      }
      case 'DEL':
        await ipam.releaseHandleIfExists(handleID);
        return { stdout: '', exitCode: 0 };
      case 'CHECK': {
        if (compareVersions(cniVersion, '0.4.0') < 0) {
          throw new CniError(CniCode.IncompatibleVersion, `CHECK needs CNI version 0.4.0 or later (configuration says ${cniVersion})`);
        }
        const existing = await ipam.handleAssignments(handleID);
        if (existing.length === 0) {
          throw new CniError(CniCode.UnknownContainer, `no addresses are allocated to container ${env.containerID} in network ${conf.name} (handle ${handleID})`);
        }
        const have = new Set(existing.map((a) => a.ip));
        for (const ip of conf.prevResult?.ips ?? []) {
          let addr: string;
          try {
            addr = canonical(ip.address);
          } catch {
            throw new CniError(CniCode.DecodeFailure, `prevResult address "${ip.address}" is not an IP address`);
          }
          if (!have.has(addr)) {
            throw new CniError(
              CniCode.AllocationMismatch,
              `address ${addr} of container ${env.containerID} is not allocated to it (handle ${handleID} holds ${[...have].join(', ')})`,
            );
          }
        }
        return { stdout: '', exitCode: 0 };
      }
      default:
        throw new CniError(CniCode.InvalidEnvironment, `CNI_COMMAND ${env.command} is not handled`);
    }
  } catch (e) {
    const ce = toCniError(e);
    return { stdout: formatError(cniVersion, ce.cniCode, ce.message, ce.details), exitCode: 1 };
  } finally {
    if (store) await store.close().catch(() => undefined);
  }
}
