// Sysctls under /proc/sys/net, read and written in a given namespace. /proc/sys/net shows the
// namespace of the thread that looks the file up, so the file is opened while inside it.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { constants } from 'node:os';
import { Errno } from './errno.js';
import { invalidRequest, NetlinkError } from './errors.js';

const SEGMENT = /^[A-Za-z0-9_@+\-.]+$/;

/** Checks a sysctl path like "net/ipv4/conf/eth0/proxy_arp"; returns the /proc/sys file. */
export function sysctlFile(path: string, request: string): string {
  const segs = typeof path === 'string' ? path.split('/') : [];
  if (segs[0] !== 'net' || segs.length < 3 || segs.some((s) => !SEGMENT.test(s) || s === '.' || s === '..')) {
    throw invalidRequest(request, `"${String(path)}" is not a network sysctl path (like net/ipv4/conf/eth0/proxy_arp)`);
  }
  return `/proc/sys/${path}`;
}

/** Well-known per-interface sysctl paths. */
export const sysctlPath = {
  ipv4Conf: (ifname: string, key: 'proxy_arp' | 'forwarding' | 'route_localnet' | 'rp_filter' | (string & {})): string =>
    `net/ipv4/conf/${ifname}/${key}`,
  ipv4Neigh: (ifname: string, key: 'proxy_delay' | (string & {})): string => `net/ipv4/neigh/${ifname}/${key}`,
  ipv6Conf: (ifname: string, key: 'proxy_ndp' | 'accept_ra' | 'disable_ipv6' | 'forwarding' | (string & {})): string =>
    `net/ipv6/conf/${ifname}/${key}`,
};

function fsErrno(e: unknown): number {
  const code = (e as NodeJS.ErrnoException)?.code;
  const n = code ? (constants.errno as Record<string, number>)[code] : undefined;
  return n ?? Errno.EINVAL;
}

/** Opens the sysctl file (call while inside the namespace). Returns an fd. */
export function sysctlOpen(file: string, write: boolean, request: string): number {
  try {
    return openSync(file, write ? 'w' : 'r');
  } catch (e) {
    throw new NetlinkError(fsErrno(e), request);
  }
}

export function sysctlRead(fd: number, request: string): string {
  try {
    const buf = Buffer.alloc(4096);
    let n = 0;
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null);
      if (r <= 0) break;
      n += r;
      if (n === buf.length) break;
    }
    return buf.toString('utf8', 0, n).trim();
  } catch (e) {
    throw new NetlinkError(fsErrno(e), request);
  } finally {
    closeSync(fd);
  }
}

export function sysctlWrite(fd: number, value: string, request: string): void {
  try {
    writeSync(fd, String(value));
  } catch (e) {
    throw new NetlinkError(fsErrno(e), request);
  } finally {
    closeSync(fd);
  }
}
