// The twill-bgp daemon: one speaker, its log lines, kernel route install, and the gRPC API.
// main.ts parses the command line and signals; everything with state lives here, so tests can
// run a whole daemon in-process (with a fake speaker or the real one on loopback).
import type { Logger } from 'pino';
import { errorMessage } from '../../src/errors.js';
import type {
  BestChange,
  BgpSpeakerApi,
  LocalPath,
  PeerStatus,
  RouteQuery,
  RouteView,
  SpeakerConfig,
  SpeakerEvent,
  SpeakerOptions,
} from '../server/types.js';
import { startApiServer, type ApiBackend, type ApiServer } from './api/server.js';
import type { DaemonStatus } from './api/convert.js';
import { checkPrefix, type DaemonConfig } from './config.js';
import { ApiError } from './errors.js';
import { followSpeaker, gracefulRestartEnabled, kernelReconcileMs, type KernelFollower } from '../kernel/follow.js';
import type { KernelRouteChange, KernelStartOptions, KernelStopOptions, KernelSyncStats } from '../kernel/types.js';
import type { KernelConfig } from './config.js';

export type SpeakerFactory = (cfg: SpeakerConfig, opts: SpeakerOptions) => BgpSpeakerApi;

/** What the daemon needs of kernel route sync (bgp/kernel KernelRouteSync, or a fake). */
export interface KernelRoutes {
  setRoutes(changes: readonly KernelRouteChange[]): void;
  start(opts?: KernelStartOptions): Promise<void>;
  markInSync(): void;
  stop(opts?: KernelStopOptions): Promise<void>;
  stats(): KernelSyncStats;
}

/** Opens kernel route sync for the daemon's namespace; `close` releases its netlink handle. */
export type KernelFactory = (cfg: KernelConfig, logger: Logger) => Promise<{ sync: KernelRoutes; close(): void }>;

export interface DaemonOptions {
  config: DaemonConfig;
  /** Shown by `status`; "" when the config did not come from a file. */
  configFile: string;
  /** The gRPC API address, or false for none. */
  api: string | false;
  logger: Logger;
  createSpeaker: SpeakerFactory;
  /** Opens kernel route sync (only called when kernel.install is on). */
  openKernel?: KernelFactory;
  version: string;
}

export class Daemon implements ApiBackend {
  private readonly speaker: BgpSpeakerApi;
  private readonly log: Logger;
  private readonly started = new Date();
  /** Prefixes we originate (config and API), canonical text → path. */
  private readonly originated = new Map<string, LocalPath>();
  private kernel: { sync: KernelRoutes; close(): void } | undefined;
  private follower: KernelFollower | undefined;
  private api: ApiServer | undefined;
  private readonly unsubscribe: (() => void)[] = [];
  private stopping: Promise<void> | undefined;
  private config: DaemonConfig;

  private constructor(
    private readonly o: DaemonOptions,
    kernel: { sync: KernelRoutes; close(): void } | undefined,
    restarting: boolean,
  ) {
    this.config = o.config;
    this.log = o.logger;
    this.kernel = kernel;
    this.speaker = o.createSpeaker(o.config.speaker, { logger: o.logger.child({ component: 'speaker' }), ...(restarting ? { restarting: true } : {}) });
    for (const p of o.config.speaker.originate ?? []) this.originated.set(p.prefix, p);
  }

  /** Starts kernel sync, the speaker and the API; on failure everything started is stopped again. */
  static async start(o: DaemonOptions): Promise<Daemon> {
    const cfg = o.config;
    let kernel: { sync: KernelRoutes; close(): void } | undefined;
    let restarting = false;
    if (cfg.kernel.install) {
      if (!o.openKernel) throw new ApiError('kernel.install is on but this daemon has no netlink access');
      kernel = await o.openKernel(cfg.kernel, o.logger.child({ component: 'kernel' }));
      // Routes of ours left by a previous run keep forwarding until the peers have come back
      // (End-of-RIB from every graceful-restart peer, every other peer Established once) or the
      // restart time has passed; then those nobody re-announced are removed.
      try {
        await kernel.sync.start({ reconcileAfterMs: kernelReconcileMs(cfg.speaker) });
      } catch (e) {
        kernel.close();
        throw e;
      }
      // Graceful restart, restarting role: our forwarding state survived (RFC 4724 R and F bits).
      restarting = gracefulRestartEnabled(cfg.speaker) && kernel.sync.stats().installed > 0;
      if (restarting) o.logger.info({ routes: kernel.sync.stats().installed }, 'graceful restart: kernel routes of the previous run kept; announcing restart state');
    }
    const d = new Daemon(o, kernel, restarting);
    try {
      await d.startParts();
    } catch (e) {
      await d.stop().catch(() => undefined);
      throw e;
    }
    return d;
  }

  /** The API address actually served (undefined without API). */
  get apiAddress(): string | undefined {
    return this.api?.address;
  }

  /** The BGP listen port actually bound (undefined when not listening). */
  get bgpPort(): number | undefined {
    return this.speaker.port;
  }

  private async startParts(): Promise<void> {
    const cfg = this.config;
    this.warnAboutPolicies(cfg.speaker);
    const k = this.kernel;
    if (k) {
      const f = followSpeaker(this.speaker, k.sync, cfg.speaker, this.log);
      this.follower = f;
      this.unsubscribe.push(() => f.close());
    }
    await this.speaker.start();
    this.follower?.check();
    if (this.o.api !== false) {
      this.api = await startApiServer(this.o.api, this);
      this.log.info({ api: this.api.address }, 'API listening');
    }
    this.log.info(
      {
        routerId: cfg.speaker.routerId,
        asn: cfg.speaker.asn,
        port: this.speaker.port,
        neighbors: cfg.speaker.neighbors.length,
        originate: this.originated.size,
        kernel: cfg.kernel.install,
      },
      'twill-bgp started',
    );
  }

  /** CEASE to every peer, close the API, remove our kernel routes. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const graceful = gracefulRestartEnabled(this.config.speaker);
      this.log.info({ graceful }, graceful ? 'shutting down for a graceful restart: sessions closed without CEASE, kernel routes kept' : 'shutting down: sending CEASE to every peer');
      await this.api?.close().catch((e: unknown) => this.log.warn({ error: errorMessage(e) }, 'API close failed'));
      try {
        await this.speaker.stop(graceful ? { graceful: true } : undefined);
      } finally {
        for (const u of this.unsubscribe.splice(0)) u();
        if (this.kernel) {
          // With graceful restart our peers keep our routes for a while: keep forwarding too.
          const keepRoutes = graceful;
          await this.kernel.sync.stop({ keepRoutes }).catch((e: unknown) => this.log.warn({ error: errorMessage(e) }, 'removing kernel routes failed'));
          this.kernel.close();
        }
      }
      this.log.info({}, 'twill-bgp stopped');
    })();
    return this.stopping;
  }

  /** Applies a new config: sessions whose identity did not change stay up. */
  async reload(next: DaemonConfig): Promise<void> {
    if (next.kernel.install !== this.config.kernel.install || next.kernel.table !== this.config.kernel.table) {
      this.log.warn({}, 'kernel settings changed: they take effect after a restart');
    }
    this.warnAboutPolicies(next.speaker);
    const apiPaths = [...this.originated.values()].filter((p) => !(this.config.speaker.originate ?? []).some((c) => c.prefix === p.prefix));
    await this.speaker.updateConfig(next.speaker);
    this.config = { ...next, kernel: this.config.kernel };
    this.follower?.setConfig(next.speaker);
    this.originated.clear();
    for (const p of next.speaker.originate ?? []) this.originated.set(p.prefix, p);
    for (const p of apiPaths) {
      if (this.originated.has(p.prefix)) continue;
      this.speaker.addPath(p);
      this.originated.set(p.prefix, p);
    }
    this.log.info({ neighbors: next.speaker.neighbors.length, originate: this.originated.size }, 'config reloaded');
  }

  // ---- ApiBackend ----------------------------------------------------------------------------

  status(): DaemonStatus {
    const peers = this.speaker.listPeers();
    const sum = (f: (p: PeerStatus) => number): number => peers.reduce((a, p) => a + f(p), 0);
    const l = this.config.speaker.listen;
    const listen = l === false ? '' : formatListen(l?.address, this.speaker.port ?? l?.port ?? 179);
    const k = this.kernel?.sync.stats();
    const kernelError =
      k && (k.retrying > 0 || k.conflicts > 0 || k.unreachable > 0)
        ? `${k.retrying} routes failing and retried, ${k.conflicts} held by routes that are not ours, ${k.unreachable} not installed (no route to their next hop)`
        : undefined;
    return {
      version: this.o.version,
      routerId: this.config.speaker.routerId,
      asn: this.config.speaker.asn,
      listen,
      started: this.started,
      pid: process.pid,
      peersConfigured: peers.length,
      peersEstablished: peers.filter((p) => p.state === 'Established').length,
      prefixesReceived: sum((p) => p.receivedPrefixes),
      prefixesAccepted: sum((p) => p.acceptedPrefixes),
      prefixesAdvertised: sum((p) => p.advertisedPrefixes),
      originated: this.originated.size,
      kernel: { install: this.config.kernel.install, routes: k?.installed ?? 0, ...(kernelError ? { error: kernelError } : {}) },
      configFile: this.o.configFile,
    };
  }

  listPeers(): PeerStatus[] {
    return this.speaker.listPeers();
  }

  listRoutes(q: RouteQuery): RouteView[] {
    return this.speaker.listRoutes(q);
  }

  subscribe(fn: (e: SpeakerEvent) => void): () => void {
    return this.speaker.subscribe(fn);
  }

  onBestChanged(fn: (changes: BestChange[]) => void): () => void {
    return this.speaker.onBestChanged(fn);
  }

  addPath(p: LocalPath): void {
    const c = checkPrefix(p.prefix);
    if ('error' in c) throw new ApiError(`prefix ${c.error}`);
    const path = { ...p, prefix: c.text };
    this.speaker.addPath(path);
    this.originated.set(c.text, path);
    this.log.info({ prefix: c.text, nextHop: p.nextHop, communities: p.communities }, 'originating (API)');
  }

  deletePath(prefix: string): boolean {
    const c = checkPrefix(prefix);
    if ('error' in c) throw new ApiError(`prefix ${c.error}`);
    if (!this.originated.delete(c.text)) return false;
    this.speaker.deletePath(c.text);
    this.log.info({ prefix: c.text }, 'no longer originating (API)');
    return true;
  }

  // ---- logging ----------------------------------------------------------------------------
  // Session changes, NOTIFICATIONs (with their meaning) and UPDATE errors are logged by the
  // speaker itself through the logger we hand it (component=speaker).

  private warnAboutPolicies(cfg: SpeakerConfig): void {
    if (cfg.ebgpRequiresPolicy === false) return;
    for (const n of cfg.neighbors) {
      if (n.asn === cfg.asn) continue;
      const missing = [!n.importPolicy && 'import', !n.exportPolicy && 'export'].filter(Boolean);
      if (missing.length > 0) {
        this.log.warn(
          { peer: n.address },
          `eBGP neighbour ${n.address} has no ${missing.join(' or ')} policy: nothing is ${missing.length === 2 ? 'accepted or sent' : missing[0] === 'import' ? 'accepted' : 'sent'} (RFC 8212); set import/export: all to allow everything`,
        );
      }
    }
  }
}

function formatListen(address: string | undefined, port: number): string {
  if (!address) return `*:${port}`;
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
