// Event monitor: a NETLINK_ROUTE socket joined to the link/address/route multicast groups of a
// namespace. The socket is non-blocking and watched by libuv (koffi's poll), so events are read
// on Node's event loop only when the kernel has queued some: no thread, no blocking recv.
import * as C from './constants.js';
import { decodeAddr } from './addr-codec.js';
import { NetlinkSocketError } from './errors.js';
import { getLibc, makePoller } from './libc.js';
import { decodeLink } from './link-codec.js';
import { openNetns } from './netns.js';
import type { NetnsRef } from './ref.js';
import { decodeRoute } from './route-codec.js';
import { drainQueued, openSocket } from './transport.js';
import type { Monitor, MonitorGroup, NetlinkEvent } from './types.js';
import { forEachMessage, type RawMessage } from './wire.js';

const GROUPS: Record<MonitorGroup, number[]> = {
  link: [C.RTNLGRP_LINK],
  addr: [C.RTNLGRP_IPV4_IFADDR, C.RTNLGRP_IPV6_IFADDR],
  route: [C.RTNLGRP_IPV4_ROUTE, C.RTNLGRP_IPV6_ROUTE],
};

export interface MonitorOptions {
  /** Called when reading the socket fails for a reason other than an overrun; the monitor stops. */
  onError?: (e: Error) => void;
}

/**
 * Delivers link, address and route events of a namespace to onEvent, in kernel order, until
 * close(). An { kind: 'overrun' } event means events were lost: list again to resynchronise.
 * The monitor keeps the process alive until closed.
 */
export async function monitor(
  ns: NetnsRef,
  groups: readonly MonitorGroup[],
  onEvent: (e: NetlinkEvent) => void,
  opts: MonitorOptions = {},
): Promise<Monitor> {
  const nsFd = 'current' in ns ? -1 : openNetns(ns);
  let sock: ReturnType<typeof openSocket>;
  try {
    sock = openSocket({ ...(nsFd >= 0 ? { nsFd, ref: ns } : {}), groups: [...new Set(groups.flatMap((g) => GROUPS[g]))] });
  } finally {
    if (nsFd >= 0) getLibc().close(nsFd);
  }
  const { fd, transport } = sock;
  const buf = Buffer.alloc(1 << 18);
  const poller = makePoller(fd);
  let closed = false;

  const deliver = (e: NetlinkEvent): void => {
    try {
      onEvent(e);
    } catch (err) {
      // Don't let a handler's exception unwind into the poll callback; surface it normally.
      queueMicrotask(() => {
        throw err;
      });
    }
  };

  const onMessage = (m: RawMessage): void => {
    switch (m.type) {
      case C.RTM_NEWLINK:
      case C.RTM_DELLINK: {
        const link = decodeLink(buf, m);
        if (link) deliver({ kind: 'link', action: m.type === C.RTM_NEWLINK ? 'new' : 'del', link });
        break;
      }
      case C.RTM_NEWADDR:
      case C.RTM_DELADDR: {
        const addr = decodeAddr(buf, m);
        if (addr) deliver({ kind: 'addr', action: m.type === C.RTM_NEWADDR ? 'new' : 'del', addr });
        break;
      }
      case C.RTM_NEWROUTE:
      case C.RTM_DELROUTE: {
        const route = decodeRoute(buf, m);
        if (route) deliver({ kind: 'route', action: m.type === C.RTM_NEWROUTE ? 'new' : 'del', route });
        break;
      }
    }
  };

  const drain = (): void => {
    const r = drainQueued(transport, buf, () => closed, (n) => forEachMessage(buf, n, onMessage), () => deliver({ kind: 'overrun' }));
    if (r < 0) {
      close();
      opts.onError?.(new NetlinkSocketError('recv (monitor)', -r));
    }
  };

  const close = (): void => {
    if (closed) return;
    closed = true;
    poller.close();
    transport.close();
  };

  poller.watch(drain);
  return { close };
}
