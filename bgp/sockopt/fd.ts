// Creating TCP socket fds ourselves (optionally inside another network namespace), so options
// that must precede connect()/listen() — TCP MD5 above all — can be set before Node sees them.
import { openNetns, withNetns } from '../../src/netlink/netns.js';
import type { NetnsRef } from '../../src/netlink/index.js';
import { SocketOptionError } from './errors.js';
import { AF_INET, AF_INET6, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_STREAM, sockLibc } from './libc.js';

/** A non-blocking TCP socket fd of `family`, created in `netns` (default: ours). */
export function tcpSocket(family: 4 | 6, netns?: NetnsRef): number {
  const make = (): number => sockLibc().socket(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  let fd: number;
  if (netns && !('current' in netns)) {
    const nsFd = openNetns(netns);
    try {
      fd = withNetns(nsFd, netns, make);
    } finally {
      sockLibc().close(nsFd);
    }
  } else {
    fd = make();
  }
  if (fd < 0) throw new SocketOptionError(`creating an IPv${family} TCP socket`, -fd);
  return fd;
}

export function closeFd(fd: number): void {
  sockLibc().close(fd);
}
