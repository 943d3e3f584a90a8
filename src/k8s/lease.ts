// One active controller per cluster: leader election on a coordination.k8s.io/v1 Lease, the way
// client-go's leaderelection does it.
//
// - No lease: create it holding it (a 409 means another replica was first).
// - Held by us: renew (renewTime) every renewMs; if renewing keeps failing for renewDeadlineMs
//   (2/3 of the lease duration) we stop leading before anyone may take over.
// - Held by another: it is fresh while the lease has changed within leaseDurationSeconds of OUR
//   clock (the time we saw its resourceVersion change, not its renewTime, so clock skew between
//   replicas does not matter); then we stand by. An expired lease, or one released (empty
//   holderIdentity), is taken over by an update with the resourceVersion read (409: lost the race).
// - stop() releases a lease we hold (holderIdentity "", leaseDurationSeconds 1), so a standby
//   takes over at its next try instead of waiting out the duration.
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { KubeApiError, statusMessage, type KubeRest } from './rest.js';

export interface LeaseOptions {
  namespace: string;
  name: string;
  identity: string;
  durationMs: number;
  /** Renew period when leading (default duration/3). */
  renewMs?: number;
  /** Try period when standing by (default duration/3). */
  retryMs?: number;
  now?: () => number;
}

interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string; [k: string]: unknown };
  spec?: LeaseSpec;
}

/** RFC 3339 with microseconds, what MicroTime fields carry. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export class LeaderElector {
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  /** The other holder's lease as last seen, and when we saw it change. */
  private observed: { rv: string; at: number } | undefined;
  private readonly now: () => number;
  private readonly renewMs: number;
  private readonly retryMs: number;
  private running: Promise<void> = Promise.resolve();
  /** Who holds the lease, as last read ('' = nobody). */
  holder = '';

  constructor(
    private readonly rest: KubeRest,
    private readonly o: LeaseOptions,
    private readonly log: Logger,
    private readonly cb: { onStartedLeading(): void; onStoppedLeading(): void },
  ) {
    this.now = o.now ?? Date.now;
    this.renewMs = o.renewMs ?? Math.max(100, Math.floor(o.durationMs / 3));
    this.retryMs = o.retryMs ?? Math.max(100, Math.floor(o.durationMs / 3));
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.o.namespace)}/leases`;
  }

  start(): void {
    this.tick();
  }

  private tick(): void {
    if (this.stopped) return;
    this.running = this.tryAcquireOrRenew().then(
      (ok) => this.after(ok),
      (e: unknown) => {
        this.log.warn({ lease: `${this.o.namespace}/${this.o.name}`, err: errorMessage(e) }, 'lease: API call failed');
        this.after(false);
      },
    );
  }

  private after(ok: boolean): void {
    if (this.stopped) return;
    if (ok && !this.leading) {
      this.leading = true;
      this.log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, 'lease acquired: leading');
      this.cb.onStartedLeading();
    } else if (!ok && this.leading && this.now() - this.lastRenew >= (this.o.durationMs * 2) / 3) {
      this.leading = false;
      this.log.error({ lease: `${this.o.namespace}/${this.o.name}` }, 'lease lost (could not renew in time): standing by');
      this.cb.onStoppedLeading();
    }
    this.timer = setTimeout(() => this.tick(), this.leading ? this.renewMs : this.retryMs);
  }

  /** One attempt: true when we hold the lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.now();
    const seconds = Math.max(1, Math.round(this.o.durationMs / 1000));
    const r = await this.rest.request('GET', `${this.path}/${encodeURIComponent(this.o.name)}`);
    if (r.status === 404) {
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.o.name, namespace: this.o.namespace },
        spec: { holderIdentity: this.o.identity, leaseDurationSeconds: seconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      };
      const c = await this.rest.request('POST', this.path, lease);
      if (c.status === 201 || c.status === 200) return this.held(now);
      if (c.status === 409) return false;
      throw new KubeApiError('POST', this.path, c.status, statusMessage(c.body));
    }
    if (r.status !== 200) throw new KubeApiError('GET', this.path, r.status, statusMessage(r.body));
    const lease = r.body as Lease;
    const spec = lease.spec ?? {};
    const rv = lease.metadata.resourceVersion ?? '';
    this.holder = spec.holderIdentity ?? '';
    const mine = this.holder === this.o.identity;
    if (!mine && this.holder !== '') {
      if (this.observed?.rv !== rv) this.observed = { rv, at: now };
      const durMs = (spec.leaseDurationSeconds ?? seconds) * 1000;
      if (now - this.observed.at < durMs) return false; // fresh: stand by
    }
    const next: Lease = {
      ...lease,
      spec: mine
        ? { ...spec, renewTime: microTime(now), leaseDurationSeconds: seconds }
        : {
            holderIdentity: this.o.identity,
            leaseDurationSeconds: seconds,
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: (spec.leaseTransitions ?? 0) + 1,
          },
    };
    const u = await this.rest.request('PUT', `${this.path}/${encodeURIComponent(this.o.name)}`, next);
    if (u.status === 200) return this.held(now);
    if (u.status === 409) return false; // someone else wrote it first
    throw new KubeApiError('PUT', this.path, u.status, statusMessage(u.body));
  }

  private held(now: number): boolean {
    this.lastRenew = now;
    this.holder = this.o.identity;
    this.observed = undefined;
    return true;
  }

  /** Stops trying; runs `beforeRelease` (stop writing), then releases the lease if we hold it. */
  async stop(beforeRelease?: () => Promise<void>): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running.catch(() => undefined);
    await beforeRelease?.();
    if (!this.leading) return;
    this.leading = false;
    try {
      const p = `${this.path}/${encodeURIComponent(this.o.name)}`;
      const r = await this.rest.request('GET', p, undefined, 2000);
      const lease = r.body as Lease;
      if (r.status === 200 && lease.spec?.holderIdentity === this.o.identity) {
        const now = this.now();
        await this.rest.request('PUT', p, { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(now) } }, 2000);
        this.log.info({ lease: `${this.o.namespace}/${this.o.name}` }, 'lease released');
      }
    } catch (e) {
      this.log.warn({ err: errorMessage(e) }, 'lease: could not release (the next holder waits for it to expire)');
    }
  }
}
