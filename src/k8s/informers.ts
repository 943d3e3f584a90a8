// List+watch caches of the three kinds the controller follows, on @kubernetes/client-node's
// ListWatch (the library's informer): list, then watch from the list's resourceVersion; a watch
// that ends is resumed from the last resourceVersion seen (BOOKMARK events move it too); a 410
// Gone (an HTTP status or an ERROR event) makes it list again, and objects missing from the new
// list are reported deleted, so a delete that happened while the watch was down is not missed.
// Two things are ours: the list is read as raw JSON (see rest.ts), and the watch asks for
// bookmarks (allowWatchBookmarks, which the library's informer does not request). A list or
// watch that fails is retried with backoff.
import { ListWatch, Watch, type KubeConfig, type KubernetesObject, type KubernetesListObject } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import type { KubeRest } from './rest.js';

export interface KubeResource {
  /** For logs and metrics: "namespaces", "pods", "networkpolicies". */
  name: string;
  /** Collection path, e.g. /api/v1/pods. */
  path: string;
  apiVersion: string;
  kind: string;
}

export const NAMESPACES: KubeResource = { name: 'namespaces', path: '/api/v1/namespaces', apiVersion: 'v1', kind: 'Namespace' };
export const PODS: KubeResource = { name: 'pods', path: '/api/v1/pods', apiVersion: 'v1', kind: 'Pod' };
export const NETWORK_POLICIES: KubeResource = {
  name: 'networkpolicies',
  path: '/apis/networking.k8s.io/v1/networkpolicies',
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
};

/** An object as the API sends it (kind and apiVersion always set). */
export type KubeItem = KubernetesObject & { metadata: { name: string; namespace?: string; resourceVersion?: string } };

export type InformerEvent = 'add' | 'update' | 'delete';

/** The library's Watch, asking for bookmarks and telling us when a watch (re)starts. */
class BookmarkWatch extends Watch {
  constructor(
    config: KubeConfig,
    private readonly onWatch: () => void,
  ) {
    super(config);
  }

  override watch(path: string, queryParams: Record<string, string | number | boolean | undefined>, callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void, done: (err: unknown) => void): Promise<AbortController> {
    this.onWatch();
    return super.watch(path, { ...queryParams, allowWatchBookmarks: true }, callback, done);
  }
}

export interface InformerStats {
  lists: number;
  watches: number;
  errors: number;
}

export class Informer {
  private readonly lw: ListWatch<KubeItem>;
  private synced = false;
  private stopped = false;
  private retryMs = 200;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly syncWaiters: (() => void)[] = [];
  readonly stats: InformerStats = { lists: 0, watches: 0, errors: 0 };

  constructor(
    rest: KubeRest,
    readonly resource: KubeResource,
    handler: (ev: InformerEvent, obj: KubeItem) => void,
    private readonly log: Logger,
  ) {
    const watch = new BookmarkWatch(rest.config, () => {
      // The library calls watch() right after it delivered a list: the cache is complete.
      this.stats.watches++;
      this.retryMs = 200;
      if (!this.synced) {
        this.synced = true;
        for (const w of this.syncWaiters.splice(0)) w();
      }
    });
    const list = async (): Promise<KubernetesListObject<KubeItem>> => {
      this.stats.lists++;
      const l = await rest.list(resource.path, resource.apiVersion, resource.kind);
      return { apiVersion: 'v1', kind: `${resource.kind}List`, metadata: l.metadata, items: l.items as unknown as KubeItem[] };
    };
    this.lw = new ListWatch<KubeItem>(resource.path, watch, list, false);
    const typed = (ev: InformerEvent, o: KubeItem): void => handler(ev, { ...o, apiVersion: resource.apiVersion, kind: resource.kind });
    this.lw.on('add', (o) => typed('add', o));
    this.lw.on('update', (o) => typed('update', o));
    this.lw.on('delete', (o) => typed('delete', o));
    this.lw.on('error', (e: unknown) => {
      if (this.stopped) return;
      this.stats.errors++;
      this.log.warn({ resource: resource.name, err: errorMessage(e), retryMs: this.retryMs }, 'list/watch failed; retrying');
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        if (!this.stopped) void this.lw.start();
      }, this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10_000);
    });
  }

  start(): void {
    void this.lw.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.syncWaiters.splice(0)) w(); // a start waiting for the first list gives up
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.lw.stop();
  }

  get isSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the first list has been delivered. */
  whenSynced(): Promise<void> {
    return this.synced ? Promise.resolve() : new Promise((r) => this.syncWaiters.push(r));
  }

  get(name: string, namespace?: string): KubeItem | undefined {
    return this.lw.get(name, namespace);
  }

  list(): readonly KubeItem[] {
    return this.lw.list();
  }
}
