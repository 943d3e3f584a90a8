// BgpSpeaker: the in-process BGP speaker. It owns the listener, one Peer (bgp/session) per
// neighbour, the RIB (bgp/rib) and the single work queue all RIB mutation goes through. The
// public surface is described in ./types.ts.
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  AFI_IPV4,
  AFI_IPV6,
  CeaseSubcode,
  SAFI_UNICAST,
  encodeEndOfRib,
  type Prefix,
  type RouteRefreshMessage,
} from '../packet/index.js';
import type { FsmState, Notification } from '../fsm/types.js';
import { AdjRibOut } from '../rib/export.js';
import { Rib } from '../rib/rib.js';
import { applyUpdate } from '../rib/update-in.js';
import { normalizeAddress, rejectConnection } from '../session/connection.js';
import { Peer, type PeerHost } from '../session/peer.js';
import {
  canonicalAddress,
  parsePrefixText,
  resolveConfig,
  SpeakerConfigError,
  type ResolvedConfig,
  type ResolvedNeighbor,
} from './config.js';
import type { PeerEntry } from './entry.js';
import { exportTarget } from './export-target.js';
import { LocalRoutes, localRoute } from './local-routes.js';
import { WorkQueue } from './queue.js';
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
  private readonly host: PeerHost;
  private readonly peers = new Map<string, PeerEntry>();
  private server: Server | undefined;
  private boundPort: number | undefined;
  private readonly listeners = new Set<(e: SpeakerEvent) => void>();
  private readonly bestListeners = new Set<(c: BestChange[]) => void>();
  /** Prefixes originated from config.originate (so updateConfig can remove them). */
  private configOriginated = new Map<string, LocalPath>();
  private started = false;
  private issueLogBudget = 100;
  private readonly local = new LocalRoutes(() => this.rib);

  constructor(cfg: SpeakerConfig, opts: SpeakerOptions = {}) {
    this.resolved = resolveConfig(cfg);
    this.log = opts.logger ?? SILENT;
    this.rib = this.newRib();
    this.queue = new WorkQueue(SLICE_MS, (d) => this.flushOutput(d), (e) => this.internalError(e));
    this.host = this.hostFor();
  }

  private newRib(): Rib {
    return new Rib({ alwaysCompareMed: !!this.resolved.config.alwaysCompareMed, localAs: this.resolved.asn, localId: this.resolved.routerId });
  }

  /** The bound listen port once started (useful with port 0). */
  get port(): number | undefined {
    return this.boundPort;
  }

  async start(): Promise<void> {
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

  private async openListener(): Promise<void> {
    const l = this.resolved.listen;
    this.boundPort = undefined;
    if (l === false) return;
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
    return server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
  }

  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    const closed = this.closeListener();
    await Promise.all([...this.peers.values()].map((e) => e.peer.dispose(CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, 'the BGP speaker is shutting down')));
    this.queue.stop();
    await closed;
    this.log.info({}, 'BGP speaker stopped');
  }

  subscribe(fn: (e: SpeakerEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onBestChanged(fn: (changes: BestChange[]) => void): () => void {
    this.bestListeners.add(fn);
    return () => this.bestListeners.delete(fn);
  }

  /** Resolves once all queued RIB work is done and the resulting UPDATEs are written. */
  idle(): Promise<void> {
    return this.queue.idle();
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

  addNeighbor(n: NeighborConfig): void {
    const cfg = { ...this.resolved.config, neighbors: [...this.resolved.config.neighbors, n] };
    const resolved = resolveConfig(cfg);
    this.resolved = resolved;
    const rn = resolved.neighbors[resolved.neighbors.length - 1]!;
    const e = this.createPeer(rn);
    if (this.started) e.peer.start();
  }

  async removeNeighbor(address: string): Promise<void> {
    const a = canonicalAddress(address, 'neighbour address');
    const e = this.peers.get(a);
    if (!e) throw new SpeakerConfigError(`neighbour ${a} is not configured`, 'see listPeers() for the configured neighbours');
    this.peers.delete(a);
    this.resolved = resolveConfig({ ...this.resolved.config, neighbors: this.resolved.config.neighbors.filter((n) => canonicalAddress(n.address, 'address') !== a) });
    await e.peer.dispose(CeaseSubcode.PEER_DECONFIGURED, 'the neighbour was removed from the configuration');
    this.sessionGone(e);
  }

  /**
   * Applies a new configuration. Neighbours whose session identity changed (AS, address, port,
   * local address, families, capabilities) are reset; policy, next-hop and timer changes apply
   * without a reset (policies at once, by re-evaluating the RIB; timers from the next session).
   * A new router id, AS or alwaysCompareMed restarts the speaker (every session resets; local routes
   * are kept).
   */
  async updateConfig(cfg: SpeakerConfig): Promise<void> {
    const next = resolveConfig(cfg);
    const prev = this.resolved;
    // The listener moves without touching sessions (port 0 → the bound port is no change).
    const pl = prev.listen;
    const nl = next.listen;
    const listenSame =
      pl === false || nl === false ? pl === nl : pl.address === nl.address && (pl.port === nl.port || (nl.port === this.boundPort && this.boundPort !== undefined));
    const medChanged = !!prev.config.alwaysCompareMed !== !!next.config.alwaysCompareMed;
    if (prev.routerId !== next.routerId || prev.asn !== next.asn || medChanged) {
      const wasStarted = this.started;
      await this.stop();
      this.peers.clear();
      this.resolved = next;
      for (const p of this.configOriginated.keys()) this.local.delete(parsePrefixText(p, 'prefix'));
      this.configOriginated.clear();
      this.rib = this.newRib();
      if (wasStarted) await this.start();
      return;
    }
    this.resolved = next;
    if (!listenSame && this.started) {
      void this.closeListener();
      await this.openListener();
    }
    const nextAddrs = new Set(next.neighbors.map((n) => n.address));
    for (const [addr, e] of [...this.peers]) {
      if (!nextAddrs.has(addr)) {
        this.peers.delete(addr);
        await e.peer.dispose(CeaseSubcode.PEER_DECONFIGURED, 'the neighbour was removed from the configuration');
        this.sessionGone(e);
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
      e.peer.settings = peerSettings(n, next);
      const identity = (r: ResolvedNeighbor): string =>
        JSON.stringify([r.asn, r.port, r.localAddress, r.connectHost, r.open.families, r.open.gracefulRestart, r.open.addPath, r.open.extendedMessage, r.fsm.passive]);
      if (identity(old) !== identity(n)) {
        if (this.started) {
          await e.peer.stop(CeaseSubcode.OTHER_CONFIGURATION_CHANGE, 'the neighbour configuration changed');
          e.peer.start();
        }
        continue;
      }
      if (old.importPolicy.label !== n.importPolicy.label || old.importPolicy.key !== n.importPolicy.key) {
        const src = e.source;
        if (src) this.queue.runGenerator(this.rib.reapply(src, n.importPolicy));
      }
      const exportKey = (r: ResolvedNeighbor, c: ResolvedConfig): string =>
        JSON.stringify([r.exportPolicy.label, r.exportPolicy.key, r.config.nextHopSelf, r.config.nextHop, c.config.nextHop]);
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
  async resetPeer(address: string, opts: { soft?: boolean } = {}): Promise<void> {
    const e = this.entry(address);
    if (opts.soft) {
      if (e.peer.state !== 'Established') return;
      if (e.neighbor.open.families.ipv4) e.peer.requestRefresh(AFI_IPV4, SAFI_UNICAST);
      if (e.neighbor.open.families.ipv6) e.peer.requestRefresh(AFI_IPV6, SAFI_UNICAST);
      const out = e.out;
      if (out) this.queue.runGenerator(this.dump(e, out, true, false));
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
    const e: PeerEntry = { neighbor: n, peer: new Peer(peerSettings(n, this.resolved), this.host), source: undefined, out: undefined };
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
    e.peer.accept(s);
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
    const src = this.rib.newSource(peer.ebgp ? 'ebgp' : 'ibgp', {
      address: e.neighbor.address,
      addressKey: e.neighbor.addressKey,
      asn: e.neighbor.asn,
      bgpId: peer.data.peer.bgpId,
    });
    e.source = src;
    const target = exportTarget(e, this.resolved);
    if (!target) return;
    const out = new AdjRibOut(target);
    e.out = out;
    this.queue.runGenerator(this.dump(e, out, false, true));
  }

  private onSessionDown(peer: Peer): void {
    const e = this.peers.get(peer.address);
    if (!e || e.peer !== peer) return;
    this.sessionGone(e);
  }

  private sessionGone(e: PeerEntry): void {
    const src = e.source;
    e.source = undefined;
    e.out = undefined;
    if (src) {
      src.alive = false;
      this.queue.runGenerator(this.rib.flush(src));
    }
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
    this.queue.runGenerator(this.dump(e, e.out, true, false));
  }

  private onUpdate(peer: Peer, r: Parameters<PeerHost['onUpdate']>[1]): void {
    const e = this.peers.get(peer.address);
    const src = e?.source;
    const ctx = peer.conn?.ctx;
    if (!e || !src || !src.alive || e.peer !== peer || !ctx) return;
    const done = applyUpdate(this.rib, src, r, e.neighbor.importPolicy, ctx);
    const t = done.treatedAsWithdraw;
    if (t) {
      const why = r.issues.map((i) => i.detail).join('; ');
      this.noteIssue(peer, 'treat-as-withdraw', `${t.announced} prefixes treated as withdrawn (RFC 7606): ${why}`, t.removed);
      return;
    }
    for (const i of r.issues) this.noteIssue(peer, i.handling, i.message, 0);
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

function peerSettings(n: ResolvedNeighbor, r: ResolvedConfig): Peer['settings'] {
  return { address: n.address, connectHost: n.connectHost, port: n.port, localAddress: n.localAddress, localAs: r.asn, fsm: n.fsm, open: n.open, sendHoldTime: n.sendHoldTime };
}
