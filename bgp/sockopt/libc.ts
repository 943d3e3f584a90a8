// The libc calls the socket-option layer needs, bound with koffi on first use. Each returns the
// raw result, or a negative errno on failure (never throws), like src/netlink/libc.ts.
import koffi from 'koffi';

export interface SockLibc {
  socket(domain: number, type: number, protocol: number): number;
  setsockopt(fd: number, level: number, name: number, value: Buffer, len: number): number;
  getsockopt(fd: number, level: number, name: number, value: Buffer, len: Buffer): number;
  bind(fd: number, addr: Buffer, len: number): number;
  connect(fd: number, addr: Buffer, len: number): number;
  listen(fd: number, backlog: number): number;
  close(fd: number): number;
}

type Fn = (...a: unknown[]) => number | bigint;
let libc: SockLibc | undefined;

function res(r: number | bigint): number {
  const n = Number(r);
  return n < 0 ? -koffi.errno() : n;
}

export function sockLibc(): SockLibc {
  if (libc) return libc;
  const lib = koffi.load('libc.so.6');
  const f = (decl: string): Fn => lib.func(decl) as unknown as Fn;
  const socket = f('int socket(int domain, int type, int protocol)');
  const setsockopt = f('int setsockopt(int fd, int level, int name, void *value, uint32_t len)');
  const getsockopt = f('int getsockopt(int fd, int level, int name, _Inout_ void *value, _Inout_ void *len)');
  const bind = f('int bind(int fd, void *addr, uint32_t len)');
  const connect = f('int connect(int fd, void *addr, uint32_t len)');
  const listen = f('int listen(int fd, int backlog)');
  const close = f('int close(int fd)');
  libc = {
    socket: (a, b, c) => res(socket(a, b, c)),
    setsockopt: (a, b, c, d, e) => res(setsockopt(a, b, c, d, e)),
    getsockopt: (a, b, c, d, e) => res(getsockopt(a, b, c, d, e)),
    bind: (a, b, c) => res(bind(a, b, c)),
    connect: (a, b, c) => res(connect(a, b, c)),
    listen: (a, b) => res(listen(a, b)),
    close: (a) => res(close(a)),
  };
  return libc;
}

export const AF_INET = 2;
export const AF_INET6 = 10;
export const SOCK_STREAM = 1;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SO_REUSEADDR = 2;
export const SO_ERROR = 4;
export const SO_DOMAIN = 39;
export const SO_TYPE = 3;
export const IPPROTO_IP = 0;
export const IPPROTO_TCP = 6;
export const IPPROTO_IPV6 = 41;
export const IP_TTL = 2;
export const IP_MINTTL = 21;
export const IPV6_UNICAST_HOPS = 16;
export const IPV6_V6ONLY = 26;
export const IPV6_MINHOPCOUNT = 73;
export const TCP_MD5SIG = 14;
export const TCP_MD5SIG_MAXKEYLEN = 80;
export const EINPROGRESS = 115;
