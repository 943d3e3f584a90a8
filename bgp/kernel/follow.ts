// Ties a speaker to kernel route sync: every best-path change goes to the kernel (learned routes
// only, global next hops), and once every neighbour is back — graceful-restart peers have sent
// End-of-RIB, the others have been Established once — and that table is processed, routes of a
// previous run nobody re-announced are reconciled away (markInSync). Used by the twill-bgp daemon
// and by the node agent's speaker worker.
import type { BestChange, BgpSpeakerApi, NeighborConfig, PeerStatus, SpeakerConfig, SpeakerEvent } from '../server/types.js';
import { kernelChangesOf } from './best.js';
import type { KernelRouteChange, KernelSyncLogger } from './types.js';

/** Routes of a previous run are kept at most this long without graceful restart (ms). */
export const KERNEL_RECONCILE_MS = 120_000;

/** What the follower needs of kernel route sync. */
export interface KernelSink {
  setRoutes(changes: readonly KernelRouteChange[]): void;
  markInSync(): void;
}

export type FollowedSpeaker = Pick<BgpSpeakerApi, 'onBestChanged' | 'subscribe' | 'listPeers' | 'idle'>;

export interface KernelFollower {
  /** The speaker's config changed (which neighbours do graceful restart). */
  setConfig(cfg: SpeakerConfig): void;
  /** Checks whether every neighbour is back (call after the speaker started). */
  check(): void;
  close(): void;
}

export function followSpeaker(speaker: FollowedSpeaker, sink: KernelSink, cfg: SpeakerConfig, log: KernelSyncLogger): KernelFollower {
  let config = cfg;
  let inSync = false;
  const check = (): void => {
    if (inSync) return;
    const gr = new Set(config.neighbors.filter((n) => neighborGracefulRestart(config, n)).map((n) => n.address));
    const back = (p: PeerStatus): boolean => p.establishedCount > 0 && (!gr.has(p.address) || !p.capabilities?.gracefulRestart || !!p.endOfRibReceived);
    if (!speaker.listPeers().every(back)) return;
    inSync = true;
    void speaker.idle().then(() => {
      sink.markInSync();
      log.info({}, 'every neighbour is up: kernel routes reconciled');
    });
  };
  const offBest = speaker.onBestChanged((c) => sink.setRoutes(kernelChangesOf(globalNextHops(c))));
  const offEvents = speaker.subscribe((e: SpeakerEvent) => {
    if ((e.type === 'peer-state' && e.to === 'Established') || e.type === 'end-of-rib') check();
  });
  return {
    setConfig: (c) => {
      config = c;
    },
    check,
    close: () => {
      offBest();
      offEvents();
    },
  };
}

export function neighborGracefulRestart(cfg: SpeakerConfig, n: NeighborConfig): boolean {
  if (n.gracefulRestart === false) return false;
  if (n.gracefulRestart !== undefined) return true;
  return !!cfg.gracefulRestart?.enabled;
}

/** Graceful restart is on for at least one neighbour. */
export function gracefulRestartEnabled(cfg: SpeakerConfig): boolean {
  return cfg.neighbors.some((n) => neighborGracefulRestart(cfg, n));
}

/** How long routes of a previous run are kept at most: the restart time we advertise (GR), else 120 s. */
export function kernelReconcileMs(cfg: SpeakerConfig): number {
  if (!gracefulRestartEnabled(cfg)) return KERNEL_RECONCILE_MS;
  return (cfg.gracefulRestart?.restartTime ?? 120) * 1000 || KERNEL_RECONCILE_MS;
}

/**
 * BestChange.nextHop of an IPv6 path carrying a link-local second next hop reads
 * "fd00::2 (link-local fe80::1)"; the kernel gets the global address (on-link, no ifindex needed).
 */
export function globalNextHops(changes: BestChange[]): BestChange[] {
  if (!changes.some((c) => c.nextHop?.includes(' '))) return changes;
  return changes.map((c) => (c.nextHop?.includes(' ') ? { ...c, nextHop: c.nextHop.slice(0, c.nextHop.indexOf(' ')) } : c));
}
