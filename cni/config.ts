// twill-cni's network configuration: the keys it knows (an unknown key is an error naming it),
// defaults, and the labels / named ports a runtime may pass in `args`. Pure.
//
// {
//   "cniVersion": "1.0.0", "name": "twnet", "type": "twill-cni",
//   "datastore": "etcd://127.0.0.1:2379",        (else $TWILL_DATASTORE)
//   "nodename": "host1",                          (else $TWILL_NODENAME, else the host name)
//   "ipam": {"type": "twill-ipam"},               (default; or any IPAM plugin, e.g. host-local)
//   "policySetupTimeout": 10,                     (seconds or "10s"; 0 = do not wait)
//   "mtu": 1500,                                  (default: the MTU of the host's uplink)
//   "nodeHealth": "http://127.0.0.1:9099",        (twill-node's health endpoint for STATUS; "" = skip)
//   "socket": "/run/twill/cni.sock",              (a `twill-cni serve` to hand calls to; "" = never)
//   "etcd_ca_cert_file": …, "etcd_cert_file": …, "etcd_key_file": …,
//   "kubernetes": {}                              (present: endpoints are Kubernetes pods)
// }
import { parseDuration } from '../src/api/duration.js';
import type { EndpointPort } from '../src/api/types.js';
import { CniCode, CniError, type NetConf } from './protocol.js';

/** Keys the spec (and runtimes) put in a plugin's configuration. */
const SPEC_KEYS = [
  'cniVersion',
  'cniVersions',
  'name',
  'type',
  'ipam',
  'dns',
  'args',
  'runtimeConfig',
  'capabilities',
  'prevResult',
  'disableCheck',
  'disableGC',
  'cni.dev/valid-attachments',
  'cni.dev/attachments',
];
/** twill-cni's own keys. */
const OWN_KEYS = ['datastore', 'nodename', 'policySetupTimeout', 'mtu', 'nodeHealth', 'socket', 'etcd_ca_cert_file', 'etcd_cert_file', 'etcd_key_file', 'kubernetes'];

export const DEFAULT_POLICY_SETUP_TIMEOUT_MS = 10_000;
export const DEFAULT_NODE_HEALTH = 'http://127.0.0.1:9099';
export const TWILL_IPAM = 'twill-ipam';

export interface StoreTls {
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

export interface TwillCniConfig {
  network: string;
  cniVersion: string;
  datastore: string;
  nodename: string;
  tls: StoreTls;
  /** The ipam section, with type defaulted to twill-ipam. */
  ipam: Record<string, unknown> & { type: string };
  policySetupTimeoutMs: number;
  /** undefined: the host uplink's. */
  mtu: number | undefined;
  /** "" = STATUS does not ask twill-node. */
  nodeHealth: string;
  kubernetes: boolean;
  labels: Record<string, string>;
  ports: EndpointPort[];
}

function bad(msg: string): CniError {
  return new CniError(CniCode.InvalidNetworkConfig, msg);
}

function str(v: unknown, key: string): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw bad(`"${key}" must be a non-empty string`);
  return v.trim();
}

function timeoutMs(v: unknown): number {
  if (v === undefined) return DEFAULT_POLICY_SETUP_TIMEOUT_MS;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v * 1000;
  if (typeof v === 'string') {
    const ms = /^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : parseDuration(v);
    if (ms !== undefined) return ms;
  }
  throw bad(`"policySetupTimeout" must be seconds (a number ≥ 0) or a duration such as "10s" (got ${JSON.stringify(v)})`);
}

function record(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Labels and named ports from `args` (CNI conventions: `args.cni.labels` is a list of
 * {key, value}; also accepted: `args.cni.labels` / `args.labels` as a map) and named ports from
 * `args.cni.ports` / `runtimeConfig.ports`: [{name, protocol, port}].
 */
function labelsAndPorts(conf: NetConf): { labels: Record<string, string>; ports: EndpointPort[] } {
  const args = record(conf.args) ?? {};
  const cni = record(args.cni) ?? {};
  const labels: Record<string, string> = {};
  for (const src of [args.labels, cni.labels]) {
    if (Array.isArray(src)) {
      for (const l of src) {
        const r = record(l);
        if (!r || typeof r.key !== 'string' || typeof r.value !== 'string') throw bad('args.cni.labels entries must be {"key": string, "value": string}');
        labels[r.key] = r.value;
      }
    } else if (record(src)) {
      for (const [k, v] of Object.entries(record(src) ?? {})) {
        if (typeof v !== 'string') throw bad(`label ${k} in args must have a string value`);
        labels[k] = v;
      }
    }
  }
  const ports: EndpointPort[] = [];
  for (const src of [cni.ports, record(conf.runtimeConfig)?.ports]) {
    if (src === undefined) continue;
    if (!Array.isArray(src)) throw bad('named ports in args.cni.ports / runtimeConfig.ports must be a list');
    for (const p of src) {
      const r = record(p);
      const proto = typeof r?.protocol === 'string' ? r.protocol.toUpperCase() : 'TCP';
      if (!r || typeof r.name !== 'string' || typeof r.port !== 'number' || (proto !== 'TCP' && proto !== 'UDP' && proto !== 'SCTP')) {
        throw bad('a named port must be {"name": string, "port": number, "protocol": "TCP"|"UDP"|"SCTP"}');
      }
      ports.push({ name: r.name, port: r.port, protocol: proto });
    }
  }
  return { labels, ports };
}

/** Reads twill-cni's settings; throws a CniError (code 7) naming every unknown key. */
export function readTwillCniConfig(conf: NetConf, env: Record<string, string | undefined>, hostname: () => string): TwillCniConfig {
  const unknown = Object.keys(conf).filter((k) => !SPEC_KEYS.includes(k) && !OWN_KEYS.includes(k));
  if (unknown.length > 0) {
    throw bad(
      `unknown key${unknown.length > 1 ? 's' : ''} in the twill-cni configuration: ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${OWN_KEYS.join(', ')} and the CNI spec's keys)`,
    );
  }
  const datastore = str(conf.datastore, 'datastore') ?? env.TWILL_DATASTORE?.trim();
  if (!datastore) throw bad('no datastore configured: set "datastore" (e.g. "etcd://127.0.0.1:2379") in the network configuration, or TWILL_DATASTORE');
  const nodename = str(conf.nodename, 'nodename') ?? (env.TWILL_NODENAME?.trim() || hostname());
  const tls: StoreTls = {};
  const ca = str(conf.etcd_ca_cert_file, 'etcd_ca_cert_file');
  const cert = str(conf.etcd_cert_file, 'etcd_cert_file');
  const key = str(conf.etcd_key_file, 'etcd_key_file');
  if (ca) tls.etcdCa = ca;
  if (cert) tls.etcdCert = cert;
  if (key) tls.etcdKey = key;
  const ipamIn = conf.ipam ?? {};
  if (ipamIn.type !== undefined && (typeof ipamIn.type !== 'string' || ipamIn.type === '')) throw bad('"ipam.type" must name an IPAM plugin');
  const ipam = { ...ipamIn, type: (ipamIn.type as string | undefined) ?? TWILL_IPAM };
  let mtu: number | undefined;
  if (conf.mtu !== undefined) {
    if (typeof conf.mtu !== 'number' || !Number.isInteger(conf.mtu) || conf.mtu < 68 || conf.mtu > 65535) throw bad(`"mtu" must be an integer 68..65535 (got ${JSON.stringify(conf.mtu)})`);
    mtu = conf.mtu;
  }
  const nodeHealth = conf.nodeHealth === undefined ? DEFAULT_NODE_HEALTH : typeof conf.nodeHealth === 'string' ? conf.nodeHealth : undefined;
  if (nodeHealth === undefined) throw bad('"nodeHealth" must be a URL such as "http://127.0.0.1:9099", or "" to skip the check');
  if (conf.socket !== undefined && typeof conf.socket !== 'string') throw bad('"socket" must be the path of a twill-cni serve socket, or "" to always run in-process');
  if (conf.kubernetes !== undefined && !record(conf.kubernetes)) throw bad('"kubernetes" must be an object');
  return {
    network: conf.name,
    cniVersion: conf.cniVersion,
    datastore,
    nodename,
    tls,
    ipam,
    policySetupTimeoutMs: timeoutMs(conf.policySetupTimeout),
    mtu,
    nodeHealth,
    kubernetes: conf.kubernetes !== undefined,
    ...labelsAndPorts(conf),
  };
}
