// The datastore-driven speaker: datastore events (the BGP kinds) → BgpAgentInputs → the speaker's
// whole config, handed to the speaker (twill-node's SpeakerWorker) only when it changed. Rebuilds
// are coalesced; the speaker applies them one at a time (its management queue), resetting only
// the sessions whose identity changed. Runs on twill-node's main thread; the speaker does not.
import type { SyncEvent, SyncerCallbacks } from '../../src/datastore/index.js';
import { errorMessage } from '../../src/errors.js';
import type { PeerStatus, SpeakerConfig } from '../server/types.js';
import { BgpAgentInputs } from './store.js';
import type { PeerInfo } from './types.js';

/** What the agent needs from the speaker (SpeakerWorker fits). */
export interface SpeakerHandle {
  setConfig(cfg: SpeakerConfig): Promise<void>;
  peers(): Promise<PeerStatus[]>;
}

export interface BgpAgentLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BgpAgentOptions {
  nodeName: string;
  speaker: SpeakerHandle;
  log: BgpAgentLogger;
  /** Coalescing window for rebuilds after a change, ms (default 20). */
  coalesceMs?: number;
  /** Rewrites every built config before it is applied (tests move the listener). */
  adjust?: (cfg: SpeakerConfig) => SpeakerConfig;
}

export interface BgpAgentStatus {
  /** A config was built and the speaker accepted it. */
  running: boolean;
  inSync: boolean;
  /** Why there is no speaker, or what the datastore holds that cannot be used. */
  problems: string[];
  /** Set when the speaker rejected the last config. */
  lastError?: string;
}

export class BgpAgent {
  private readonly inputs = new BgpAgentInputs();
  private inSync = false;
  private timer: NodeJS.Timeout | undefined;
  private applying: Promise<void> = Promise.resolve();
  private lastJson: string | undefined;
  private lastConfig: SpeakerConfig | undefined;
  private peerInfo = new Map<string, PeerInfo>();
  private problems: string[] = [];
  private lastError: string | undefined;
  private stopped = false;

  constructor(private readonly o: BgpAgentOptions) {}

  /** Feed for the node's shared syncer (src/datastore startSharedSyncer). */
  readonly callbacks: SyncerCallbacks = {
    onUpdates: (events: SyncEvent[]) => {
      this.inputs.apply(events);
      this.schedule();
    },
    onInSync: () => {
      this.inSync = true;
      this.schedule();
    },
  };

  private schedule(): void {
    if (!this.inSync || this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.applying = this.applying.then(() => this.rebuild());
    }, this.o.coalesceMs ?? 20);
  }

  private async rebuild(): Promise<void> {
    if (this.stopped) return;
    const built = this.inputs.build(this.o.nodeName);
    const newProblems = built.problems.filter((p) => !this.problems.includes(p));
    for (const p of newProblems) this.o.log.warn({ problem: p }, 'BGP configuration problem');
    this.problems = built.problems;
    this.peerInfo = built.peers;
    if (!built.config) {
      if (this.lastConfig) this.o.log.warn({ problems: built.problems }, 'this node can no longer speak BGP; the speaker keeps its last configuration');
      return;
    }
    const cfg = this.o.adjust ? this.o.adjust(built.config) : built.config;
    const json = JSON.stringify(cfg);
    if (json === this.lastJson) return;
    try {
      await this.o.speaker.setConfig(cfg);
      if (!this.lastJson) this.o.log.info({ routerId: cfg.routerId, asn: cfg.asn, neighbors: cfg.neighbors.length }, 'BGP speaker configured from the datastore');
      else this.o.log.info({ neighbors: cfg.neighbors.map((n) => n.address) }, 'BGP configuration changed');
      this.lastJson = json;
      this.lastConfig = cfg;
      this.lastError = undefined;
    } catch (e) {
      this.lastError = errorMessage(e);
      this.o.log.error({ err: this.lastError }, 'the speaker rejected the configuration built from the datastore; it keeps the previous one');
    }
  }

  /** Applies the last config again (after the speaker was replaced). */
  async reapply(): Promise<void> {
    this.lastJson = undefined;
    this.applying = this.applying.then(() => this.rebuild());
    await this.applying;
  }

  /** Resolves once every change seen so far has been handed to the speaker. */
  async settled(): Promise<void> {
    while (this.timer) await new Promise((r) => setTimeout(r, 5));
    await this.applying;
  }

  /** What each neighbour is (mesh, global, node specific, route reflector…). */
  peerType(address: string): PeerInfo | undefined {
    return this.peerInfo.get(address);
  }

  status(): BgpAgentStatus {
    return { running: this.lastConfig !== undefined, inSync: this.inSync, problems: [...this.problems], ...(this.lastError ? { lastError: this.lastError } : {}) };
  }

  get config(): SpeakerConfig | undefined {
    return this.lastConfig;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
