// A whole fake "machine": the current namespace plus named ones, as `ip netns add` makes them.
import { NetnsNotFoundError } from '../errors.js';
import type { NetnsRef } from '../ref.js';
import type { Monitor, MonitorGroup, NetlinkEvent, NetlinkHandle } from '../types.js';
import { FakeHandle } from './handle.js';
import { FakeNetns } from './netns.js';

export class FakeKernel {
  /** The namespace { current: true } refers to. */
  readonly current = new FakeNetns('(current)');
  private readonly named = new Map<string, FakeNetns>();

  /** Like `ip netns add NAME`. Throws if it exists. */
  addNetns(name: string): FakeNetns {
    if (this.named.has(name)) throw new Error(`fake network namespace "${name}" already exists`);
    const ns = new FakeNetns(name);
    this.named.set(name, ns);
    return ns;
  }

  /** Like `ip netns del NAME` with nothing else holding it: its links die (veth peers elsewhere too). */
  deleteNetns(name: string): void {
    const ns = this.named.get(name);
    if (!ns) throw new NetnsNotFoundError({ name });
    this.named.delete(name);
    ns.destroy();
  }

  netnsNames(): string[] {
    return [...this.named.keys()];
  }

  resolve(ref: NetnsRef): FakeNetns {
    if ('current' in ref) return this.current;
    if ('name' in ref) {
      const ns = this.named.get(ref.name);
      if (!ns) throw new NetnsNotFoundError(ref);
      return ns;
    }
    const m = /^\/run\/netns\/([^/]+)$/.exec(ref.path);
    if (m) {
      const ns = this.named.get(m[1]!);
      if (ns) return ns;
    } else if (ref.path === '/proc/self/ns/net' || ref.path === '/proc/thread-self/ns/net') {
      return this.current;
    }
    throw new NetnsNotFoundError(ref);
  }

  /** Same contract as openNetlink(). */
  async open(ref: NetnsRef = { current: true }): Promise<NetlinkHandle> {
    return new FakeHandle(ref, this.resolve(ref), (r) => this.resolve(r));
  }

  /** Same contract as monitor(): events arrive asynchronously, in order. */
  async monitor(ref: NetnsRef, groups: readonly MonitorGroup[], onEvent: (e: NetlinkEvent) => void): Promise<Monitor> {
    const ns = this.resolve(ref);
    const want = new Set(groups);
    let open = true;
    const listener = (e: NetlinkEvent): void => {
      if (open && (e.kind === 'overrun' || want.has(e.kind))) onEvent(e);
    };
    ns.listeners.add(listener);
    return {
      close: () => {
        open = false;
        ns.listeners.delete(listener);
      },
    };
  }
}
