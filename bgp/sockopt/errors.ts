// Errors of the socket-option layer: a failed setsockopt/connect names the option, the peer and
// the errno, and says what to check.
import { TwillError } from '../../src/errors.js';

const errnoNames: Record<number, string> = {
  1: 'EPERM', 9: 'EBADF', 13: 'EACCES', 22: 'EINVAL', 88: 'ENOTSOCK', 92: 'ENOPROTOOPT', 97: 'EAFNOSUPPORT',
  98: 'EADDRINUSE', 99: 'EADDRNOTAVAIL', 101: 'ENETUNREACH', 110: 'ETIMEDOUT', 111: 'ECONNREFUSED', 113: 'EHOSTUNREACH',
};

export function errnoName(errno: number): string {
  return errnoNames[errno] ?? `errno ${errno}`;
}

export class SocketOptionError extends TwillError {
  constructor(
    readonly operation: string,
    readonly errno: number,
    hint?: string,
  ) {
    super('BgpSockoptFailed', `${operation}: ${errnoName(errno)}`, hint ? { hint } : undefined);
  }
}

export class SocketInputError extends TwillError {
  constructor(message: string, hint: string) {
    super('BgpSockoptInvalid', message, { hint });
  }
}

export class ConnectTimeoutError extends TwillError {
  constructor(readonly peer: string, readonly ms: number, md5: boolean) {
    super('BgpConnectTimeout', `TCP connection to ${peer} not established within ${ms} ms`, {
      hint: md5
        ? 'the peer did not answer: check that its TCP MD5 password matches ours (a wrong key drops the SYN silently), and that it listens and is reachable'
        : 'check that the peer listens and is reachable (and, with GTSM, that it is directly connected)',
    });
  }
}
