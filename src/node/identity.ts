// The node's identity in the datastore: its addresses (flag, stored Node, or autodetection) and
// its Node resource, registered at start and kept fresh with a heartbeat. Writes compare-and-swap
// on the resource version and retry on conflict, so a user editing the Node at the same time
// (asNumber, routeReflectorClusterID, labels) never loses a change.
import type { IpFamily } from '../api/cidr.js';
import { formatIp, parseCidr } from '../api/cidr.js';
import type { FelixConfigurationResource, NodeResource } from '../api/types.js';
import { AlreadyExistsError, ConflictError, NotFoundError, type Datastore } from '../datastore/index.js';
import { TwillError, errorMessage } from '../errors.js';
import { AutodetectError, candidates, parseAutodetectMethod, selectNodeAddress, type InterfaceAddrs } from './autodetect.js';

/** How the user asked to pick the addresses (twill-node flags). */
export interface AddressFlags {
  /** "ADDR/LEN". */
  nodeIp?: string;
  nodeIp6?: string;
  /** An autodetection method (see autodetect.ts). */
  ipAutodetection?: string;
  ip6Autodetection?: string;
}

export interface NodeAddresses {
  /** "ADDR/LEN". */
  ipv4?: string;
  ipv6?: string;
  /** Where each came from, for the log: "--node-ip", "Node resource", "autodetection (can-reach=…)". */
  source: { ipv4: string; ipv6: string };
}

/** What resolving needs from the host: its interfaces, and the kernel's route lookup. */
export interface HostView {
  interfaces(): Promise<InterfaceAddrs[]>;
  sourceFor(target: string): Promise<string | undefined>;
  /** Workload veths start with this (FelixConfiguration interfacePrefix). */
  workloadPrefix: string;
}

function checkFlagAddress(flag: string, value: string, family: IpFamily): string {
  let c;
  try {
    c = parseCidr(value, { strict: false });
  } catch {
    throw new AutodetectError(`${flag} ${value} is not ADDR/LEN`, `e.g. ${flag} ${family === 4 ? '198.18.0.1/24' : '2001:db8::1/64'} (the address and the prefix length of its subnet)`);
  }
  if (c.family !== family) throw new AutodetectError(`${flag} ${value} is not an IPv${family} address`, family === 4 ? 'IPv6 goes in --node-ip6' : 'IPv4 goes in --node-ip');
  return `${formatIp(c)}/${c.prefixLength}`;
}

/**
 * Per family: the flag's address; else an explicit autodetection method; else the address stored
 * in the Node resource; else (IPv4 only) the one candidate there is (none when there is none).
 * IPv6 is autodetected only when --ip6-autodetection asks. Throws AutodetectError with the candidates and the flags.
 */
export async function resolveNodeAddresses(flags: AddressFlags, stored: NodeResource | undefined, host: HostView): Promise<NodeAddresses> {
  let ifaces: InterfaceAddrs[] | undefined;
  const out: NodeAddresses = { source: { ipv4: 'none', ipv6: 'none' } };
  for (const family of [4, 6] as const) {
    const key = family === 4 ? 'ipv4' : 'ipv6';
    const flag = family === 4 ? flags.nodeIp : flags.nodeIp6;
    const methodText = family === 4 ? flags.ipAutodetection : flags.ip6Autodetection;
    const storedAddr = family === 4 ? stored?.spec.bgp?.ipv4Address : stored?.spec.bgp?.ipv6Address;
    if (flag) {
      out[key] = checkFlagAddress(family === 4 ? '--node-ip' : '--node-ip6', flag, family);
      out.source[key] = family === 4 ? '--node-ip' : '--node-ip6';
      continue;
    }
    const method = methodText !== undefined ? parseAutodetectMethod(methodText) : undefined;
    if (!method && storedAddr) {
      out[key] = storedAddr;
      out.source[key] = 'Node resource';
      continue;
    }
    if (!method && family === 6) continue;
    ifaces ??= await host.interfaces();
    const cands = candidates(ifaces, family, host.workloadPrefix);
    const sourceFor = method?.kind === 'can-reach' ? await host.sourceFor(method.target) : undefined;
    const c = selectNodeAddress(family, method, cands, sourceFor ? { sourceFor } : {});
    if (c) {
      out[key] = c.cidr;
      out.source[key] = `autodetection (${methodText ?? 'the only candidate'}: ${c.iface})`;
    }
  }
  return out;
}

/**
 * Another Node already registered with one of these addresses (compared without the prefix
 * length): two nodes with one address break BGP peering and routing, so twill-node refuses.
 */
export function addressConflict(nodeName: string, addrs: NodeAddresses, nodes: readonly NodeResource[]): AutodetectError | undefined {
  const host = (cidr: string | undefined): string | undefined => {
    if (!cidr) return undefined;
    try {
      return formatIp(parseCidr(cidr, { strict: false, allowBare: true }));
    } catch {
      return undefined; // a malformed stored address conflicts with nothing
    }
  };
  for (const family of ['ipv4', 'ipv6'] as const) {
    const mine = host(addrs[family]);
    if (!mine) continue;
    for (const n of nodes) {
      if (n.metadata.name === nodeName) continue;
      const theirs = host(family === 'ipv4' ? n.spec.bgp?.ipv4Address : n.spec.bgp?.ipv6Address);
      if (theirs === mine) {
        return new AutodetectError(
          `this node's address ${addrs[family]} (from ${addrs.source[family]}) is already the address of Node ${n.metadata.name}`,
          `if ${n.metadata.name} is this host under another name, delete that Node (twillctl delete node ${n.metadata.name}); else give this node its own address with ${family === 'ipv4' ? '--node-ip' : '--node-ip6'} or --ip-autodetection`,
        );
      }
    }
  }
  return undefined;
}

export interface NodeLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RegistrationOptions {
  ds: Datastore;
  nodeName: string;
  version: string;
  log: NodeLogger;
  now?: () => Date;
}

const ATTEMPTS = 10;

/**
 * Creates or updates the Node: spec.bgp addresses set to `addrs` (asNumber,
 * routeReflectorClusterID, labels and the rest kept), status {agentVersion, lastHeartbeat}.
 */
export async function registerNode(o: RegistrationOptions, addrs: NodeAddresses): Promise<NodeResource> {
  return writeNode(o, (cur) => {
    const bgp = { ...(cur?.spec.bgp ?? {}) };
    if (addrs.ipv4) bgp.ipv4Address = addrs.ipv4;
    else delete bgp.ipv4Address;
    if (addrs.ipv6) bgp.ipv6Address = addrs.ipv6;
    else delete bgp.ipv6Address;
    return { ...(cur?.spec ?? {}), bgp };
  });
}

/** Refreshes status.lastHeartbeat (re-creating the Node from `addrs` if someone deleted it). */
export async function heartbeatNode(o: RegistrationOptions, addrs: NodeAddresses): Promise<NodeResource> {
  return writeNode(o, (cur) => cur?.spec ?? registerSpec(addrs));
}

function registerSpec(addrs: NodeAddresses): NodeResource['spec'] {
  return { bgp: { ...(addrs.ipv4 ? { ipv4Address: addrs.ipv4 } : {}), ...(addrs.ipv6 ? { ipv6Address: addrs.ipv6 } : {}) } };
}

async function writeNode(o: RegistrationOptions, specOf: (cur: NodeResource | undefined) => NodeResource['spec']): Promise<NodeResource> {
  const now = o.now ?? (() => new Date());
  let lastError: unknown;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const cur = await o.ds.get<NodeResource>({ kind: 'Node', name: o.nodeName });
    const status = { ...(cur?.status ?? {}), agentVersion: o.version, lastHeartbeat: now().toISOString() };
    try {
      if (!cur) {
        return await o.ds.create<NodeResource>({ apiVersion: 'twill.io/v1', kind: 'Node', metadata: { name: o.nodeName }, spec: specOf(undefined), status });
      }
      return await o.ds.update<NodeResource>({ ...cur, spec: specOf(cur), status });
    } catch (e) {
      if (!(e instanceof ConflictError || e instanceof AlreadyExistsError || e instanceof NotFoundError)) throw e;
      lastError = e; // someone else wrote in between: read again
    }
  }
  throw new TwillError('NodeRegister', `Node ${o.nodeName}: ${ATTEMPTS} writes in a row lost a race with other writers (${errorMessage(lastError)})`, {
    hint: 'something rewrites this Node continuously: is another twill-node running with the same --node-name?',
  });
}

/** Writes the heartbeat every `intervalMs`; a failed write is logged and tried again next time. */
export class NodeHeartbeat {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly o: RegistrationOptions,
    private readonly addrs: NodeAddresses,
    private readonly intervalMs = 30_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = heartbeatNode(this.o, this.addrs)
        .catch((e: unknown) => this.o.log.warn({ err: errorMessage(e) }, 'Node heartbeat failed; trying again next interval'))
        .finally(() => (this.running = undefined));
    }, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}

export interface EstablishOptions extends RegistrationOptions {
  flags: AddressFlags;
  host: Omit<HostView, 'workloadPrefix'>;
  heartbeatMs?: number;
}

/**
 * At start: resolves the addresses (failing before anything is programmed when they are
 * ambiguous or another Node has them), registers the Node and starts its heartbeat.
 */
export async function establishNodeIdentity(o: EstablishOptions): Promise<{ addresses: NodeAddresses; heartbeat: NodeHeartbeat }> {
  const stored = await o.ds.get<NodeResource>({ kind: 'Node', name: o.nodeName });
  const felix = await o.ds.get<FelixConfigurationResource>({ kind: 'FelixConfiguration', name: 'default' });
  const addresses = await resolveNodeAddresses(o.flags, stored, { ...o.host, workloadPrefix: felix?.spec.interfacePrefix ?? 'tw' });
  if (!addresses.ipv4 && !addresses.ipv6) {
    o.log.warn({}, 'this node has no address (no interface with a global address besides loopback and workload veths): policy works, BGP cannot peer; give one with --node-ip ADDR/LEN');
  }
  const conflict = addressConflict(o.nodeName, addresses, (await o.ds.list<NodeResource>({ kind: 'Node' })).items);
  if (conflict) throw conflict;
  const node = await registerNode(o, addresses);
  o.log.info({ ipv4: addresses.ipv4, ipv6: addresses.ipv6, from: addresses.source, resourceVersion: node.metadata.resourceVersion }, 'Node registered');
  const heartbeat = new NodeHeartbeat(o, addresses, o.heartbeatMs);
  heartbeat.start();
  return { addresses, heartbeat };
}
