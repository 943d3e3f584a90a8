// One netlink monitor per namespace per thread, shared by every subscriber in that thread: the
// same link/addr/route events, in kernel order, handed to each subscriber that asked for their
// kind. The socket joins all groups once, is opened by the first subscriber and closed when the
// last one leaves; an overrun or a socket failure reaches every subscriber.
//
// Per thread, not per process: a worker_thread is a separate JS realm with its own module
// instances (nothing here can be shared across it without copying every event through a
// MessagePort, which is what the speaker worker exists to avoid), and "the current namespace" is
// a property of the thread (bgp/agent's speaker worker moves its thread into the host namespace
// with enterNetnsForThread). So twill-node has one monitor on its main thread (felix) and one in
// the speaker worker (BGP kernel sync); anything else in a thread joins that thread's monitor.
import { monitor as openMonitor, type MonitorOptions } from './monitor.js';
import type { NetnsRef } from './ref.js';
import type { Monitor, MonitorGroup, NetlinkEvent } from './types.js';

const ALL_GROUPS: readonly MonitorGroup[] = ['link', 'addr', 'route'];

/** How the registry opens its one socket per namespace (tests pass the fake kernel's monitor). */
export type MonitorOpener = (ns: NetnsRef, groups: readonly MonitorGroup[], onEvent: (e: NetlinkEvent) => void, opts: MonitorOptions) => Promise<Monitor>;

interface Subscriber {
  groups: ReadonlySet<string>;
  onEvent: (e: NetlinkEvent) => void;
  onError: ((e: Error) => void) | undefined;
}

interface Entry {
  subs: Set<Subscriber>;
  /** Settles once the socket is open; rejects (and the entry is dropped) if opening failed. */
  opening: Promise<Monitor> | undefined;
  mon: Monitor | undefined;
}

function nsKey(ns: NetnsRef): string {
  if ('name' in ns) return `name:${ns.name}`;
  if ('path' in ns) return `path:${ns.path}`;
  return 'current';
}

export class MonitorRegistry {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly open: MonitorOpener = openMonitor) {}

  /**
   * Same contract as monitor(): events of `groups` (plus overruns) until close(). The first
   * subscriber of a namespace opens the socket; later ones join it and see events from then on.
   * Two refs naming one namespace differently ({ name } and { path }) get two sockets.
   */
  async subscribe(ns: NetnsRef, groups: readonly MonitorGroup[], onEvent: (e: NetlinkEvent) => void, opts: MonitorOptions = {}): Promise<Monitor> {
    const key = nsKey(ns);
    let entry = this.entries.get(key);
    if (!entry) {
      const e: Entry = { subs: new Set(), mon: undefined, opening: undefined };
      this.entries.set(key, e);
      e.opening = this.open(ns, ALL_GROUPS, (ev) => this.deliver(e, ev), { onError: (err) => this.failed(key, e, err) }).then(
        (m) => {
          e.mon = m;
          return m;
        },
        (err: unknown) => {
          if (this.entries.get(key) === e) this.entries.delete(key);
          throw err;
        },
      );
      entry = e;
    }
    const sub: Subscriber = { groups: new Set(groups), onEvent, onError: opts.onError };
    entry.subs.add(sub);
    try {
      await entry.opening;
    } catch (err) {
      entry.subs.delete(sub);
      throw err;
    }
    const e = entry;
    let closed = false;
    return {
      close: () => {
        if (closed) return;
        closed = true;
        e.subs.delete(sub);
        if (e.subs.size === 0 && e.mon) this.drop(key, e);
      },
    };
  }

  /** Open sockets (namespaces with at least one subscriber). */
  get size(): number {
    return this.entries.size;
  }

  private deliver(e: Entry, ev: NetlinkEvent): void {
    for (const s of [...e.subs]) {
      if (ev.kind !== 'overrun' && !s.groups.has(ev.kind)) continue;
      if (!e.subs.has(s)) continue; // left during this delivery
      try {
        s.onEvent(ev);
      } catch (err) {
        // One subscriber's exception must not starve the others; surface it normally.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  private failed(key: string, e: Entry, err: Error): void {
    // The socket stopped (monitor() closed it): every subscriber hears; the next subscribe opens anew.
    if (this.entries.get(key) === e) this.entries.delete(key);
    for (const s of [...e.subs]) s.onError?.(err);
    e.subs.clear();
  }

  private drop(key: string, e: Entry): void {
    if (this.entries.get(key) === e) this.entries.delete(key);
    e.mon?.close();
  }
}

const registry = new MonitorRegistry();

/** monitor() through this thread's one socket per namespace (see MonitorRegistry). */
export function sharedMonitor(ns: NetnsRef, groups: readonly MonitorGroup[], onEvent: (e: NetlinkEvent) => void, opts: MonitorOptions = {}): Promise<Monitor> {
  return registry.subscribe(ns, groups, onEvent, opts);
}
