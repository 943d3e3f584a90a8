// Errors raised by the netlink layer. Every failed request, real or fake, becomes a NetlinkError
// carrying the kernel's errno and a text form of the request that caused it.
import { TwillError } from '../errors.js';
import { Errno, errnoDescription, errnoName } from './errno.js';
import { describeNetns, type NetnsRef } from './ref.js';

const hints: Record<string, string> = {
  EEXIST: 'it already exists: use replace, or delete it first',
  ENODEV: 'the interface does not exist in this network namespace',
  ESRCH: 'there is no such object to delete',
  EADDRNOTAVAIL: 'there is no such address on that interface',
  ENOENT: 'the object (or sysctl) does not exist',
  EPERM: 'this needs CAP_NET_ADMIN (run as root)',
  EACCES: 'this needs root',
  ENETDOWN: 'bring the interface up first',
  ENETUNREACH: 'the gateway is not reachable: add a link-scope route to it, or mark the next hop onlink',
  EBUSY: 'bring the interface down first',
};

export class NetlinkError extends TwillError {
  /** Kernel errno (positive), e.g. 17. */
  readonly errno: number;
  /** e.g. "EEXIST". */
  readonly errnoName: string;
  /** What was asked, e.g. "route add 10.0.0.1/32 dev #7 table 254". */
  readonly request: string;
  /** The kernel's extended-ack message, when it sent one (or the fake's equivalent). */
  readonly detail: string | undefined;

  constructor(errno: number, request: string, detail?: string) {
    const name = errnoName(errno);
    const hint = hints[name];
    super('NetlinkError', `${request}: ${name} (${errnoDescription(errno)})${detail ? `: ${detail}` : ''}`, hint ? { hint } : undefined);
    this.errno = errno;
    this.errnoName = name;
    this.request = request;
    this.detail = detail;
  }
}

/** A request that is malformed before it reaches the kernel (bad prefix, bad MAC, ...): EINVAL. */
export function invalidRequest(request: string, detail: string): NetlinkError {
  return new NetlinkError(Errno.EINVAL, request, detail);
}

export class NetnsNotFoundError extends TwillError {
  constructor(
    readonly ref: NetnsRef,
    cause?: unknown,
  ) {
    super('NetnsNotFound', `${describeNetns(ref)} does not exist`, {
      hint: "create it first (e.g. 'ip netns add NAME'), or check the name/path",
      cause,
    });
  }
}

/** The handle (or monitor) was used after close(). */
export class NetlinkClosedError extends TwillError {
  constructor(what: string) {
    super('NetlinkClosed', `${what} is closed`, { hint: 'open a new handle with openNetlink()' });
  }
}

/** An unexpected failure of the netlink socket itself (not of one request). */
export class NetlinkSocketError extends TwillError {
  constructor(
    readonly operation: string,
    readonly errno: number,
  ) {
    super('NetlinkSocket', `netlink socket ${operation} failed: ${errnoName(errno)} (${errnoDescription(errno)})`, {
      hint: errno === Errno.EPERM || errno === 13 ? 'this needs root (CAP_NET_ADMIN / CAP_SYS_ADMIN)' : undefined,
    });
  }
}
