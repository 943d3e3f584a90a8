// The main-thread side of the speaker worker (./worker.ts): starts the thread, sends requests as
// plain data (./protocol.ts) and turns the replies back into promises, typed errors and events.
// If the thread dies, every pending and later call is rejected with BgpWorkerExitedError and
// listeners get a `worker-exit` event — it is never silent.
import { Worker } from 'node:worker_threads';
import type { KernelSyncStats } from '../kernel/types.js';
import type { PeerStatus, RouteQuery, RouteView, SpeakerConfig, SpeakerEvent, SpeakerLogger } from '../server/types.js';
import type { WorkerInit, WorkerKernelOptions, WorkerLogLevel, WorkerMessage, WorkerOp, WorkerReplies, WorkerRequest } from './protocol.js';
import { BgpWorkerError, BgpWorkerExitedError } from './worker-errors.js';

export interface SpeakerWorkerOptions {
  kernel?: WorkerKernelOptions;
  /** Lines below this level are dropped in the worker. Default info. */
  logLevel?: WorkerLogLevel;
  /**
   * Where the worker's log lines go, with `component: 'bgp'` added (a pino Logger fits).
   * Default: JSON lines on stderr.
   */
  logger?: SpeakerLogger;
  /** Run the worker inside this network namespace (name under /run/netns). */
  netns?: string;
  /** The worker script; default ./worker.js beside this module (dist/bgp/agent/worker.js). */
  entry?: URL;
  /** How long stop() waits for the thread to end by itself before terminating it (ms). Default 5000. */
  exitTimeoutMs?: number;
}

/** Speaker events, plus the worker thread ending when nobody asked it to. */
export type SpeakerWorkerEvent = SpeakerEvent | { type: 'worker-exit'; code: number; message: string };

/** A request without its id: what a caller asks. */
type Ask<K extends WorkerOp> = Omit<Extract<WorkerRequest, { op: K }>, 'id'>;

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export class SpeakerWorker {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(e: SpeakerWorkerEvent) => void>();
  /** Set once the thread is gone (or going): calls fail with it. */
  private gone: BgpWorkerExitedError | undefined;
  private stopping: Promise<void> | undefined;
  private stopAsked = false;
  private readonly exited: Promise<number>;

  private constructor(
    private readonly worker: Worker,
    private readonly log: SpeakerLogger,
    private readonly opts: SpeakerWorkerOptions,
  ) {
    this.exited = new Promise((resolve) => worker.once('exit', resolve));
  }

  /** Starts the thread; resolves once it is ready (inside its namespace, when one is given). */
  static start(opts: SpeakerWorkerOptions = {}): Promise<SpeakerWorker> {
    const init: WorkerInit = {
      logLevel: opts.logLevel ?? 'info',
      ...(opts.kernel ? { kernel: opts.kernel } : {}),
      ...(opts.netns ? { netns: opts.netns } : {}),
    };
    const worker = new Worker(opts.entry ?? new URL('./worker.js', import.meta.url), { workerData: init, stderr: false, stdout: false });
    const sw = new SpeakerWorker(worker, opts.logger ?? stderrLogger, opts);
    return new Promise<SpeakerWorker>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') {
          ready = true;
          resolve(sw);
        } else if (m.type === 'init-failed') {
          ready = true;
          sw.gone = new BgpWorkerExitedError('could not start');
          reject(new BgpWorkerError(m.error));
        } else sw.onMessage(m);
      });
      worker.on('error', (e) => {
        if (!ready) {
          ready = true;
          reject(new BgpWorkerExitedError(`failed to start: ${e.message}`, undefined, e));
        }
        sw.died(`crashed: ${e.message}`, undefined, e);
      });
      worker.on('exit', (code) => {
        if (!ready) {
          ready = true;
          reject(new BgpWorkerExitedError(`exited before it was ready (code ${code})`, code));
        }
        sw.died(`exited (code ${code})`, code);
      });
    });
  }

  /** The worker's thread id (for logs). */
  get threadId(): number {
    return this.worker.threadId;
  }

  /**
   * The speaker's whole configuration. The first call starts the speaker (and kernel sync); later
   * ones apply only what changed (sessions whose identity did not change stay up). Calls in a
   * burst coalesce in the worker. Rejects with BgpWorkerError (code BGP_CONFIG_INVALID and a
   * hint for a bad config).
   */
  setConfig(config: SpeakerConfig): Promise<void> {
    return this.call('set-config', { op: 'set-config', config }).then(() => undefined);
  }

  peers(): Promise<PeerStatus[]> {
    return this.call('peers', { op: 'peers' });
  }

  routes(query: RouteQuery): Promise<RouteView[]> {
    return this.call('routes', { op: 'routes', query });
  }

  /** Kernel route sync counters; null when kernel install is off or no config was set yet. */
  kernelStats(): Promise<KernelSyncStats | null> {
    return this.call('kernel-stats', { op: 'kernel-stats' });
  }

  /** Speaker events (peer-state, notification, ...) and `worker-exit`. Returns the unsubscribe. */
  onEvent(fn: (e: SpeakerWorkerEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Stops the speaker (CEASE to every peer; `graceful`: graceful-restart sessions closed without
   * CEASE and kernel routes kept), then the thread. Safe to call twice.
   */
  stop(opts: { graceful?: boolean } = {}): Promise<void> {
    // From here on the thread's end is expected, even if its exit overtakes the stop reply.
    this.stopAsked = true;
    this.stopping ??= (async () => {
      if (!this.gone) {
        try {
          await this.call('stop', { op: 'stop', graceful: !!opts.graceful });
        } finally {
          this.gone ??= new BgpWorkerExitedError('was stopped');
        }
      }
      const timeout = this.opts.exitTimeoutMs ?? 5000;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), timeout)));
      const how = await Promise.race([this.exited, late]);
      clearTimeout(timer);
      if (how === 'late') await this.worker.terminate();
    })();
    return this.stopping;
  }

  private call<K extends WorkerOp>(_op: K, ask: Ask<K>): Promise<WorkerReplies[K]> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise<WorkerReplies[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...ask, id } as WorkerRequest);
    });
  }

  private onMessage(m: WorkerMessage): void {
    switch (m.type) {
      case 'reply': {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        if (m.ok) p.resolve(m.value);
        else p.reject(new BgpWorkerError(m.error));
        return;
      }
      case 'event':
        this.emit(m.event);
        return;
      case 'log': {
        const fields = { component: 'bgp', ...m.fields };
        const level = m.level === 'trace' ? 'debug' : m.level === 'fatal' ? 'error' : m.level;
        this.log[level](fields, m.msg);
        return;
      }
      case 'ready':
      case 'init-failed':
        return;
    }
  }

  /** The thread ended or crashed: fail what waits, and say so unless we asked for it. */
  private died(why: string, code: number | undefined, cause?: unknown): void {
    const expected = this.gone !== undefined || this.stopAsked;
    const err = this.gone ?? (this.stopAsked ? new BgpWorkerExitedError('was stopped') : new BgpWorkerExitedError(why, code, cause));
    this.gone = err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    if (expected) return;
    this.log.error({ component: 'bgp', threadId: this.worker.threadId, exitCode: code }, `the BGP speaker worker ${why}`);
    this.emit({ type: 'worker-exit', code: code ?? 1, message: err.message });
  }

  private emit(e: SpeakerWorkerEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(e);
      } catch (err) {
        this.log.error({ component: 'bgp', err: err instanceof Error ? err.message : String(err) }, 'a SpeakerWorker event listener threw');
      }
    }
  }
}


const LEVEL_NUMBER = { debug: 20, info: 30, warn: 40, error: 50 } as const;

/** Default destination of the worker's lines: one JSON object per line on stderr. */
const stderrLogger: SpeakerLogger = {
  debug: (o, m) => writeLine('debug', o, m),
  info: (o, m) => writeLine('info', o, m),
  warn: (o, m) => writeLine('warn', o, m),
  error: (o, m) => writeLine('error', o, m),
};

function writeLine(level: keyof typeof LEVEL_NUMBER, obj: object, msg: string | undefined): void {
  process.stderr.write(`${JSON.stringify({ level: LEVEL_NUMBER[level], time: Date.now(), pid: process.pid, ...obj, msg: msg ?? '' })}\n`);
}
