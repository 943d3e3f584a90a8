// Which address is this node's? Candidates are read from the kernel (the current namespace), the
// choice is pure: `selectNodeAddress` decides from a list of interfaces and a method, so every
// rule is unit-tested without a kernel.
//
//   first-found             the first candidate (interfaces in ifindex order)
//   interface=REGEX[,REGEX] the first candidate on an interface whose whole name matches
//   skip-interface=REGEX[,…] the first candidate on an interface whose name matches none
//   can-reach=ADDR          the local address the kernel's route to ADDR uses as source
//   cidr=CIDR[,CIDR]        the first candidate inside one of the CIDRs
//   (no method)             the only candidate; with several, fail and list them; with none,
//                           no address of that family
//
// A candidate is a global-scope address on an interface that is not loopback and not a workload
// veth (name starting with the FelixConfiguration interfacePrefix, "tw" by default).
import { createSocket } from 'node:dgram';
import { cidrContains, formatIp, parseCidr, parseIp, type Cidr, type IpFamily } from '../api/cidr.js';
import { TwillError } from '../errors.js';
import type { NetlinkHandle } from '../netlink/index.js';

export interface InterfaceAddrs {
  name: string;
  index: number;
  loopback: boolean;
  addresses: { family: IpFamily; address: string; prefixLength: number; scope: number }[];
}

export interface Candidate {
  iface: string;
  family: IpFamily;
  /** "ADDR/LEN", the form stored in Node.spec.bgp. */
  cidr: string;
  address: string;
}

export type AutodetectMethod =
  | { kind: 'first-found' }
  | { kind: 'interface'; patterns: RegExp[] }
  | { kind: 'skip-interface'; patterns: RegExp[] }
  | { kind: 'can-reach'; target: string }
  | { kind: 'cidr'; cidrs: Cidr[] }
  | { kind: 'none' };

export class AutodetectError extends TwillError {
  constructor(message: string, hint: string) {
    super('NodeAddress', message, { hint });
  }
}

const METHODS = 'first-found, interface=REGEX, skip-interface=REGEX, can-reach=ADDR, cidr=CIDR[,CIDR] or none';

function regexps(list: string, raw: string): RegExp[] {
  return list.split(',').map((p) => {
    try {
      return new RegExp(`^(?:${p})$`);
    } catch (e) {
      throw new AutodetectError(`autodetection method "${raw}": "${p}" is not a regular expression (${(e as Error).message})`, 'e.g. interface=eth0 or interface=en.*');
    }
  });
}

/** Parses an `--ip-autodetection` value. */
export function parseAutodetectMethod(raw: string): AutodetectMethod {
  const eq = raw.indexOf('=');
  const name = eq < 0 ? raw : raw.slice(0, eq);
  const value = eq < 0 ? '' : raw.slice(eq + 1);
  const needValue = (): void => {
    if (!value) throw new AutodetectError(`autodetection method "${raw}" needs a value after "="`, `use one of ${METHODS}`);
  };
  switch (name) {
    case 'first-found':
    case 'none':
      if (eq >= 0) throw new AutodetectError(`autodetection method "${name}" takes no value`, `use one of ${METHODS}`);
      return { kind: name };
    case 'interface':
    case 'skip-interface':
      needValue();
      return { kind: name, patterns: regexps(value, raw) };
    case 'can-reach':
      needValue();
      try {
        return { kind: 'can-reach', target: formatIp(parseIp(value)) };
      } catch {
        throw new AutodetectError(`autodetection method "${raw}": "${value}" is not an IP address`, 'e.g. can-reach=198.18.0.1 (an address, not a host name)');
      }
    case 'cidr':
      needValue();
      return {
        kind: 'cidr',
        cidrs: value.split(',').map((c) => {
          try {
            return parseCidr(c, { strict: false });
          } catch {
            throw new AutodetectError(`autodetection method "${raw}": "${c}" is not a CIDR`, 'e.g. cidr=198.18.0.0/24,10.0.0.0/8');
          }
        }),
      };
    default:
      throw new AutodetectError(`unknown autodetection method "${raw}"`, `use one of ${METHODS}`);
  }
}

/** The candidate addresses of one family, interfaces in ifindex order. */
export function candidates(ifaces: readonly InterfaceAddrs[], family: IpFamily, workloadPrefix: string): Candidate[] {
  const out: Candidate[] = [];
  for (const i of [...ifaces].sort((a, b) => a.index - b.index)) {
    if (i.loopback || (workloadPrefix && i.name.startsWith(workloadPrefix))) continue;
    for (const a of i.addresses) {
      if (a.family !== family || a.scope !== 0) continue;
      out.push({ iface: i.name, family, address: a.address, cidr: `${a.address}/${a.prefixLength}` });
    }
  }
  return out;
}

const familyName = (f: IpFamily): string => (f === 4 ? 'IPv4' : 'IPv6');
const flagsOf = (f: IpFamily): { ip: string; auto: string } => (f === 4 ? { ip: '--node-ip', auto: '--ip-autodetection' } : { ip: '--node-ip6', auto: '--ip6-autodetection' });
const list = (cs: readonly Candidate[]): string => cs.map((c) => `${c.iface} ${c.cidr}`).join(', ');

export interface SelectOptions {
  /** can-reach: the source address the kernel would use towards the target. */
  sourceFor?: string;
}

/**
 * Chooses the node's address of `family` among `cands` by `method` (undefined: the only one).
 * Returns undefined for method 'none', or without a method when there is no candidate at all;
 * throws AutodetectError when a method finds nothing or the choice is ambiguous, naming the
 * candidates and the flags that pick one.
 */
export function selectNodeAddress(family: IpFamily, method: AutodetectMethod | undefined, cands: readonly Candidate[], opts: SelectOptions = {}): Candidate | undefined {
  const flags = flagsOf(family);
  const what = familyName(family);
  const none = (why: string): AutodetectError =>
    new AutodetectError(
      `cannot choose this node's ${what} address: ${why}; candidates: ${cands.length ? list(cands) : 'none (no interface has a global address besides loopback and workload veths)'}`,
      `give the address with ${flags.ip} ADDR/LEN, or another rule with ${flags.auto} (${METHODS})`,
    );
  if (!method) {
    // No candidate at all (a host with only loopback and workloads): nothing to guess between.
    // The node runs without an address of this family (policy works; BGP needs one).
    if (cands.length <= 1) return cands[0];
    const first = cands[0]!;
    throw new AutodetectError(
      `cannot choose this node's ${what} address: ${cands.length} candidates (${list(cands)}), and twill-node does not guess`,
      `pick one with ${flags.ip} ${first.cidr}, or a rule: ${flags.auto} interface=${first.iface} | can-reach=ADDR | cidr=CIDR | first-found`,
    );
  }
  switch (method.kind) {
    case 'none':
      return undefined;
    case 'first-found': {
      if (cands[0]) return cands[0];
      throw none('first-found found no candidate');
    }
    case 'interface': {
      const c = cands.find((x) => method.patterns.some((p) => p.test(x.iface)));
      if (c) return c;
      throw none(`no candidate is on an interface matching ${method.patterns.map((p) => p.source).join(', ')}`);
    }
    case 'skip-interface': {
      const c = cands.find((x) => !method.patterns.some((p) => p.test(x.iface)));
      if (c) return c;
      throw none(`every candidate is on a skipped interface (${method.patterns.map((p) => p.source).join(', ')})`);
    }
    case 'cidr': {
      const c = cands.find((x) => method.cidrs.some((net) => net.family === family && cidrContains(net, parseIp(x.address))));
      if (c) return c;
      throw none(`no candidate is inside ${method.cidrs.map((n) => `${formatIp(n)}/${n.prefixLength}`).join(', ')}`);
    }
    case 'can-reach': {
      if (parseIp(method.target).family !== family) throw none(`can-reach=${method.target} is not an ${what} address`);
      const src = opts.sourceFor;
      if (!src) throw none(`the kernel has no route to ${method.target}`);
      const want = formatIp(parseIp(src));
      const c = cands.find((x) => formatIp(parseIp(x.address)) === want);
      if (c) return c;
      throw none(`the route to ${method.target} uses source ${want}, which is not a candidate`);
    }
  }
}

/** The interfaces of the current namespace (or the handle's) with their addresses. */
export async function listInterfaces(nl: NetlinkHandle): Promise<InterfaceAddrs[]> {
  const [links, addrs] = await Promise.all([nl.linkList(), nl.addrList()]);
  return links.map((l) => ({
    name: l.name,
    index: l.index,
    loopback: l.name === 'lo' || l.mac === '00:00:00:00:00:00',
    addresses: addrs.filter((a) => a.ifindex === l.index).map((a) => ({ family: a.family, address: a.address, prefixLength: a.prefixLength, scope: a.scope ?? 0 })),
  }));
}

/**
 * The source address the kernel picks for traffic to `target`, from this process's namespace:
 * connect() on a UDP socket runs the route lookup and sends nothing. Undefined when unreachable.
 */
export async function sourceAddressFor(target: string): Promise<string | undefined> {
  const family = parseIp(target).family;
  const s = createSocket(family === 4 ? 'udp4' : 'udp6');
  try {
    return await new Promise<string | undefined>((resolve) => {
      s.once('error', () => resolve(undefined));
      s.connect(9, target, () => resolve(s.address().address));
    });
  } finally {
    s.close();
  }
}
