// The interface reconciler: per-interface sysctls on the host side of each local workload veth,
// set once per interface instance (ifindex) when it appears: proxy_arp=1, neigh proxy_delay=0,
// forwarding=1, route_localnet=1, rp_filter; with IPv6 on, proxy_ndp=1 and accept_ra=0.
import type { NetlinkHandle } from '../../src/netlink/index.js';
import { errorMessage } from '../../src/errors.js';
import { KeyBackoff, type BackoffOptions, type FailureInfo } from './backoff.js';
import type { LinkIndex } from './link-index.js';
import { silentLogger, type DataplaneLogger } from './log.js';

export interface InterfaceReconcilerOptions extends BackoffOptions {
  log?: DataplaneLogger;
  /** rp_filter value for workload interfaces (default "1", strict: a workload can't spoof). */
  rpFilter?: string;
}

export function workloadSysctls(ifname: string, ipv6: boolean, rpFilter = '1'): [string, string][] {
  const s: [string, string][] = [
    [`net/ipv4/conf/${ifname}/proxy_arp`, '1'],
    [`net/ipv4/neigh/${ifname}/proxy_delay`, '0'],
    [`net/ipv4/conf/${ifname}/forwarding`, '1'],
    [`net/ipv4/conf/${ifname}/route_localnet`, '1'],
    [`net/ipv4/conf/${ifname}/rp_filter`, rpFilter],
  ];
  if (ipv6) {
    s.push([`net/ipv6/conf/${ifname}/proxy_ndp`, '1'], [`net/ipv6/conf/${ifname}/accept_ra`, '0'], [`net/ipv6/conf/${ifname}/forwarding`, '1']);
  }
  return s;
}

/** Host-wide settings a routed workload network needs (IPv6 routes only with global forwarding on). */
export function globalSysctls(ipv6: boolean): [string, string][] {
  return ipv6 ? [['net/ipv6/conf/all/forwarding', '1']] : [];
}

export interface InterfaceApplyResult {
  configured: string[];
  waiting: string[];
  pending: string[];
}

export class InterfaceReconciler {
  private readonly nl: NetlinkHandle;
  private readonly links: LinkIndex;
  private readonly log: DataplaneLogger;
  private readonly backoff: KeyBackoff;
  private readonly rpFilter: string;
  private desired = new Set<string>();
  private ipv6 = false;
  /** Interface name → the ifindex we configured. */
  private readonly done = new Map<string, number>();
  private globalsDone = false;

  constructor(nl: NetlinkHandle, links: LinkIndex, opts: InterfaceReconcilerOptions = {}) {
    this.nl = nl;
    this.links = links;
    this.log = opts.log ?? silentLogger;
    this.backoff = new KeyBackoff(opts);
    this.rpFilter = opts.rpFilter ?? '1';
  }

  setDesired(interfaceNames: Iterable<string>, ipv6: boolean): void {
    this.desired = new Set(interfaceNames);
    if (ipv6 !== this.ipv6) {
      this.done.clear();
      this.globalsDone = false;
    }
    this.ipv6 = ipv6;
    for (const n of this.done.keys()) if (!this.desired.has(n)) this.done.delete(n);
  }

  /** The interfaces whose sysctls are wanted, and how (what `twillctl verify` compares the kernel with). */
  desiredView(): { names: string[]; ipv6: boolean; rpFilter: string } {
    return { names: [...this.desired], ipv6: this.ipv6, rpFilter: this.rpFilter };
  }

  isProgrammed(ifname: string): boolean {
    const idx = this.links.indexOf(ifname);
    return idx !== undefined && this.done.get(ifname) === idx;
  }

  /** Forget what we set (periodic refresh: sysctls are cheap, set them again). */
  forgetAll(): void {
    this.done.clear();
    this.globalsDone = false;
  }

  failing(minAttempts = 3): Map<string, FailureInfo> {
    return this.backoff.failing(minAttempts);
  }

  nextRetryAt(): number | undefined {
    return this.backoff.nextRetryAt();
  }

  async apply(): Promise<InterfaceApplyResult> {
    const res: InterfaceApplyResult = { configured: [], waiting: [], pending: [] };
    this.backoff.retain((k) => this.desired.has(k) || k === 'global');
    if (!this.globalsDone && this.backoff.ready('global')) {
      try {
        for (const [path, value] of globalSysctls(this.ipv6)) {
          try {
            await this.nl.sysctlSet(path, value);
          } catch (e) {
            if (path.startsWith('net/ipv6/') && errorMessage(e).includes('ENOENT')) continue;
            throw e;
          }
        }
        this.globalsDone = true;
        this.backoff.succeeded('global');
      } catch (e) {
        const f = this.backoff.failed('global', errorMessage(e));
        this.log.warn({ attempts: f.attempts, err: errorMessage(e) }, 'setting host-wide sysctls failed');
        res.pending.push('global');
      }
    }
    for (const name of this.desired) {
      const idx = this.links.indexOf(name);
      if (idx === undefined) {
        res.waiting.push(name);
        continue;
      }
      if (this.done.get(name) === idx) continue;
      if (!this.backoff.ready(name)) {
        res.pending.push(name);
        continue;
      }
      try {
        for (const [path, value] of workloadSysctls(name, this.ipv6, this.rpFilter)) {
          try {
            await this.nl.sysctlSet(path, value);
          } catch (e) {
            // IPv6 disabled on the kernel: its sysctls are absent; nothing to set.
            if (path.startsWith('net/ipv6/') && errorMessage(e).includes('ENOENT')) continue;
            throw e;
          }
        }
        this.done.set(name, idx);
        this.backoff.succeeded(name);
        res.configured.push(name);
      } catch (e) {
        // The interface may have vanished in the meantime; the monitor will tell us.
        const f = this.backoff.failed(name, errorMessage(e));
        this.log.warn({ interface: name, attempts: f.attempts, err: errorMessage(e) }, 'setting interface sysctls failed');
        res.pending.push(name);
      }
    }
    return res;
  }
}
