// One etcd watch stream per Twill watcher, with our own reconnect: after a broken stream we
// resume from the revision after the last event delivered (so nothing is lost or repeated), and
// a compacted start revision ends the watch with a `resync` event.

import type { IDuplexStream, IWatchCreateRequest, IWatchRequest, IWatchResponse, WatchClient } from 'etcd3';
import type { Resource, ResourceKey } from '../../api/types.js';
import { errorMessage } from '../../errors.js';
import { UnreachableError } from '../errors.js';
import { parsePath } from '../keys.js';
import type { WatchEvent, Watcher } from '../types.js';
import { decode } from './codec.js';

export interface EtcdWatchParams {
  watchClient: WatchClient;
  location: string;
  /** Key range [start, end). */
  start: Buffer;
  end: Buffer;
  accept(key: ResourceKey): boolean;
  afterRevision: number | undefined;
  handler(ev: WatchEvent): void;
  onClosed(w: EtcdWatch): void;
}

type Stream = IDuplexStream<IWatchRequest, IWatchResponse>;

export class EtcdWatch implements Watcher {
  /** Highest revision whose events were all delivered (from events, or the requested start). */
  private delivered: number | undefined;
  /** For a watch "from now": the revision it started after, until an event arrives. */
  private startedAfter: number | undefined;
  private stream: Stream | undefined;
  private gen = 0;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs = 100;
  private outage = false;

  constructor(private readonly p: EtcdWatchParams) {
    this.delivered = p.afterRevision;
    this.connect();
  }

  private emit(ev: WatchEvent): void {
    try {
      this.p.handler(ev);
    } catch (e) {
      process.emitWarning(`datastore watch handler threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private connect(): void {
    if (this.closed) return;
    const gen = ++this.gen;
    this.p.watchClient.watch().then(
      (stream) => {
        if (this.closed || gen !== this.gen) {
          stopStream(stream);
          return;
        }
        this.stream = stream;
        stream.on('data', (res) => {
          if (gen === this.gen) this.onResponse(res);
        });
        stream.on('error', (err) => {
          if (gen === this.gen) this.onBroken(err);
        });
        stream.on('end', () => {
          if (gen === this.gen) this.onBroken(new Error('the watch stream ended'));
        });
        const req: IWatchCreateRequest = { key: this.p.start, range_end: this.p.end, prev_kv: true };
        const from = this.delivered ?? this.startedAfter;
        if (from !== undefined) req.start_revision = String(from + 1);
        stream.write({ create_request: req });
      },
      (err: unknown) => {
        if (gen === this.gen) this.onBroken(err);
      },
    );
  }

  private onResponse(res: IWatchResponse): void {
    if (this.closed) return;
    if (res.canceled) {
      const compact = res.compact_revision && res.compact_revision !== '0' ? res.compact_revision : undefined;
      const from = (this.delivered ?? this.startedAfter ?? 0) + 1;
      this.finish(
        compact !== undefined
          ? `revision ${from} of ${this.p.location} was compacted (history starts at ${compact})`
          : `etcd at ${this.p.location} canceled the watch${res.cancel_reason ? `: ${res.cancel_reason}` : ''}`,
      );
      return;
    }
    if (res.created) {
      this.backoffMs = 100;
      if (this.outage) {
        this.outage = false;
        this.emit({ type: 'reconnected' });
        if (this.closed) return;
      }
      if (this.delivered === undefined && this.startedAfter === undefined) this.startedAfter = Number(res.header.revision);
      return;
    }
    const floor = this.delivered ?? -1;
    let last = floor;
    for (const ev of res.events) {
      const rev = Number(ev.kv.mod_revision);
      if (rev <= floor) continue; // already delivered before a reconnect
      if (rev > last) last = rev;
      const key = parsePath(ev.kv.key.toString());
      if (!key || !this.p.accept(key)) continue;
      if (ev.type === 'Put') {
        let resource: Resource;
        try {
          resource = decode(this.p.location, ev.kv);
        } catch (e) {
          // A value written behind Twill's back: the watcher lists again, and list() reports the
          // key as corrupt (the syncer keeps its last good version) instead of failing.
          this.finish(`${errorMessage(e)}; listing again`);
          return;
        }
        this.emit({ type: ev.kv.version === '1' ? 'added' : 'modified', resource, revision: ev.kv.mod_revision });
      } else {
        const del: WatchEvent = { type: 'deleted', key, revision: ev.kv.mod_revision };
        try {
          if (ev.prev_kv) del.previous = decode(this.p.location, ev.prev_kv);
        } catch {
          // The deleted value was unreadable: the delete itself is still news.
        }
        this.emit(del);
      }
      if (this.closed) return;
    }
    if (last > floor) this.delivered = last;
  }

  private onBroken(err: unknown): void {
    if (this.closed) return;
    this.gen++;
    if (this.stream) stopStream(this.stream);
    this.stream = undefined;
    if (!this.outage) {
      this.outage = true;
      this.emit({ type: 'error', error: new UnreachableError(this.p.location, err) });
    }
    if (this.closed) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, 2000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect();
    }, wait);
  }

  private finish(reason: string): void {
    this.shutdown();
    this.emit({ type: 'resync', reason });
  }

  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    this.gen++;
    if (this.timer) clearTimeout(this.timer);
    if (this.stream) stopStream(this.stream);
    this.stream = undefined;
    this.p.onClosed(this);
  }

  close(): Promise<void> {
    this.shutdown();
    return Promise.resolve();
  }
}

/**
 * Ends a watch stream. Half-close first: etcd3 treats an error on a still-writable stream as a
 * host failure and would tear down every connection to that host.
 */
function stopStream(s: Stream): void {
  try {
    s.end();
  } catch {
    /* already ended */
  }
  try {
    s.cancel();
  } catch {
    /* already cancelled */
  }
}
