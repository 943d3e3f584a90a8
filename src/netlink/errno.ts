// errno numbers and names (Linux), for errors the kernel hands back and for the fake to raise.
import { constants } from 'node:os';

const byNumber = new Map<number, string>();
// Several names share a number: prefer the one the kernel's own headers use for netlink errors.
for (const name of ['EAGAIN', 'EOPNOTSUPP', 'EDEADLK']) {
  const n = (constants.errno as Record<string, number>)[name];
  if (n !== undefined) byNumber.set(n, name);
}
for (const [name, num] of Object.entries(constants.errno)) {
  if (!byNumber.has(num)) byNumber.set(num, name);
}

/** The errno numbers this layer raises itself (fake and request validation). */
export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  EAGAIN: 11,
  ENOMEM: 12,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ERANGE: 34,
  EOPNOTSUPP: 95,
  EADDRNOTAVAIL: 99,
  ENETDOWN: 100,
  ENETUNREACH: 101,
  ENOBUFS: 105,
  EHOSTUNREACH: 113,
} as const;

const descriptions: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ESRCH: 'no such process (no such object to delete)',
  EINTR: 'interrupted',
  EAGAIN: 'try again',
  EBUSY: 'device or resource busy',
  EEXIST: 'file exists',
  ENODEV: 'no such device',
  EINVAL: 'invalid argument',
  ERANGE: 'result out of range',
  EOPNOTSUPP: 'operation not supported',
  EADDRNOTAVAIL: 'cannot assign requested address',
  ENETDOWN: 'network is down',
  ENETUNREACH: 'network is unreachable',
  ENOBUFS: 'no buffer space available',
  EHOSTUNREACH: 'no route to host',
  EMSGSIZE: 'message too long',
  EACCES: 'permission denied',
};

export function errnoName(errno: number): string {
  return byNumber.get(errno) ?? `errno ${errno}`;
}

export function errnoDescription(errno: number): string {
  return descriptions[errnoName(errno)] ?? errnoName(errno);
}
