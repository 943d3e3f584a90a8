// BgpSpeaker: the in-process BGP speaker. It owns the listener, one Peer (bgp/session) per
// neighbour, the RIB (bgp/rib) and the single work queue all RIB mutation goes through. The
// public surface is described in ./types.ts.
import { createServer, type Server, type Socket } from 'node:net';
import { listenWithOptions, type BgpListener } from '../sockopt/index.js';
import { performance } from 'node:perf_hooks';
import {
  AFI_IPV4,
  AFI_IPV6,
  CeaseSubcode,
  SAFI_UNICAST,
  encodeEndOfRib,
  encodeMessage,
  endOfRibFamily,
  findCapability,
  type Prefix,
  type RouteRefreshMessage,
} from '../packet/index.js';
import type { FsmState, Notification } from '../fsm/types.js';
import { AdjRibOut } from '../rib/export.js';
import type { Source } from '../rib/path.js';
import { Rib } from '../rib/rib.js';
import { applyUpdate } from '../rib/update-in.js';
import { admitUnderLimits, limitChanges, scopeText } from './limits.js';
import { normalizeAddress, rejectConnection } from '../session/connection.js';
import { Peer, type PeerHost } from '../session/peer.js';
import {
  canonicalAddress,
  parsePrefixText,
  resolveConfig,
  SpeakerConfigError,
  type ResolvedConfig,
  type ResolvedMaxPrefixes,
  type ResolvedNeighbor,
} from './config.js';
import type { PeerEntry } from './entry.js';
import { exportTarget } from './export-target.js';
import { LocalRoutes, localRoute } from './local-routes.js';
import { WorkQueue } from './queue.js';
import { ManagementQueue } from './serial.js';
import type {
  BestChange,
  BgpSpeakerApi,
  LocalPath,
  NeighborConfig,
  PeerStatus,
  RouteQuery,
  RouteView,
  SpeakerConfig,
  SpeakerEvent,
  SpeakerLogger,
  SpeakerOptions,
} from './types.js';
import { bestChanges, listRoutes, peerStatus } from './views.js';

const SLICE_MS = 5;
const DUMP_BATCH = 4096;
/** Output octets waiting for a peer above which a table dump waits for it to read. */
const OUT_HIGH_WATER = 8 * 1024 * 1024;
/** Loc-RIB changes exported per step. */
const EXPORT_CHUNK = 8192;
/**
 * Past this many unsent changes, export ignores the slice deadline until it has caught up: a
 * change waiting several slices keeps its prefix object alive long enough to be promoted to the
 * old generation, and a million of those is a lot of garbage.
 */
const OUT_BACKLOG = EXPORT_CHUNK;

const SILENT: SpeakerLogger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export class BgpSpeaker implements BgpSpeakerApi {
  private resolved: ResolvedConfig;
  private readonly log: SpeakerLogger;
  private rib: Rib;
  private readonly queue: WorkQueue;
  /** start/stop/config/neighbour changes, one at a time (./serial.ts). */
  private readonly mgmt = new ManagementQueue();
  private readonly host: PeerHost;
  private readonly peers = new Map<string, PeerEntry>();
  private server: Server | undefined;
  /** The listener when it carries TCP MD5 keys (bgp/sockopt); `server` is then the same object. */
  private secureServer: BgpListener | undefined;
  /** MD5 keys currently on the listener, peer address → password. */
  private listenerKeys = new Map<string, string>();
  private boundPort: number | undefined;
  private readonly listeners = new Set<(e: SpeakerEvent) => void>();
  private readonly bestListeners = new Set<(c: BestChange[]) => void>();
  /** Prefixes originated from config.originate (so updateConfig can remove them). */
  private configOriginated = new Map<string, LocalPath>();
  private started = false;
  private issueLogBudget = 100;
  private readonly local = new LocalRoutes(() => this.rib);

  /** Graceful restart, restarting role: our OPENs carry the R bit until every session came up once. */
  private restarting: boolean;

  constructor(cfg: SpeakerConfig, opts: SpeakerOptions = {}) {
    this.resolved = resolveConfig(cfg);
    this.log = opts.logger ?? SILENT;
    this.restarting = !!opts.restarting;
    this.rib = this.newRib();
    this.queue = new WorkQueue(SLICE_MS, (d) => this.flushOutput(d), (e) => this.internalError(e));
    this.host = this.hostFor();
  }

  private newRib(): Rib {
    const r = this.resolved;
    const rib = new Rib({ alwaysCompareMed: !!r.config.alwaysCompareMed, localAs: r.asn, localId: r.routerId, clusterId: r.clusterId, maxPaths: r.maxPaths });
    rib.loc.trackAllPaths(wantsAllPaths(r));
    return rib;
  }

  /** The bound listen port once started (useful with port 0). */
  get port(): number | undefined {
    return this.boundPort;
  }

  start(): Promise<void> {
    return this.mgmt.run(() => this.startNow());
  }

  private async startNow(): Promise<void> {
    if (this.started) return;
    await this.openListener();
    this.started = true;
    // A fresh RIB (routes of earlier sessions are gone with them); local routes carry over.
    this.rib = this.newRib();
    this.outPending = [];
    this.outHead = 0;
    this.queue.resume();
    this.local.replay();
    this.queue.push(this.local);
    this.peers.clear();
    for (const o of this.resolved.config.originate ?? []) {
      this.configOriginated.set(o.prefix, o);
      this.addPath(o);
    }
    for (const n of this.resolved.neighbors) this.createPeer(n).peer.start();
    this.log.info({ routerId: this.resolved.config.routerId, asn: this.resolved.asn, port: this.boundPort, neighbors: this.peers.size }, 'BGP speaker started');
  }

  /** Peer address → MD5 password, for the listener. */
  private md5Keys(): Map<string, string> {
    const m = new Map<string, string>();
    for (const n of this.resolved.neighbors) if (n.password !== undefined) m.set(n.address, n.password);
    return m;
  }

  private async openListener(): Promise<void> {
    const l = this.resolved.listen;
    this.boundPort = undefined;
    if (l === false) return;
    const keys = this.md5Keys();
    const gtsm = this.resolved.neighbors.some((n) => n.ttlSecurity !== undefined);
    if (keys.size > 0 || gtsm) {
      // TCP MD5 must be on the listening socket before any SYN arrives (RFC 2385); with GTSM the
      // SYN-ACK must already leave with TTL 255 (the minimum TTL is set per accepted connection).
      let server: BgpListener;
      try {
        server = await listenWithOptions({ host: l.address ?? '::', port: l.port, md5Peers: keys, ...(gtsm ? { ttl: 255 } : {}) }, (s) => this.onIncoming(s));
      } catch (e) {
        throw new SpeakerConfigError(`cannot listen on ${l.address ?? 'all addresses'} port ${l.port} with TCP MD5: ${e instanceof Error ? e.message : String(e)}`, 'is another BGP daemon running? set listen.port or listen: false');
      }
      server.on('error', (e) => this.internalError(e));
      this.server = server;
      this.secureServer = server;
      this.listenerKeys = keys;
      const a = server.address();
      this.boundPort = typeof a === 'object' && a ? a.port : l.port;
      return;
    }
    this.secureServer = undefined;
    this.listenerKeys = new Map();
    const server = createServer({ noDelay: true }, (s) => this.onIncoming(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        reject(
          new SpeakerConfigError(
            `cannot listen on ${l.address ?? 'all addresses'} port ${l.port}: ${e.message}`,
            e.code === 'EACCES' ? 'port 179 needs root or CAP_NET_BIND_SERVICE; or set listen.port' : 'is another BGP daemon running? set listen.port or listen: false',
          ),
        );
      });
      server.listen({ port: l.port, ...(l.address ? { host: l.address } : {}) }, () => resolve());
    });
    server.on('error', (e) => this.internalError(e));
    this.server = server;
    const a = server.address();
    this.boundPort = typeof a === 'object' && a ? a.port : l.port;
  }

  /** Stops accepting; the promise resolves once the connections it accepted are closed too. */
  private closeListener(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.secureServer = undefined;
    return server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
  }

  /**
   * Stops the speaker. `graceful`: sessions with graceful restart are closed WITHOUT a
   * NOTIFICATION (a bare TCP close), so those peers keep our routes while we restart (RFC 4724);
   * the others get CEASE / Administrative Shutdown.
   */
  stop(opts: { graceful?: boolean } = {}): Promise<void> {
    return this.mgmt.run(() => this.stopNow(opts));
  }

  private async stopNow(opts: { graceful?: boolean } = {}): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const closed = this.closeListener();
    await Promise.all(
      [...this.peers.values()].map((e) => {
        this.clearTimers(e);
        return opts.graceful && e.neighbor.gracefulRestart ? e.peer.abandon() : e.peer.dispose(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, 'the BGP speaker is shutting down');
      }),
    );
    this.queue.stop();
    await closed;
    this.log.info({ graceful: !!opts.graceful }, opts.graceful ? 'BGP speaker stopped for a graceful restart (no CEASE to graceful-restart peers)' : 'BGP speaker stopped');
  }

  private clearTimers(e: PeerEntry): void {
    clearTimeout(e.staleTimer);
    e.staleTimer = undefined;
    clearTimeout(e.limitTimer);
    e.limitTimer = undefined;
  }

  subscribe(fn: (e: SpeakerEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onBestChanged(fn: (changes: BestChange[]) => void): () => void {
    this.bestListeners.add(fn);
    return () => this.bestListeners.delete(fn);
  }

  /**
   * Resolves once the management changes queued so far have been applied and all queued RIB work
   * is done and the resulting UPDATEs are written.
   */
  async idle(): Promise<void> {
    await this.mgmt.settled();
    await this.queue.idle();
  }

  // ---- local routes -------------------------------------------------------------------------

  addPath(p: LocalPath): void {
    const r = localRoute(p);
    this.local.add(r.prefix, r.attrs);
    this.queue.push(this.local);
  }

  deletePath(prefix: string): void {
    this.local.delete(parsePrefixText(prefix, 'prefix'));
    this.queue.push(this.local);
  }

  // ---- neighbours and configuration --------------------------------------------------------

  /**
   * Adds a neighbour (checked at once: a bad one throws SpeakerConfigError). Applied at once when
   * no other management change is running, else after the ones queued before it; a conflict
   * found only then (the address was configured meanwhile) is reported as an `error` event.
   */
  addNeighbor(n: NeighborConfig): void {
    resolveConfig({ ...this.resolved.config, neighbors: [...this.resolved.config.neighbors, n] });
    void this.mgmt.run(() => this.addNeighborNow(n)).catch((e: unknown) => this.internalError(e));
  }

  private addNeighborNow(n: NeighborConfig): void {
    const cfg = { ...this.resolved.config, neighbors: [...this.resolved.config.neighbors, n] };
    const resolved = resolveConfig(cfg);
    this.resolved = resolved;
    const rn = resolved.neighbors[resolved.neighbors.length - 1]!;
    this.rib.loc.trackAllPaths(wantsAllPaths(resolved));
    const e = this.createPeer(rn);
    if (this.started) e.peer.start();
  }

  removeNeighbor(address: string): Promise<void> {
    return this.mgmt.run(() => this.removeNeighborNow(address));
  }

  private async removeNeighborNow(address: string): Promise<void> {
    const a = canonicalAddress(address, 'neighbour address');
    const e = this.peers.get(a);
    if (!e) throw new SpeakerConfigError(`neighbour ${a} is not configured`, 'see listPeers() for the configured neighbours');
    this.peers.delete(a);
    this.resolved = resolveConfig({ ...this.resolved.config, neighbors: this.resolved.config.neighbors.filter((n) => canonicalAddress(n.address, 'address') !== a) });
    this.clearTimers(e);
    await e.peer.dispose(CeaseSubcode.PEER_DECONFIGURED, 'the neighbour was removed from the configuration');
    this.sessionGone(e, false);
    this.flushStale(e);
    this.syncListenerKeys();
  }

  /**
   * Applies a new configuration. Neighbours whose session identity changed (AS, address, port,
   * local address, families, capabilities) are reset; policy, next-hop and timer changes apply
   * without a reset (policies at once, by re-evaluating the RIB; timers from the next session).
   * A new router id, AS or alwaysCompareMed restarts the speaker (every session resets; local routes
   * are kept).
   *
   * Changes are serialized with every other management call; a burst of updates queued behind a
   * running change is applied once, as its latest config. A config that fails the checks is
   * refused at once (rejected promise) and does not join the burst.
   */
  updateConfig(cfg: SpeakerConfig): Promise<void> {
    try {
      resolveConfig(cfg);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.mgmt.latest(cfg, this.applyConfig);
  }

  private readonly applyConfig = (cfg: SpeakerConfig): Promise<void> => this.applyConfigNow(cfg);

  private async applyConfigNow(cfg: SpeakerConfig): Promise<void> {
    const next = resolveConfig(cfg);
    const prev = this.resolved;
    // The listener moves without touching sessions (port 0 → the bound port is no change).
    const pl = prev.listen;
    const nl = next.listen;
    const listenSame =
      pl === false || nl === false ? pl === nl : pl.address === nl.address && (pl.port === nl.port || (nl.port === this.boundPort && this.boundPort !== undefined));
    const medChanged =
      !!prev.config.alwaysCompareMed !== !!next.config.alwaysCompareMed || prev.clusterId !== next.clusterId || prev.maxPaths !== next.maxPaths;
    if (prev.routerId !== next.routerId || prev.asn !== next.asn || medChanged) {
      const wasStarted = this.started;
      await this.stopNow();
      this.peers.clear();
      this.resolved = next;
      for (const p of this.configOriginated.keys()) this.local.delete(parsePrefixText(p, 'prefix'));
      this.configOriginated.clear();
      this.rib = this.newRib();
      if (wasStarted) await this.startNow();
      return;
    }
    this.resolved = next;
    this.rib.loc.trackAllPaths(wantsAllPaths(next));
    const needSecure = this.md5Keys().size > 0 || next.neighbors.some((n) => n.ttlSecurity !== undefined);
    if (this.started && (!listenSame || needSecure !== (this.secureServer !== undefined))) {
      void this.closeListener();
      await this.openListener();
    } else {
      this.syncListenerKeys();
    }
    const nextAddrs = new Set(next.neighbors.map((n) => n.address));
    for (const [addr, e] of [...this.peers]) {
      if (!nextAddrs.has(addr)) {
        this.peers.delete(addr);
        this.clearTimers(e);
        await e.peer.dispose(CeaseSubcode.PEER_DECONFIGURED, 'the neighbour was removed from the configuration');
        this.sessionGone(e, false);
        this.flushStale(e);
      }
    }
    for (const n of next.neighbors) {
      const e = this.peers.get(n.address);
      if (!e) {
        const ne = this.createPeer(n);
        if (this.started) ne.peer.start();
        continue;
      }
      const old = e.neighbor;
      e.neighbor = n;
      e.peer.settings = peerSettings(n, next, this.restarting);
      const identity = (r: ResolvedNeighbor): string =>
        JSON.stringify([
          r.asn,
          r.port,
          r.localAddress,
          r.connectHost,
          r.open.families,
          r.open.gracefulRestart,
          r.open.addPath,
          // One path (path id 1) and several paths per prefix are different Adj-RIBs-Out.
          r.addPathSend > 1,
          r.open.extendedMessage,
          r.fsm.passive,
          r.password,
          r.ttlSecurity,
        ]);
      if (identity(old) !== identity(n)) {
        if (this.started) {
          await e.peer.stop(CeaseSubcode.OTHER_CONFIGURATION_CHANGE, 'the neighbour configuration changed');
          e.peer.start();
        }
        continue;
      }
      if (old.importPolicy.label !== n.importPolicy.label || old.importPolicy.key !== n.importPolicy.key) {
        // Soft reconfiguration inbound: the Adj-RIB-In is kept, so no ROUTE-REFRESH is needed.
        for (const src of e.sources.values()) this.queue.runGenerator(this.rib.reapply(src, n.importPolicy));
      }
      for (const src of e.sources.values()) src.rrClient = n.rrClient;
      const exportKey = (r: ResolvedNeighbor, c: ResolvedConfig): string =>
        JSON.stringify([r.exportPolicy.label, r.exportPolicy.key, r.config.nextHopSelf, r.config.nextHop, c.config.nextHop, r.rrClient, String(r.addPathSend)]);
      if (e.out && e.peer.negotiated && e.peer.conn && exportKey(old, prev) !== exportKey(n, next)) {
        const out = e.out;
        const target = exportTarget(e, this.resolved);
        if (target) {
          this.queue.run(() => {
            out.retarget(target);
            this.queue.runGenerator(this.dump(e, out, false, false));
          });
        }
      }
    }
    // Originated prefixes from config.
    const want = new Map((cfg.originate ?? []).map((o) => [o.prefix, o]));
    for (const [p, o] of this.configOriginated) {
      if (!want.has(p)) this.deletePath(p);
      else if (JSON.stringify(want.get(p)) === JSON.stringify(o)) want.delete(p);
    }
    for (const o of want.values()) this.addPath(o);
    this.configOriginated = new Map((cfg.originate ?? []).map((o) => [o.prefix, o]));
  }

  /** Resets a session (hard: CEASE / Administrative Reset; soft: ROUTE-REFRESH request + full re-advertisement). */
  resetPeer(address: string, opts: { soft?: boolean } = {}): Promise<void> {
    return this.mgmt.run(() => this.resetPeerNow(address, opts));
  }

  private async resetPeerNow(address: string, opts: { soft?: boolean }): Promise<void> {
    const e = this.entry(address);
    if (opts.soft) {
      if (e.peer.state !== 'Established') return;
      if (e.neighbor.open.families.ipv4) e.peer.requestRefresh(AFI_IPV4, SAFI_UNICAST);
      if (e.neighbor.open.families.ipv6) e.peer.requestRefresh(AFI_IPV6, SAFI_UNICAST);
      const out = e.out;
      if (out) this.queue.runGenerator(this.refreshDump(e, out));
      return;
    }
    await e.peer.stop(CeaseSubcode.ADMINISTRATIVE_RESET, 'reset by the operator');
    e.peer.start();
  }

  private entry(address: string): PeerEntry {
    const a = canonicalAddress(address, 'neighbour address');
    const e = this.peers.get(a);
    if (!e) throw new SpeakerConfigError(`neighbour ${a} is not configured`, 'see listPeers() for the configured neighbours');
    return e;
  }

  private createPeer(n: ResolvedNeighbor): PeerEntry {
    const e: PeerEntry = {
      neighbor: n,
      peer: new Peer(peerSettings(n, this.resolved, this.restarting), this.host),
      source: undefined,
      sources: new Map(),
      staleSources: [],
      staleTimer: undefined,
      eorPending: new Set(),
      limitError: undefined,
      limitTimer: undefined,
      limitOver: new Set(),
      limitExceeded: 0,
      limitRefused: 0,
      out: undefined,
    };
    this.peers.set(n.address, e);
    return e;
  }

  private onIncoming(s: Socket): void {
    const addr = normalizeAddress(s.remoteAddress ?? '');
    const e = this.peers.get(addr);
    if (!e) {
      this.log.warn({ remote: addr, port: s.remotePort }, 'connection from an address that is not a configured neighbour; rejected');
      rejectConnection(s);
      return;
    }
    e.peer.secureAccepted(s);
    e.peer.accept(s);
  }

  /** Brings the listener's MD5 keys in line with the configuration (live, RFC 2385). */
  private syncListenerKeys(): void {
    const l = this.secureServer;
    if (!l) return;
    const want = this.md5Keys();
    try {
      for (const [a, k] of want) if (this.listenerKeys.get(a) !== k) l.setMd5(a, k);
      for (const a of this.listenerKeys.keys()) if (!want.has(a)) l.setMd5(a, null);
      this.listenerKeys = want;
    } catch (e) {
      this.internalError(e);
    }
  }

  // ---- session callbacks -------------------------------------------------------------------

  private hostFor(): PeerHost {
    return {
      queue: this.queue,
      log: this.log,
      onStateChange: (peer, from, to, reason) => this.onStateChange(peer, from, to, reason),
      onEstablished: (peer) => this.onEstablished(peer),
      onSessionDown: (peer) => this.onSessionDown(peer),
      onUpdate: (peer, r) => this.onUpdate(peer, r),
      onRouteRefresh: (peer, m) => this.onRouteRefresh(peer, m),
      onNotification: (peer, dir, n, text) => this.onNotification(peer, dir, n, text),
    };
  }

  private onStateChange(peer: Peer, from: FsmState, to: FsmState, reason: string | undefined): void {
    const fields = { peer: peer.address, from, to, ...(reason ? { reason } : {}) };
    if (to === 'Established' || from === 'Established') this.log.info(fields, `BGP session with ${peer.address} ${to === 'Established' ? 'Established' : `down: ${reason ?? to}`}`);
    else this.log.debug(fields, `BGP peer ${peer.address}: ${from} -> ${to}`);
    this.emit(reason ? { type: 'peer-state', peer: peer.address, from, to, reason } : { type: 'peer-state', peer: peer.address, from, to });
  }

  private onNotification(peer: Peer, direction: 'sent' | 'received', n: Notification, text: string): void {
    const level = n.code === 6 ? 'info' : 'warn';
    this.log[level]({ peer: peer.address, direction, code: n.code, subcode: n.subcode }, `NOTIFICATION ${direction === 'sent' ? 'to' : 'from'} ${peer.address}: ${text}`);
    this.emit({ type: 'notification', peer: peer.address, direction, code: n.code, subcode: n.subcode, message: text });
  }

  private onEstablished(peer: Peer): void {
    const e = this.peers.get(peer.address);
    if (!e || e.peer !== peer || !peer.data.peer) return;
    e.sources = new Map();
    e.limitError = undefined;
    e.limitOver.clear();
    e.source = this.sourceOf(e, 0);
    e.eorPending = new Set(peer.negotiated?.capabilities.families ?? []);
    // Restarting role: the R bit is for the first session after our restart only.
    if (this.restarting && e.neighbor.open.gracefulRestart) e.peer.settings = peerSettings(e.neighbor, this.resolved, false);
    if (e.staleSources.length > 0) {
      // The restarting peer is back: its stale routes go when it sends End-of-RIB, or after the
      // stale path time (RFC 4724 §4.2).
      clearTimeout(e.staleTimer);
      const gr = peer.negotiated?.capabilities.gracefulRestart;
      if (!gr) this.flushStale(e);
      else {
        e.staleTimer = setTimeout(() => {
          this.log.warn({ peer: peer.address }, `graceful restart: no End-of-RIB from ${peer.address} within ${this.resolved.stalePathTime} s; stale routes removed`);
          this.flushStale(e);
        }, this.resolved.stalePathTime * 1000);
        e.staleTimer.unref?.();
      }
    }
    const target = exportTarget(e, this.resolved);
    if (!target) return;
    const out = new AdjRibOut(target);
    e.out = out;
    this.queue.runGenerator(this.dump(e, out, false, true));
  }

  /** The current session's source for an ADD-PATH path id (made on first use). */
  private sourceOf(e: PeerEntry, pathId: number): Source {
    let src = e.sources.get(pathId);
    if (src) return src;
    const peer = e.peer;
    src = this.rib.newSource(peer.ebgp ? 'ebgp' : 'ibgp', {
      address: e.neighbor.address,
      addressKey: e.neighbor.addressKey,
      asn: e.neighbor.asn,
      bgpId: peer.data.peer?.bgpId ?? 0,
    });
    src.rrClient = e.neighbor.rrClient;
    src.pathId = pathId;
    e.sources.set(pathId, src);
    return src;
  }

  private onSessionDown(peer: Peer): void {
    const e = this.peers.get(peer.address);
    if (!e || e.peer !== peer) return;
    // RFC 4724: the session ended without a NOTIFICATION (TCP closed, the peer restarting) and
    // both sides do graceful restart: keep its routes, stale, for the restart time it asked for.
    // (peer.negotiated is already cleared by the drop; the peer's OPEN is still there.)
    const cap = peer.peerOpen ? findCapability(peer.peerOpen, 'graceful-restart') : undefined;
    const gr = cap !== undefined && !peer.sessionNotified && e.neighbor.gracefulRestart !== undefined;
    this.sessionGone(e, gr && cap.time > 0, cap?.time ?? 0);
  }

  /** The session ended: its routes are flushed, or (graceful restart) kept stale for `restartTime` seconds. */
  private sessionGone(e: PeerEntry, keep: boolean, restartTime = 0): void {
    const srcs = [...e.sources.values()];
    e.source = undefined;
    e.sources = new Map();
    e.out = undefined;
    e.eorPending = new Set();
    if (keep && srcs.some((x) => x.received > 0)) {
      // A second restart before End-of-RIB: what was stale before is gone now.
      this.flushStale(e);
      for (const src of srcs) {
        src.alive = false;
        src.stale = true;
      }
      e.staleSources = srcs;
      const secs = Math.min(restartTime, this.resolved.stalePathTime);
      this.log.info({ peer: e.neighbor.address, restartTime: secs }, `graceful restart: keeping the routes of ${e.neighbor.address} (stale) for up to ${secs} s`);
      e.staleTimer = setTimeout(() => {
        this.log.warn({ peer: e.neighbor.address }, `graceful restart: ${e.neighbor.address} did not come back within ${secs} s; its stale routes are removed`);
        this.flushStale(e);
      }, secs * 1000);
      e.staleTimer.unref?.();
      return;
    }
    for (const src of srcs) {
      src.alive = false;
      this.queue.runGenerator(this.rib.flush(src));
    }
  }

  /** Removes the routes kept stale for a restarting peer. */
  private flushStale(e: PeerEntry): void {
    clearTimeout(e.staleTimer);
    e.staleTimer = undefined;
    const stale = e.staleSources;
    if (stale.length === 0) return;
    e.staleSources = [];
    for (const src of stale) this.queue.runGenerator(this.rib.flush(src));
  }

  /**
   * Sends the whole Loc-RIB to a peer in batches (initial table, route refresh, or after an
   * export change), then End-of-RIB when `eor`.
   */
  private *dump(e: PeerEntry, out: AdjRibOut, force: boolean, eor: boolean): Generator<void | Promise<void>, void, void> {
    const loc = this.rib.loc;
    let batch: Prefix[] = [];
    const send = (): void => {
      if (e.out !== out) return;
      e.peer.sendUpdates(out.build(batch, loc, force));
      batch = [];
    };
    for (const [p] of loc.table.entries()) {
      if (e.out !== out) return;
      batch.push(p);
      if (batch.length >= DUMP_BATCH) {
        send();
        // A peer that reads slowly gets the table as fast as it reads, not all into our memory.
        yield e.peer.writeBacklog > OUT_HIGH_WATER ? e.peer.drainedOut() : undefined;
      }
    }
    // Prefixes sent earlier but no longer in the Loc-RIB (only after a retarget).
    if (!force && !eor) {
      for (const [p] of out.sent.entries()) {
        if (e.out !== out) return;
        if (!loc.table.has(p)) batch.push(p);
      }
    }
    send();
    if (eor && e.out === out) {
      const eors: Buffer[] = [];
      if (out.target.families.ipv4) eors.push(encodeEndOfRib(AFI_IPV4, SAFI_UNICAST));
      if (out.target.families.ipv6) eors.push(encodeEndOfRib(AFI_IPV6, SAFI_UNICAST));
      e.peer.sendUpdates(eors);
    }
  }

  private onRouteRefresh(peer: Peer, m: RouteRefreshMessage): void {
    const e = this.peers.get(peer.address);
    if (!e || !e.out || m.subtype !== 0) return;
    this.log.info({ peer: peer.address, afi: m.afi, safi: m.safi }, 'route refresh requested');
    this.queue.runGenerator(this.refreshDump(e, e.out));
  }

  /**
   * Re-sends the table (route refresh). With enhanced route refresh (RFC 7313) negotiated, it is
   * framed by BoRR / EoRR per family, so the peer can drop what we no longer send.
   */
  private *refreshDump(e: PeerEntry, out: AdjRibOut): Generator<void | Promise<void>, void, void> {
    const enhanced = !!e.peer.negotiated?.capabilities.enhancedRouteRefresh;
    const fams: number[] = [];
    if (out.target.families.ipv4) fams.push(AFI_IPV4);
    if (out.target.families.ipv6) fams.push(AFI_IPV6);
    const marker = (subtype: number): Buffer[] =>
      fams.map((afi) => encodeMessage({ type: 'route-refresh', afi, safi: SAFI_UNICAST, subtype }, out.target.ctx));
    if (enhanced) e.peer.sendUpdates(marker(1));
    yield* this.dump(e, out, true, false);
    if (enhanced && e.out === out) e.peer.sendUpdates(marker(2));
  }

  private onUpdate(peer: Peer, r: Parameters<PeerHost['onUpdate']>[1]): void {
    const e = this.peers.get(peer.address);
    const src = e?.source;
    const ctx = peer.conn?.ctx;
    if (!e || !src || !src.alive || e.peer !== peer || !ctx) return;
    const eor = endOfRibFamily(r.message);
    if (eor) {
      this.endOfRib(e, eor.afi === AFI_IPV4 ? 'ipv4' : 'ipv6');
      return;
    }
    const addPath = ctx.addPath.ipv4.receive || ctx.addPath.ipv6.receive;
    const mp = e.neighbor.maxPrefixes;
    const admit = mp?.action === 'stop' ? admitUnderLimits(e, mp) : undefined;
    const done = applyUpdate(this.rib, addPath ? (id) => this.sourceOf(e, id) : src, r, e.neighbor.importPolicy, ctx, e.staleSources, admit);
    if (mp) this.checkLimits(e, mp, done.refused, r.message.mpReach?.afi ?? AFI_IPV4);
    const t = done.treatedAsWithdraw;
    if (t) {
      const why = r.issues.map((i) => i.detail).join('; ');
      this.noteIssue(peer, 'treat-as-withdraw', `${t.announced} prefixes treated as withdrawn (RFC 7606): ${why}`, t.removed);
      return;
    }
    for (const i of r.issues) this.noteIssue(peer, i.handling, i.message, 0);
  }

  private endOfRib(e: PeerEntry, family: 'ipv4' | 'ipv6'): void {
    if (!e.eorPending.delete(family)) return;
    this.log.debug({ peer: e.neighbor.address, family }, `End-of-RIB ${family} from ${e.neighbor.address}`);
    if (e.eorPending.size === 0) this.flushStale(e);
    this.emit({ type: 'end-of-rib', peer: e.neighbor.address, family });
  }

  /**
   * maxPrefixes after an UPDATE: warn and stop report each crossing once (log, event, counter);
   * reset sends CEASE / Maximum Number of Prefixes Reached (6/1, RFC 4486: data AFI, SAFI, limit).
   */
  private checkLimits(e: PeerEntry, mp: ResolvedMaxPrefixes, refused: number, updateAfi: number): void {
    e.limitRefused += refused;
    if (e.limitError) return;
    const addr = e.neighbor.address;
    const { crossed, cleared } = limitChanges(e, mp, refused, e.limitOver);
    for (const c of cleared) {
      if (mp.action === 'stop') this.log.info({ peer: addr, scope: c.scope, limit: c.limit, received: c.received }, `${addr}: ${scopeText(c.scope)} under the limit ${c.limit} again (${c.received}): new ones are accepted`);
    }
    for (const c of crossed) {
      e.limitExceeded++;
      this.emit({ type: 'max-prefixes', peer: addr, scope: c.scope, limit: c.limit, received: c.received, action: mp.action });
      const fields = { peer: addr, scope: c.scope, limit: c.limit, received: c.received, action: mp.action };
      if (mp.action === 'warn') this.log.warn(fields, `${addr}: ${scopeText(c.scope)} ${c.received} over the limit ${c.limit} (maxPrefixes action warn: kept)`);
      else if (mp.action === 'stop') this.log.warn(fields, `${addr}: ${scopeText(c.scope)} at the limit ${c.limit}: new ones are refused until fewer are announced (maxPrefixes action stop)`);
    }
    const first = crossed[0];
    if (mp.action !== 'reset' || !first) return;
    const why = `maximum ${scopeText(first.scope)} ${first.limit} exceeded (received ${first.received})`;
    e.limitError = why;
    this.log.warn({ peer: addr, scope: first.scope, limit: first.limit, received: first.received }, `${addr}: ${why}; session stopped${mp.restartAfter ? `, restarting in ${mp.restartAfter} s` : ''}`);
    const data = Buffer.alloc(7);
    data.writeUInt16BE(first.scope === 'ipv4' ? AFI_IPV4 : first.scope === 'ipv6' ? AFI_IPV6 : updateAfi, 0);
    data[2] = SAFI_UNICAST;
    data.writeUInt32BE(first.limit >>> 0, 3);
    const peer = e.peer;
    void peer.stop(CeaseSubcode.MAX_PREFIXES, why, data).then(() => {
      e.limitError = why;
      if (mp.restartAfter !== undefined && this.started && this.peers.get(addr) === e) {
        e.limitTimer = setTimeout(() => {
          e.limitTimer = undefined;
          if (this.started && this.peers.get(addr) === e) peer.start();
        }, mp.restartAfter * 1000);
      }
    });
  }

  private noteIssue(peer: Peer, handling: string, message: string, withdrawn: number): void {
    if (this.issueLogBudget > 0) {
      this.issueLogBudget--;
      this.log.warn({ peer: peer.address, handling }, `UPDATE from ${peer.address}: ${message}`);
    }
    this.emit({ type: 'update-error', peer: peer.address, handling, message, withdrawn });
  }

  /** Loc-RIB changes not yet sent to the peers. */
  private outPending: Prefix[] = [];
  private outHead = 0;

  /**
   * After each queue slice: send what changed in the Loc-RIB to every Established peer, in chunks,
   * until the deadline (or longer while the backlog is large, so export keeps up with import).
   * Returns true when changes are left for the next slice.
   */
  private flushOutput(deadline: number): boolean {
    const loc = this.rib.loc;
    if (loc.pendingChanges > 0) {
      const changes = loc.drainChanges();
      if (this.outHead >= this.outPending.length) {
        this.outPending = changes;
        this.outHead = 0;
      } else {
        for (const p of changes) this.outPending.push(p);
      }
    }
    while (this.outHead < this.outPending.length) {
      const left = this.outPending.length - this.outHead;
      if (performance.now() >= deadline && left <= OUT_BACKLOG) return true;
      const chunk = this.outPending.slice(this.outHead, this.outHead + EXPORT_CHUNK);
      this.outHead += chunk.length;
      for (const e of this.peers.values()) {
        if (!e.out || e.peer.state !== 'Established') continue;
        e.peer.sendUpdates(e.out.build(chunk, loc));
      }
      if (this.bestListeners.size > 0) this.emitBest(chunk);
      else if (this.listeners.size > 0) this.emit({ type: 'best-changed', count: chunk.length });
    }
    this.outPending = [];
    this.outHead = 0;
    return false;
  }

  private emitBest(changes: Prefix[]): void {
    const out = bestChanges(this.rib, changes);
    for (const fn of this.bestListeners) {
      try {
        fn(out);
      } catch (e) {
        this.internalError(e);
      }
    }
    this.emit({ type: 'best-changed', count: out.length });
  }

  private emit(e: SpeakerEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        this.log.error({ err }, 'a speaker event listener threw');
      }
    }
  }

  private internalError(e: unknown): void {
    const message = e instanceof Error ? e.message : String(e);
    this.log.error({ err: e }, `internal error in the BGP speaker: ${message}`);
    this.emit({ type: 'error', message });
  }

  // ---- status ------------------------------------------------------------------------------

  listPeers(): PeerStatus[] {
    return [...this.peers.values()].map(peerStatus);
  }

  listRoutes(q: RouteQuery): RouteView[] {
    return listRoutes(q, this.rib, (a) => this.entry(a));
  }
}

/** Some neighbour may get several paths per prefix (ADD-PATH send): the Loc-RIB reports every path change. */
function wantsAllPaths(r: ResolvedConfig): boolean {
  return r.neighbors.some((n) => n.addPathSend > 1);
}

function peerSettings(n: ResolvedNeighbor, r: ResolvedConfig, restarting: boolean): Peer['settings'] {
  const open = restarting && n.open.gracefulRestart ? { ...n.open, gracefulRestart: { ...n.open.gracefulRestart, restarting: true } } : n.open;
  return {
    address: n.address,
    connectHost: n.connectHost,
    port: n.port,
    localAddress: n.localAddress,
    localAs: r.asn,
    fsm: n.fsm,
    open,
    sendHoldTime: n.sendHoldTime,
    password: n.password,
    ttlSecurity: n.ttlSecurity,
  };
}
