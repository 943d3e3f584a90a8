// The syncer: list every kind, hand the consumer the whole picture, say "in sync", then stream
// changes. When a watch cannot continue (history compacted, stream lost for good) the kind is
// listed again and only the differences are handed on, followed by another "in sync".

import { keyOf, type Kind, type Resource, type ResourceKey } from '../api/types.js';
import { errorMessage } from '../errors.js';
import { keyPath } from './keys.js';
import type { CorruptValue, Datastore, WatchEvent, Watcher } from './types.js';

export type SyncEvent = { type: 'set'; resource: Resource } | { type: 'deleted'; key: ResourceKey };

export type SyncerStatus = 'connecting' | 'resyncing' | 'in-sync' | 'error';

export interface SyncerCallbacks {
  /** A batch of changes, in order. Objects are the consumer's to keep. */
  onUpdates(events: SyncEvent[]): void;
  /** Everything listed so far has been delivered: the consumer's view matches the datastore. */
  onInSync(): void;
  onStatus?(s: SyncerStatus, detail?: string): void;
  /**
   * Stored values the last lists had to skip (not readable as resources), all kinds together;
   * called whenever that list changes (with [] once they are gone). A key whose value went bad
   * keeps its last good version in the consumer's view (it is neither set nor deleted).
   */
  onCorrupt?(values: CorruptValue[]): void;
}

export interface SyncerOptions {
  /** First retry delay after a failed list, ms (default 500; doubles up to maxRetryMs). */
  retryMs?: number;
  /** Default 10000. */
  maxRetryMs?: number;
}

interface Known {
  key: ResourceKey;
  rv: string | undefined;
}

class Syncer {
  private readonly known = new Map<string, Known>();
  private readonly corrupt = new Map<Kind, CorruptValue[]>();
  private readonly watches = new Map<Kind, Watcher>();
  private readonly dirty = new Set<Kind>();
  private pending: SyncEvent[] = [];
  private flushScheduled = false;
  private stopped = false;
  private running: Promise<void> = Promise.resolve();
  private relisting = false;
  private degraded = false;
  /** Kinds whose watch reported an error and has not been heard from since. */
  private readonly outages = new Set<Kind>();
  private wake: (() => void) | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly ds: Datastore,
    private readonly kinds: Kind[],
    private readonly cb: SyncerCallbacks,
    private readonly opts: SyncerOptions,
  ) {}

  start(): void {
    this.status('connecting');
    for (const k of new Set(this.kinds)) this.dirty.add(k);
    if (this.dirty.size === 0) {
      // Nothing to list: in sync at once (but never before startSyncer has returned).
      queueMicrotask(() => {
        if (this.stopped) return;
        this.cb.onInSync();
        this.status('in-sync');
      });
      return;
    }
    this.kick();
  }

  private status(s: SyncerStatus, detail?: string): void {
    if (this.stopped) return;
    try {
      this.cb.onStatus?.(s, detail);
    } catch (e) {
      process.emitWarning(`syncer onStatus threw: ${errorMessage(e)}`);
    }
  }

  private kick(): void {
    if (this.relisting || this.stopped) return;
    this.relisting = true;
    this.running = this.relistLoop();
  }

  private async relistLoop(): Promise<void> {
    try {
      await this.relistUntilClean();
    } catch (e) {
      // A bug (e.g. a callback broke an invariant): say so, and try again from a clean list.
      this.relisting = false;
      if (this.stopped) return;
      this.status('error', `syncer failed: ${errorMessage(e)}`);
      for (const k of new Set(this.kinds)) this.dirty.add(k);
      await this.sleep(this.opts.maxRetryMs ?? 10_000);
      this.kick();
    }
  }

  /** Lists dirty kinds until none is left. Clears `relisting` in the same tick it finds none. */
  private async relistUntilClean(): Promise<void> {
    let delay = this.opts.retryMs ?? 500;
    for (;;) {
      if (this.stopped || this.dirty.size === 0) {
        this.relisting = false;
        return;
      }
      const kinds = [...this.dirty];
      let lists: { kind: Kind; items: Resource[]; revision: string; corrupt: CorruptValue[] }[];
      try {
        lists = [];
        for (const kind of kinds) {
          const res = await this.ds.list({ kind });
          lists.push({ kind, items: res.items, revision: res.revision, corrupt: res.corrupt ?? [] });
        }
      } catch (e) {
        if (this.stopped) return;
        this.status('error', `listing from ${this.ds.location} failed: ${errorMessage(e)}`);
        await this.sleep(delay);
        delay = Math.min(delay * 2, this.opts.maxRetryMs ?? 10_000);
        continue;
      }
      if (this.stopped) return;
      for (const k of kinds) this.dirty.delete(k);
      this.flush();
      this.applyLists(lists);
      this.flush();
      for (const l of lists) {
        this.outages.delete(l.kind);
        this.startWatch(l.kind, l.revision);
      }
      if (this.dirty.size === 0) {
        this.degraded = false;
        try {
          this.cb.onInSync();
        } catch (e) {
          process.emitWarning(`syncer onInSync threw: ${errorMessage(e)}`);
        }
        this.status('in-sync');
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }

  /** Turns fresh lists into the difference against what the consumer already has. */
  private applyLists(lists: { kind: Kind; items: Resource[]; corrupt: CorruptValue[] }[]): void {
    let corruptChanged = false;
    for (const { kind, corrupt } of lists) {
      const before = JSON.stringify(this.corrupt.get(kind) ?? []);
      if (corrupt.length > 0) this.corrupt.set(kind, corrupt);
      else this.corrupt.delete(kind);
      if (JSON.stringify(corrupt) !== before) corruptChanged = true;
    }
    if (corruptChanged) this.reportCorrupt();
    for (const { kind, items, corrupt } of lists) {
      // A key whose value is unreadable keeps its last good version: neither set nor deleted.
      const present = new Set<string>(corrupt.map((c) => keyPath(c.key)));
      for (const r of items) {
        const path = keyPath(keyOf(r));
        present.add(path);
        const prev = this.known.get(path);
        if (!prev || prev.rv !== r.metadata.resourceVersion) this.set(path, r);
      }
      for (const [path, k] of this.known) {
        if (k.key.kind === kind && !present.has(path)) this.remove(path, k.key);
      }
    }
  }

  private set(path: string, r: Resource): void {
    this.known.set(path, { key: keyOf(r), rv: r.metadata.resourceVersion });
    this.pending.push({ type: 'set', resource: r });
  }

  private remove(path: string, key: ResourceKey): void {
    this.known.delete(path);
    this.pending.push({ type: 'deleted', key });
  }

  private startWatch(kind: Kind, revision: string): void {
    this.watches.get(kind)?.close().catch(() => undefined);
    let w: Watcher | undefined;
    const handler = (ev: WatchEvent): void => {
      if (this.stopped || this.watches.get(kind) !== w) return;
      this.onEvent(kind, ev);
    };
    w = this.ds.watch({ kind, afterRevision: revision }, handler);
    this.watches.set(kind, w);
  }

  private onEvent(kind: Kind, ev: WatchEvent): void {
    switch (ev.type) {
      case 'added':
      case 'modified':
        this.clearCorrupt(kind, keyPath(keyOf(ev.resource)));
        this.set(keyPath(keyOf(ev.resource)), ev.resource);
        this.recovered(kind);
        this.scheduleFlush();
        break;
      case 'deleted': {
        const path = keyPath(ev.key);
        this.clearCorrupt(kind, path);
        if (this.known.has(path)) {
          this.remove(path, ev.key);
          this.scheduleFlush();
        }
        this.recovered(kind);
        break;
      }
      case 'error':
        this.outages.add(kind);
        this.degraded = true;
        this.status('error', errorMessage(ev.error));
        break;
      case 'reconnected':
        this.recovered(kind);
        break;
      case 'resync': {
        const w = this.watches.get(kind);
        this.watches.delete(kind);
        w?.close().catch(() => undefined);
        this.status('resyncing', ev.reason);
        this.dirty.add(kind);
        this.flush();
        this.kick();
        break;
      }
    }
  }

  /** A key written again (or deleted) is no longer corrupt: tell the consumer. */
  private clearCorrupt(kind: Kind, path: string): void {
    const list = this.corrupt.get(kind);
    if (list === undefined || !list.some((c) => keyPath(c.key) === path)) return;
    const rest = list.filter((c) => keyPath(c.key) !== path);
    if (rest.length > 0) this.corrupt.set(kind, rest);
    else this.corrupt.delete(kind);
    this.reportCorrupt();
  }

  private reportCorrupt(): void {
    try {
      this.cb.onCorrupt?.([...this.corrupt.values()].flat());
    } catch (e) {
      process.emitWarning(`syncer onCorrupt threw: ${errorMessage(e)}`);
    }
  }

  /** A kind's watch is live again (it reconnected, or delivered a change): in sync once every kind's is. */
  private recovered(kind: Kind): void {
    this.outages.delete(kind);
    if (this.degraded && !this.relisting && this.outages.size === 0) {
      this.degraded = false;
      this.status('in-sync');
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.pending.length === 0 || this.stopped) return;
    const batch = this.pending;
    this.pending = [];
    try {
      this.cb.onUpdates(batch);
    } catch (e) {
      process.emitWarning(`syncer onUpdates threw: ${errorMessage(e)}`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wake?.();
    const ws = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(ws.map((w) => w.close().catch(() => undefined)));
    await this.running.catch(() => undefined);
  }
}

/**
 * Lists `kinds`, reports them as `set`, calls onInSync, then streams changes; re-lists a kind
 * whose watch needs a resync and reports only what changed. Callbacks never run concurrently.
 */
export function startSyncer(
  ds: Datastore,
  kinds: Kind[],
  cb: SyncerCallbacks,
  opts: SyncerOptions = {},
): { stop(): Promise<void> } {
  const s = new Syncer(ds, kinds, cb, opts);
  s.start();
  return { stop: () => s.stop() };
}
