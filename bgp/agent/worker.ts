// The speaker worker: runs one BgpSpeaker and its kernel route sync (bgp/kernel) on a
// worker_thread of its own, so that no burst of work on the main thread (policy computation) can
// delay a keepalive, and no table transfer here can delay the main thread. It is driven by
// ./worker-host.ts through the messages of ./protocol.ts; nothing else reaches in.
//
// The speaker starts with the first config (the node agent knows its router id only once the
// datastore has been read); later configs go to updateConfig (serialized, bursts coalesce).
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { TwillError } from '../../src/errors.js';
import { enterNetnsForThread, openNetlink, type NetlinkHandle } from '../../src/netlink/index.js';
import { followSpeaker, gracefulRestartEnabled, kernelReconcileMs, type KernelFollower } from '../kernel/follow.js';
import { KernelRouteSync } from '../kernel/index.js';
import { BgpSpeaker } from '../server/speaker.js';
import type { SpeakerConfig, SpeakerLogger } from '../server/types.js';
import { LOG_LEVEL_VALUES, type WireError, type WorkerInit, type WorkerMessage, type WorkerOp, type WorkerReplies, type WorkerRequest } from './protocol.js';

type Level = Exclude<WorkerInit['logLevel'], 'silent'>;

/** A SpeakerLogger whose lines go to the main thread as `log` messages (plain data). */
class PostLogger implements SpeakerLogger {
  constructor(
    private readonly send: (m: WorkerMessage) => void,
    private readonly min: number,
    private readonly bindings: Record<string, unknown>,
  ) {}

  child(b: Record<string, unknown>): PostLogger {
    return new PostLogger(this.send, this.min, { ...this.bindings, ...b });
  }

  debug(obj: object, msg?: string): void {
    this.write('debug', obj, msg);
  }
  info(obj: object, msg?: string): void {
    this.write('info', obj, msg);
  }
  warn(obj: object, msg?: string): void {
    this.write('warn', obj, msg);
  }
  error(obj: object, msg?: string): void {
    this.write('error', obj, msg);
  }

  private write(level: Level, obj: object, msg: string | undefined): void {
    if (LOG_LEVEL_VALUES[level] < this.min) return;
    this.send({ type: 'log', level, fields: plainFields({ ...this.bindings, ...obj }), msg: msg ?? '' });
  }
}

/** Log fields as cloneable data: errors as { name, message, code }, bigints as strings. */
function plainFields(o: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(o, (_k, v: unknown) => {
      if (v instanceof Error) return { name: v.name, message: v.message, ...(v instanceof TwillError ? { code: v.code } : {}) };
      if (typeof v === 'bigint') return v.toString();
      return v;
    }),
  ) as Record<string, unknown>;
}

export function toWireError(e: unknown): WireError {
  if (e instanceof TwillError) return { name: e.name, code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
  if (e instanceof Error) return { name: e.name, code: 'BgpWorkerInternal', message: e.message };
  return { name: 'Error', code: 'BgpWorkerInternal', message: String(e) };
}

class WorkerStoppedError extends TwillError {
  constructor() {
    super('BgpWorkerStopped', 'the BGP speaker worker is stopping', { hint: 'start a new SpeakerWorker' });
  }
}

/** The speaker and its kernel sync, inside the worker. */
class SpeakerAgent {
  private speaker: BgpSpeaker | undefined;
  private starting: Promise<void> | undefined;
  private kernel: { sync: KernelRouteSync; nl: NetlinkHandle } | undefined;
  private follower: KernelFollower | undefined;
  private stopping = false;

  constructor(
    private readonly init: WorkerInit,
    private readonly send: (m: WorkerMessage) => void,
    private readonly log: PostLogger,
  ) {}

  async setConfig(cfg: SpeakerConfig): Promise<void> {
    if (this.stopping) throw new WorkerStoppedError();
    if (!this.starting) {
      this.starting = this.first(cfg).catch(async (e: unknown) => {
        this.starting = undefined;
        await this.closeKernel(false);
        throw e;
      });
      return this.starting;
    }
    await this.starting.catch(() => undefined);
    if (!this.speaker) return this.setConfig(cfg);
    await this.speaker.updateConfig(cfg);
    this.follower?.setConfig(cfg);
  }

  private async first(cfg: SpeakerConfig): Promise<void> {
    let restarting = false;
    const k = this.init.kernel;
    if (k?.install) {
      const nl = await openNetlink();
      const sync = new KernelRouteSync(nl, {
        ...(k.table !== undefined ? { table: k.table } : {}),
        ...(k.protocol !== undefined ? { protocol: k.protocol } : {}),
        ...(k.metric !== undefined ? { metric: k.metric } : {}),
        ...(k.maxPaths !== undefined ? { maxPaths: k.maxPaths } : {}),
        log: this.log.child({ part: 'kernel' }),
      });
      this.kernel = { sync, nl };
      // Routes of a previous run keep forwarding until the peers are back (see bgp/kernel/follow.ts).
      await sync.start({ reconcileAfterMs: kernelReconcileMs(cfg) });
      restarting = gracefulRestartEnabled(cfg) && sync.stats().installed > 0;
    }
    const speaker = new BgpSpeaker(cfg, { logger: this.log.child({ part: 'speaker' }), ...(restarting ? { restarting: true } : {}) });
    speaker.subscribe((event) => this.send({ type: 'event', event }));
    if (this.kernel) this.follower = followSpeaker(speaker, this.kernel.sync, cfg, this.log);
    try {
      await speaker.start();
    } catch (e) {
      this.follower?.close();
      this.follower = undefined;
      throw e;
    }
    this.speaker = speaker;
    this.follower?.check();
  }

  async stop(graceful: boolean): Promise<void> {
    this.stopping = true;
    await this.starting?.catch(() => undefined);
    try {
      await this.speaker?.stop(graceful ? { graceful: true } : undefined);
    } finally {
      this.follower?.close();
      await this.closeKernel(graceful);
    }
  }

  private async closeKernel(keepRoutes: boolean): Promise<void> {
    const k = this.kernel;
    this.kernel = undefined;
    if (!k) return;
    try {
      await k.sync.stop({ keepRoutes });
    } finally {
      k.nl.close();
    }
  }

  answer(req: WorkerRequest): Promise<WorkerReplies[WorkerOp]> | WorkerReplies[WorkerOp] {
    switch (req.op) {
      case 'set-config':
        return this.setConfig(req.config).then(() => null);
      case 'peers':
        return this.speaker?.listPeers() ?? [];
      case 'routes':
        return this.speaker?.listRoutes(req.query) ?? [];
      case 'kernel-stats':
        return this.kernel?.sync.stats() ?? null;
      case 'stop':
        return this.stop(req.graceful).then(() => null);
    }
  }
}

function main(port: MessagePort, init: WorkerInit): void {
  const send = (m: WorkerMessage): void => port.postMessage(m);
  const log = new PostLogger(send, LOG_LEVEL_VALUES[init.logLevel], {});
  try {
    // Before anything opens a socket: everything this thread opens lives in that namespace.
    if (init.netns) enterNetnsForThread({ name: init.netns });
  } catch (e) {
    send({ type: 'init-failed', error: toWireError(e) });
    port.close();
    return;
  }
  const agent = new SpeakerAgent(init, send, log);
  port.on('message', (req: WorkerRequest) => {
    void (async () => {
      try {
        const value = await agent.answer(req);
        send({ type: 'reply', id: req.id, ok: true, value });
      } catch (e) {
        send({ type: 'reply', id: req.id, ok: false, error: toWireError(e) });
      }
      // After stopping nothing is left to do: closing the port lets the thread end.
      if (req.op === 'stop') port.close();
    })();
  });
  send({ type: 'ready' });
}

if (parentPort) main(parentPort, workerData as WorkerInit);
