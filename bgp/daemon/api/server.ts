// The daemon's gRPC service: a thin adapter from the TwillBgp RPCs to an ApiBackend (the daemon,
// or a fake in tests). No state of its own beyond the open streams.
import { chmodSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { TwillError, errorMessage } from '../../../src/errors.js';
import { claimSocketPath, shutdownServer } from '../../../src/nodeapi/local-server.js';
import type { BestChange, LocalPath, PeerStatus, RouteQuery, RouteView, SpeakerEvent } from '../../server/types.js';
import { ApiError } from '../errors.js';
import { parseApiAddress, type ApiAddress } from './address.js';
import { bestChangesToMsg, eventToMsg, peerToMsg, routeToMsg, statusToMsg, type DaemonStatus } from './convert.js';
import type {
  AddPathRequestMsg,
  DeletePathRequestMsg,
  DeletePathResponseMsg,
  EventMsg,
  ListPeersRequestMsg,
  ListPeersResponseMsg,
  ListRoutesRequestMsg,
  RouteBatchMsg,
  StatusMsg,
  WatchEventsRequestMsg,
} from './messages.js';
import { twillBgpService } from './proto.js';

/** What the API serves. The daemon implements it over the speaker; tests use a fake. */
export interface ApiBackend {
  status(): DaemonStatus;
  listPeers(): PeerStatus[];
  listRoutes(q: RouteQuery): RouteView[];
  subscribe(fn: (e: SpeakerEvent) => void): () => void;
  onBestChanged(fn: (changes: BestChange[]) => void): () => void;
  /** Throws a TwillError for a path that cannot be originated. */
  addPath(p: LocalPath): void;
  /** False when that prefix was not originated here. */
  deletePath(prefix: string): boolean;
}

export interface ApiServer {
  /** The address clients use (for tcp with port 0: the port actually bound). */
  readonly address: string;
  close(): Promise<void>;
}

/** Routes per streamed batch. */
const ROUTE_BATCH = 1000;
/** A watcher this many messages behind is cut off (it would otherwise grow without bound). */
const MAX_EVENT_BACKLOG = 10_000;

function grpcError(e: unknown): Partial<grpc.StatusObject> {
  const code = e instanceof TwillError ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL;
  return { code, details: errorMessage(e) };
}

function routeQuery(req: ListRoutesRequestMsg): RouteQuery {
  const table = req.table || 'loc';
  if (table !== 'loc' && table !== 'in' && table !== 'out') {
    throw new ApiError(`table "${table}" is not loc, in or out`);
  }
  if (table !== 'loc' && !req.peer) throw new ApiError(`table "${table}" needs a peer address`, 'pass the neighbour address (--peer)');
  if (req.family !== 0 && req.family !== 4 && req.family !== 6) throw new ApiError(`family ${req.family} is not 4 or 6`);
  const q: RouteQuery = { table, limit: req.limit };
  if (req.peer) q.peer = req.peer;
  if (req.family) q.family = req.family;
  if (req.prefix) q.prefix = req.prefix;
  if (req.all) q.all = true;
  return q;
}

type WatchCall = grpc.ServerWritableStream<WatchEventsRequestMsg, EventMsg>;
/** Ends one open WatchEvents stream. */
type Closer = () => void;

function handlers(b: ApiBackend, watchers: Set<Closer>): grpc.UntypedServiceImplementation {
  return {
    GetStatus(_call: grpc.ServerUnaryCall<object, StatusMsg>, cb: grpc.sendUnaryData<StatusMsg>) {
      try {
        cb(null, statusToMsg(b.status()));
      } catch (e) {
        cb(grpcError(e));
      }
    },
    ListPeers(call: grpc.ServerUnaryCall<ListPeersRequestMsg, ListPeersResponseMsg>, cb: grpc.sendUnaryData<ListPeersResponseMsg>) {
      try {
        const all = b.listPeers();
        const want = call.request.address;
        const peers = want ? all.filter((p) => p.address === want) : all;
        if (want && peers.length === 0) {
          cb({ code: grpc.status.NOT_FOUND, details: `no neighbour ${want} is configured` });
          return;
        }
        cb(null, { peers: peers.map(peerToMsg) });
      } catch (e) {
        cb(grpcError(e));
      }
    },
    ListRoutes(call: grpc.ServerWritableStream<ListRoutesRequestMsg, RouteBatchMsg>) {
      let routes: RouteView[];
      try {
        routes = b.listRoutes(routeQuery(call.request));
      } catch (e) {
        call.emit('error', grpcError(e));
        return;
      }
      void streamRoutes(call, routes);
    },
    WatchEvents(call: WatchCall) {
      const wantBest = call.request.bestChanges;
      let done = false;
      const stop = (): void => {
        if (done) return;
        done = true;
        watchers.delete(closer);
        unsubscribe();
      };
      const closer = (): void => {
        stop();
        call.end();
      };
      watchers.add(closer);
      const send = (m: EventMsg | undefined): void => {
        if (done || !m) return;
        if (call.writableLength > MAX_EVENT_BACKLOG) {
          stop();
          call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: `the client fell ${MAX_EVENT_BACKLOG} events behind` });
          return;
        }
        call.write(m);
      };
      const subs = [b.subscribe((e) => send(eventToMsg(e, new Date())))];
      if (wantBest) subs.push(b.onBestChanged((changes) => send(bestChangesToMsg(changes, new Date()))));
      const unsubscribe = (): void => subs.forEach((u) => u());
      call.on('cancelled', stop);
      call.on('close', stop);
      call.on('error', stop);
    },
    AddPath(call: grpc.ServerUnaryCall<AddPathRequestMsg, object>, cb: grpc.sendUnaryData<object>) {
      try {
        const r = call.request;
        if (!r.prefix) throw new ApiError('AddPath needs a prefix');
        const p: LocalPath = { prefix: r.prefix };
        if (r.nextHop) p.nextHop = r.nextHop;
        if (r.communities.length > 0) p.communities = r.communities;
        if (r.localPref !== undefined && r.localPref !== null) p.localPref = r.localPref;
        if (r.med !== undefined && r.med !== null) p.med = r.med;
        b.addPath(p);
        cb(null, {});
      } catch (e) {
        cb(grpcError(e));
      }
    },
    DeletePath(call: grpc.ServerUnaryCall<DeletePathRequestMsg, DeletePathResponseMsg>, cb: grpc.sendUnaryData<DeletePathResponseMsg>) {
      try {
        if (!call.request.prefix) throw new ApiError('DeletePath needs a prefix');
        cb(null, { existed: b.deletePath(call.request.prefix) });
      } catch (e) {
        cb(grpcError(e));
      }
    },
  };
}

async function streamRoutes(call: grpc.ServerWritableStream<ListRoutesRequestMsg, RouteBatchMsg>, routes: RouteView[]): Promise<void> {
  let cancelled = false;
  call.on('cancelled', () => (cancelled = true));
  for (let i = 0; i < routes.length && !cancelled; i += ROUTE_BATCH) {
    const ok = call.write({ routes: routes.slice(i, i + ROUTE_BATCH).map(routeToMsg) });
    if (!ok) await new Promise<void>((res) => call.once('drain', res));
  }
  call.end();
}

/**
 * Refuses to take over a unix socket a live daemon still answers on; removes a stale one. The
 * directory is made 0700 (the socket itself is made 0600 once bound): whoever can connect can
 * announce routes, so the umask must not decide.
 */
function prepareUnixSocket(path: string): Promise<void> {
  return claimSocketPath(path, 0o700, {
    notSocket: () => new ApiError(`${path} exists and is not a socket`, 'remove it or choose another --api path'),
    busy: () => new ApiError(`another process is serving on ${path}`, 'stop the other twill-bgp, or give this one its own --api socket'),
  });
}

export async function startApiServer(address: string, backend: ApiBackend): Promise<ApiServer> {
  const addr: ApiAddress = parseApiAddress(address);
  if (addr.kind === 'unix') await prepareUnixSocket(addr.path);
  const server = new grpc.Server();
  const watchers = new Set<Closer>();
  server.addService(twillBgpService().service, handlers(backend, watchers));
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync(addr.target, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p))),
  ).catch((e: unknown) => {
    throw new ApiError(`cannot serve the API on ${address}: ${errorMessage(e)}`, 'check the --api address and that its directory is writable', e);
  });
  if (addr.kind === 'unix') chmodSync(addr.path, 0o600);
  const bound = addr.kind === 'unix' ? address : `${addr.kind === 'tcp' && addr.host.includes(':') ? `[${addr.host}]` : addr.host}:${port}`;
  let closed = false;
  return {
    address: bound,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      // Event streams never end on their own: end them so the shutdown can be graceful.
      for (const end of [...watchers]) end();
      await shutdownServer(server, addr.kind === 'unix' ? addr.path : undefined);
    },
  };
}
