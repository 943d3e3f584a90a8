// Workloads for privileged tests, plumbed exactly the way Twill's CNI plugin does it (the same
// code: src/workload plumbWorkload): a namespace per workload, a veth whose host side ("tw" +
// hash, MAC ee:ee:ee:ee:ee:ee, no address) sits in the host namespace, and inside: the address
// as /32 on eth0, `169.254.1.1 dev eth0 scope link`, `default via 169.254.1.1`, and a permanent
// neighbour entry for 169.254.1.1 (so the gateway resolves even on a host with no route that
// proxy ARP could answer for); IPv6 likewise via the host side's link-local address.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openNetlink } from '../../src/netlink/index.js';
import { HOST_VETH_MAC, WORKLOAD_GATEWAY4, WORKLOAD_GATEWAY6, plumbWorkload, workloadIface } from '../../src/workload/index.js';
import type { NetnsPool } from './netns.js';

export { workloadIface };
export const GATEWAY = WORKLOAD_GATEWAY4;
export const HOST_MAC = HOST_VETH_MAC;
/** The host side's IPv6 link-local address (EUI-64 of HOST_MAC): the workloads' IPv6 gateway. */
export const GATEWAY6 = WORKLOAD_GATEWAY6;

export interface Workload {
  /** The workload's namespace. */
  ns: string;
  /** Host-side interface name. */
  iface: string;
  ip: string;
  ip6?: string;
}

/** Creates the workload namespace and its veth into hostNs. */
export async function addWorkload(
  pool: NetnsPool,
  hostNs: string,
  tag: string,
  addr: string,
  iface = workloadIface(`${pool.prefix}/${tag}`),
  addr6?: string,
): Promise<Workload> {
  const ns = pool.create(tag);
  const host = await openNetlink({ name: hostNs });
  const ctr = await openNetlink({ name: ns });
  try {
    await plumbWorkload(host, ctr, { hostIface: iface, ifname: 'eth0', ipv4: addr, ...(addr6 !== undefined ? { ipv6: addr6 } : {}), mtu: 1500 });
  } finally {
    host.close();
    ctr.close();
  }
  return addr6 === undefined ? { ns, iface, ip: addr } : { ns, iface, ip: addr, ip6: addr6 };
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

  /**
   * UDP server answering "hello" to each datagram: one Node socket (socat's forking UDP server
   * loses datagrams when the machine is busy).
   */
  udp(w: Workload, port: number): void {
    const js = `const d=require('node:dgram').createSocket('udp4');d.on('message',(m,r)=>d.send('hello\\n',r.port,r.address));d.bind(${port});`;
    this.start(w, [process.execPath, '-e', js]);
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
