// Workloads for privileged tests, plumbed the way Twill's CNI plugin does it: a namespace per
// workload, a veth whose host side ("tw" + hash, MAC ee:ee:ee:ee:ee:ee, no address) sits in the
// host namespace, and inside: the address as /32 on eth0, `169.254.1.1 dev eth0 scope link`,
// `default via 169.254.1.1`, and a permanent neighbour entry for 169.254.1.1 (so the gateway
// resolves even on a host with no route that proxy ARP could answer for).
import { createHash } from 'node:crypto';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { NetnsPool } from './netns.js';

export const GATEWAY = '169.254.1.1';
export const HOST_MAC = 'ee:ee:ee:ee:ee:ee';
/** The host side's IPv6 link-local address (EUI-64 of HOST_MAC): the workloads' IPv6 gateway. */
export const GATEWAY6 = 'fe80::ecee:eeff:feee:eeee';

export interface Workload {
  /** The workload's namespace. */
  ns: string;
  /** Host-side interface name. */
  iface: string;
  ip: string;
  ip6?: string;
}

/** "tw" + 11 hex digits of a hash of the key (what the CNI plugin names the host side). */
export function workloadIface(key: string, prefix = 'tw'): string {
  return prefix + createHash('sha1').update(key).digest('hex').slice(0, 15 - prefix.length);
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Creates the workload namespace and its veth into hostNs. */
export function addWorkload(
  pool: NetnsPool,
  hostNs: string,
  tag: string,
  addr: string,
  iface = workloadIface(`${pool.prefix}/${tag}`),
  addr6?: string,
): Workload {
  const ns = pool.create(tag);
  ip(['-n', hostNs, 'link', 'add', iface, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  ip(['-n', hostNs, 'link', 'set', iface, 'address', HOST_MAC]);
  ip(['-n', hostNs, 'link', 'set', iface, 'up']);
  ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  ip(['-n', ns, 'addr', 'add', `${addr}/32`, 'dev', 'eth0']);
  ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
  ip(['-n', ns, 'route', 'add', GATEWAY, 'dev', 'eth0', 'scope', 'link']);
  ip(['-n', ns, 'route', 'add', 'default', 'via', GATEWAY, 'dev', 'eth0']);
  ip(['-n', ns, 'neigh', 'add', GATEWAY, 'lladdr', HOST_MAC, 'dev', 'eth0', 'nud', 'permanent']);
  if (addr6 === undefined) return { ns, iface, ip: addr };
  ip(['-n', ns, '-6', 'addr', 'add', `${addr6}/128`, 'dev', 'eth0', 'nodad']);
  ip(['-n', ns, '-6', 'neigh', 'add', GATEWAY6, 'lladdr', HOST_MAC, 'dev', 'eth0', 'nud', 'permanent']);
  ip(['-n', ns, '-6', 'route', 'add', 'default', 'via', GATEWAY6, 'dev', 'eth0']);
  return { ns, iface, ip: addr, ip6: addr6 };
}

/** One ping, 1 s timeout. */
export function ping(from: Workload | string, to: string): boolean {
  const ns = typeof from === 'string' ? from : from.ns;
  return spawnSync('ip', ['netns', 'exec', ns, 'ping', '-n', '-q', '-c', '1', '-W', '1', to], { stdio: 'ignore', timeout: 5000 }).status === 0;
}

/** A TCP connect + read: true when the server's greeting came back. IPv6 addresses work too. */
export function tcp(from: Workload, to: string, port: number): boolean {
  const target = to.includes(':') ? `TCP6:[${to}]:${port}` : `TCP:${to}:${port}`;
  const r = spawnSync('ip', ['netns', 'exec', from.ns, 'socat', '-t', '2', '-T', '2', '-', `${target},connect-timeout=1`], {
    input: '',
    encoding: 'utf8',
    timeout: 5000,
  });
  return r.status === 0 && r.stdout.includes('hello');
}

/** One UDP datagram and its echo: true when the reply came back. */
export function udp(from: Workload, to: string, port: number): boolean {
  const r = spawnSync('ip', ['netns', 'exec', from.ns, 'socat', '-t', '2', '-T', '2', '-', `UDP:${to}:${port}`], {
    input: 'ping\n',
    encoding: 'utf8',
    timeout: 5000,
  });
  return r.stdout.includes('hello');
}

/** Servers inside a workload, stopped by process group id. */
export class Servers {
  private readonly procs: ChildProcess[] = [];

  /** TCP server answering "hello" to each connection (IPv4, and IPv6 with ipv6: true). */
  tcp(w: Workload, port: number, ipv6 = false): void {
    this.start(w, ['socat', `${ipv6 ? 'TCP6' : 'TCP'}-LISTEN:${port},reuseaddr,fork`, 'SYSTEM:echo hello']);
  }

  /** UDP server answering "hello" to each datagram. */
  udp(w: Workload, port: number): void {
    this.start(w, ['socat', `UDP-RECVFROM:${port},fork`, 'SYSTEM:echo hello']);
  }

  private start(w: Workload, argv: string[]): void {
    const p = spawn('ip', ['netns', 'exec', w.ns, ...argv], { stdio: 'ignore', detached: true });
    this.procs.push(p);
  }

  stopAll(): void {
    for (const p of this.procs) {
      if (p.pid !== undefined && p.exitCode === null) {
        try {
          process.kill(-p.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }
    this.procs.length = 0;
  }
}
