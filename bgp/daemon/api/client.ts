// A typed client for the daemon's gRPC API: what the `twill-bgp neighbors|routes|status`
// subcommands and the tests use. Results come back as the speaker's public types.
import * as grpc from '@grpc/grpc-js';
import type { LocalPath, PeerStatus, RouteQuery, RouteView } from '../../server/types.js';
import { ApiError, ApiUnreachableError } from '../errors.js';
import { parseApiAddress } from './address.js';
import { eventFromMsg, peerFromMsg, routeFromMsg, statusFromMsg, type DaemonStatus, type WatchEvent } from './convert.js';
import type {
  AddPathRequestMsg,
  DeletePathResponseMsg,
  EventMsg,
  ListPeersResponseMsg,
  ListRoutesRequestMsg,
  RouteBatchMsg,
  StatusMsg,
} from './messages.js';
import { twillBgpService } from './proto.js';

type UnaryFn = (req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;
type StreamFn = (req: object, opts?: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

export interface WatchHandle {
  /** Stops watching. */
  cancel(): void;
  /** Resolves when the stream ends: undefined after cancel() or a server shutdown, else the error. */
  readonly done: Promise<ApiError | undefined>;
}

export interface ClientOptions {
  /** Per-call deadline for unary calls, ms (default 10 s). */
  timeoutMs?: number;
}

export class BgpApiClient {
  private readonly client: grpc.Client;
  private readonly timeoutMs: number;

  constructor(
    /** unix:///run/twill/bgp.sock or host:port */
    readonly address: string,
    opts: ClientOptions = {},
  ) {
    const Ctor = twillBgpService();
    this.client = new Ctor(parseApiAddress(address).target, grpc.credentials.createInsecure());
    this.timeoutMs = opts.timeoutMs ?? 10_000;
  }

  close(): void {
    this.client.close();
  }

  async status(): Promise<DaemonStatus> {
    return statusFromMsg(await this.unary<StatusMsg>('GetStatus', {}));
  }

  /** Every neighbour, or just `address` (an ApiError when it is not configured). */
  async listPeers(address?: string): Promise<PeerStatus[]> {
    const res = await this.unary<ListPeersResponseMsg>('ListPeers', { address: address ?? '' });
    return res.peers.map(peerFromMsg);
  }

  async listRoutes(q: RouteQuery): Promise<RouteView[]> {
    const req: ListRoutesRequestMsg = {
      table: q.table,
      peer: q.peer ?? '',
      family: q.family ?? 0,
      prefix: q.prefix ?? '',
      all: q.all ?? false,
      limit: q.limit ?? 1000,
    };
    const stream = this.method<StreamFn>('ListRoutes')(req);
    const out: RouteView[] = [];
    try {
      for await (const batch of stream as AsyncIterable<RouteBatchMsg>) for (const r of batch.routes) out.push(routeFromMsg(r));
    } catch (e) {
      throw this.wrap(e, 'ListRoutes');
    }
    return out;
  }

  async addPath(p: LocalPath): Promise<void> {
    const req: AddPathRequestMsg = { prefix: p.prefix, nextHop: p.nextHop ?? '', communities: p.communities ?? [] };
    if (p.localPref !== undefined) req.localPref = p.localPref;
    if (p.med !== undefined) req.med = p.med;
    await this.unary<object>('AddPath', req);
  }

  /** False when the daemon did not originate that prefix. */
  async deletePath(prefix: string): Promise<boolean> {
    return (await this.unary<DeletePathResponseMsg>('DeletePath', { prefix })).existed;
  }

  /** Streams events to `onEvent` until cancel() (best-path changes only with bestChanges). */
  watchEvents(onEvent: (e: WatchEvent) => void, opts: { bestChanges?: boolean } = {}): WatchHandle {
    const call = this.method<StreamFn>('WatchEvents')({ bestChanges: opts.bestChanges ?? false });
    let cancelled = false;
    const done = new Promise<ApiError | undefined>((resolve) => {
      call.on('data', (m: EventMsg) => {
        const e = eventFromMsg(m);
        if (e) onEvent(e);
      });
      call.on('end', () => resolve(undefined));
      call.on('error', (e: grpc.ServiceError) => resolve(cancelled && e.code === grpc.status.CANCELLED ? undefined : this.wrap(e, 'WatchEvents')));
    });
    return {
      cancel: () => {
        cancelled = true;
        call.cancel();
      },
      done,
    };
  }

  /** Resolves once the daemon answers (or rejects after timeoutMs). */
  async waitReady(timeoutMs = this.timeoutMs): Promise<void> {
    await new Promise<void>((res, rej) =>
      this.client.waitForReady(Date.now() + timeoutMs, (err) => (err ? rej(this.wrap(err, 'connect')) : res())),
    );
  }

  private method<T>(name: string): T {
    const fn = (this.client as unknown as Record<string, unknown>)[name];
    if (typeof fn !== 'function') throw new ApiError(`the API has no method ${name}`);
    return (fn as (...a: unknown[]) => unknown).bind(this.client) as T;
  }

  private unary<T>(name: string, req: object): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.method<UnaryFn>(name)(req, { deadline: Date.now() + this.timeoutMs }, (err, res) => (err ? reject(this.wrap(err, name)) : resolve(res as T)));
    });
  }

  private wrap(e: unknown, what: string): ApiError {
    const se = e as Partial<grpc.ServiceError>;
    if (se.code === grpc.status.UNAVAILABLE || se.code === grpc.status.DEADLINE_EXCEEDED || what === 'connect') {
      return new ApiUnreachableError(
        `cannot reach twill-bgp at ${this.address} (${se.details || se.message || String(e)})`,
        'is the daemon running? pass its socket with --api (default unix:///run/twill/bgp.sock)',
        e,
      );
    }
    return new ApiError(se.details || se.message || String(e), undefined, e);
  }
}
