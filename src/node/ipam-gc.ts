// twill-node's IPAM garbage collection: every interval, one gcPass limited to this host — an
// address allocated for this node whose workload endpoint no longer exists (a CNI DEL that never
// came: the runtime crashed, the plugin was killed) is released once it has stayed so for the
// grace period. Passes never overlap; an error is logged and the next pass tries again.
import { gcPass, newGcState, type GcState } from '../../ipam/index.js';
import type { Datastore } from '../datastore/types.js';
import { errorMessage } from '../errors.js';
import type { Logger } from 'pino';

export interface NodeIpamGcOptions {
  nodeName: string;
  intervalMs: number;
  graceMs: number;
  /** The clock (tests). */
  now?: () => number;
}

export class NodeIpamGc {
  private readonly state: GcState = newGcState();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Addresses released since start (for tests and status). */
  released = 0;

  constructor(
    private readonly ds: Datastore,
    private readonly log: Logger,
    private readonly opts: NodeIpamGcOptions,
  ) {}

  start(): void {
    if (this.opts.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.pass(), this.opts.intervalMs);
    this.timer.unref();
  }

  /** One pass now (skipped when one is running). */
  pass(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<void> {
    const now = (this.opts.now ?? Date.now)();
    try {
      const r = await gcPass(this.ds, this.state, now, { graceMs: this.opts.graceMs, node: this.opts.nodeName });
      this.released += r.released.length;
      for (const x of r.released) {
        this.log.info({ ip: x.ip, handle: x.handleID, block: x.block }, `IPAM: released ${x.ip} (handle ${x.handleID ?? '?'}): no workload endpoint of this node has used it for ${Math.round(this.opts.graceMs / 1000)} s`);
      }
    } catch (e) {
      this.log.warn({ err: errorMessage(e) }, `IPAM garbage collection pass failed (retried in ${Math.round(this.opts.intervalMs / 1000)} s): ${errorMessage(e)}`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}
