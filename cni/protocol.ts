// The CNI wire format (spec 1.0, reading 0.3.x / 0.4.0 too): environment variables, the network
// configuration on stdin, results and errors on stdout. Shared by twill-ipam and the CNI plugin.
// Pure: no I/O here, so it stays cheap to import.

import { TwillError } from '../src/errors.js';

export const CNI_VERSION = '1.0.0';
export const CNI_SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
/** What a plugin without GC / STATUS (twill-ipam) announces. */
export const CNI_1_0_VERSIONS: readonly string[] = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'];

/** Well-known error codes of the CNI spec; 100 and up are ours. */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidNetworkConfig: 7,
  TryAgainLater: 11,
  /** STATUS: the plugin cannot take ADDs now (spec 1.1). */
  NotAvailable: 50,
  /** Twill: an internal failure. */
  Internal: 100,
  /** Twill: no free address in the pools this node may use. */
  PoolExhausted: 110,
  /** Twill: CHECK found the addresses of the container are not (all) allocated to it. */
  AllocationMismatch: 111,
  /** Twill: CHECK found the container's wiring or endpoint not as ADD left it. */
  CheckFailed: 112,
  /** Twill: twill-node did not program the endpoint's policy in time. */
  PolicyTimeout: 113,
} as const;

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'GC' | 'STATUS';

const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'];

/** A failure to report in the CNI error format. */
export class CniError extends TwillError {
  constructor(
    readonly cniCode: number,
    message: string,
    readonly details?: string,
  ) {
    super('Cni', message);
  }
}

export interface CniEnv {
  command: CniCommand;
  containerID: string;
  netns: string;
  ifname: string;
  /** CNI_ARGS as key/value pairs ("K8S_POD_NAMESPACE=x;K8S_POD_NAME=y"). */
  args: Record<string, string>;
  path: string;
}

/** "A=1;B=2" → {A: "1", B: "2"}. Entries without "=" are ignored. */
export function parseCniArgs(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (s ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** Reads the CNI_* variables; ADD / DEL / CHECK need CNI_CONTAINERID. */
export function readCniEnv(env: Record<string, string | undefined>): CniEnv {
  const command = (env.CNI_COMMAND ?? '').trim().toUpperCase() as CniCommand;
  if (!COMMANDS.includes(command)) {
    throw new CniError(
      CniCode.InvalidEnvironment,
      (command as string) === '' ? 'CNI_COMMAND is not set' : `CNI_COMMAND "${env.CNI_COMMAND ?? ''}" is not supported (${COMMANDS.join(', ')})`,
    );
  }
  const containerID = (env.CNI_CONTAINERID ?? '').trim();
  if ((command === 'ADD' || command === 'DEL' || command === 'CHECK') && containerID === '') {
    throw new CniError(CniCode.InvalidEnvironment, `CNI_CONTAINERID is required for ${command}`);
  }
  return {
    command,
    containerID,
    netns: env.CNI_NETNS ?? '',
    ifname: env.CNI_IFNAME ?? '',
    args: parseCniArgs(env.CNI_ARGS),
    path: env.CNI_PATH ?? '',
  };
}

export interface CniIpConfig {
  /** Address with prefix length, e.g. "10.65.0.5/32". */
  address: string;
  gateway?: string;
  interface?: number;
}

export interface CniRoute {
  dst: string;
  gw?: string;
}

export interface CniDns {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

export interface CniInterface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
}

export interface CniResult {
  cniVersion: string;
  interfaces?: CniInterface[];
  ips?: CniIpConfig[];
  routes?: CniRoute[];
  dns?: CniDns;
}

export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  ipam?: Record<string, unknown>;
  prevResult?: CniResult;
  [key: string]: unknown;
}

function versionParts(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** a < b → negative (versions as "x.y.z"). */
export function compareVersions(a: string, b: string): number {
  const x = versionParts(a) ?? [0, 0, 0];
  const y = versionParts(b) ?? [0, 0, 0];
  return x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
}

export function isSupportedVersion(v: string): boolean {
  return (CNI_SUPPORTED_VERSIONS as readonly string[]).includes(v);
}

/** Parses and checks the network configuration given on stdin. */
export function parseNetConf(stdin: string): NetConf {
  let v: unknown;
  try {
    v = JSON.parse(stdin);
  } catch (e) {
    throw new CniError(CniCode.DecodeFailure, `network configuration on stdin is not JSON: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new CniError(CniCode.DecodeFailure, 'network configuration on stdin must be a JSON object');
  }
  const c = v as Record<string, unknown>;
  const cniVersion = typeof c.cniVersion === 'string' ? c.cniVersion : '';
  if (cniVersion === '') throw new CniError(CniCode.InvalidNetworkConfig, 'network configuration has no "cniVersion"');
  if (!isSupportedVersion(cniVersion)) {
    throw new CniError(
      CniCode.IncompatibleVersion,
      `CNI version ${cniVersion} is not supported (supported: ${CNI_SUPPORTED_VERSIONS.join(', ')})`,
    );
  }
  if (typeof c.name !== 'string' || c.name === '') throw new CniError(CniCode.InvalidNetworkConfig, 'network configuration has no "name"');
  if (typeof c.type !== 'string' || c.type === '') throw new CniError(CniCode.InvalidNetworkConfig, 'network configuration has no "type"');
  if (c.ipam !== undefined && (typeof c.ipam !== 'object' || c.ipam === null || Array.isArray(c.ipam))) {
    throw new CniError(CniCode.InvalidNetworkConfig, '"ipam" must be an object');
  }
  return c as NetConf;
}

/** Result JSON for the configuration's version (0.3.x / 0.4.0 add "version" to each IP). */
export function formatResult(r: CniResult, cniVersion: string): string {
  const out: CniResult & { ips?: (CniIpConfig & { version?: string })[] } = { ...r, cniVersion };
  if (compareVersions(cniVersion, '1.0.0') < 0 && out.ips) {
    out.ips = out.ips.map((ip) => ({ ...ip, version: ip.address.includes(':') ? '6' : '4' }));
  }
  return `${JSON.stringify(out)}\n`;
}

/** The VERSION answer; stdin may carry {"cniVersion": ...}: answer in that version when given. */
export function versionReply(stdin: string, supported: readonly string[] = CNI_SUPPORTED_VERSIONS): string {
  let v = CNI_VERSION;
  try {
    const asked = (JSON.parse(stdin || '{}') as { cniVersion?: unknown }).cniVersion;
    if (typeof asked === 'string' && asked !== '') v = asked;
  } catch {
    // no or bad stdin: answer with our version
  }
  return formatVersion(v, supported);
}

export function formatVersion(cniVersion: string = CNI_VERSION, supported: readonly string[] = CNI_SUPPORTED_VERSIONS): string {
  return `${JSON.stringify({ cniVersion, supportedVersions: [...supported] })}\n`;
}

export function formatError(cniVersion: string, code: number, msg: string, details?: string): string {
  const e: { cniVersion: string; code: number; msg: string; details?: string } = { cniVersion, code, msg };
  if (details) e.details = details;
  return `${JSON.stringify(e)}\n`;
}
