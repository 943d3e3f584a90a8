// Serves the TwillNode API on a unix socket: a thin adapter from the RPCs to a NodeApiBackend.
// The socket is mode 0600 (root only: it shows the host's peers and routes) in a directory made
// 0700 when this creates it.
import { chmodSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { TwillError, errorMessage } from '../errors.js';
import { type DeniedMsg, deniedQueryFromMsg, type DeniedQueryMsg, deniedToMsg, type PeerMsg, peerToMsg, queryFromMsg, type RouteMsg, type RouteQueryMsg, routeToMsg, type StatusMsg, statusToMsg, type VerifyMsg, verifyToMsg } from './convert.js';
import { NodeApiServeError } from './errors.js';
import { twillNodeService } from './proto.js';
import { claimSocketPath, shutdownServer } from './local-server.js';
import type { NodeApiBackend, NodeRouteRow } from './types.js';

export interface NodeApiServer {
  readonly socketPath: string;
  close(): Promise<void>;
}

/** Routes per streamed batch. */
const ROUTE_BATCH = 1000;

function grpcError(e: unknown): Partial<grpc.StatusObject> {
  return { code: e instanceof TwillError ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL, details: errorMessage(e) };
}

function handlers(b: NodeApiBackend): grpc.UntypedServiceImplementation {
  return {
    GetStatus(_call: grpc.ServerUnaryCall<object, StatusMsg>, cb: grpc.sendUnaryData<StatusMsg>) {
      b.status().then(
        (s) => cb(null, statusToMsg(s)),
        (e: unknown) => cb(grpcError(e)),
      );
    },
    ListPeers(_call: grpc.ServerUnaryCall<object, { peers: PeerMsg[] }>, cb: grpc.sendUnaryData<{ peers: PeerMsg[] }>) {
      b.peers().then(
        (peers) => cb(null, { peers: peers.map(peerToMsg) }),
        (e: unknown) => cb(grpcError(e)),
      );
    },
    Verify(_call: grpc.ServerUnaryCall<object, VerifyMsg>, cb: grpc.sendUnaryData<VerifyMsg>) {
      b.verify().then(
        (r) => cb(null, verifyToMsg(r)),
        (e: unknown) => cb({ code: grpc.status.INTERNAL, details: errorMessage(e) }),
      );
    },
    ListRoutes(call: grpc.ServerWritableStream<RouteQueryMsg, { routes: RouteMsg[] }>) {
      void (async () => {
        let routes: NodeRouteRow[];
        try {
          const q = queryFromMsg(call.request);
          routes = await b.routes(q);
          if (q.limit) routes = routes.slice(0, q.limit);
        } catch (e) {
          call.emit('error', grpcError(e));
          return;
        }
        let cancelled = false;
        call.on('cancelled', () => (cancelled = true));
        for (let i = 0; i < routes.length && !cancelled; i += ROUTE_BATCH) {
          if (!call.write({ routes: routes.slice(i, i + ROUTE_BATCH).map(routeToMsg) })) await new Promise<void>((r) => call.once('drain', r));
        }
        call.end();
      })();
    },
    WatchDenied(call: grpc.ServerWritableStream<DeniedQueryMsg, DeniedMsg>) {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      call.on('close', () => abort.abort());
      b.denied(deniedQueryFromMsg(call.request), (p) => void call.write(deniedToMsg(p)), abort.signal).then(
        () => {
          if (!abort.signal.aborted) call.end();
        },
        (e: unknown) => call.emit('error', grpcError(e)),
      );
    },
  };
}

export async function startNodeApiServer(socketPath: string, backend: NodeApiBackend): Promise<NodeApiServer> {
  try {
    await claimSocketPath(socketPath, 0o700, {
      notSocket: () => new NodeApiServeError(`${socketPath} exists and is not a socket`, 'remove it, or choose another path with --api-socket'),
      busy: () =>
        new NodeApiServeError(`another process serves on ${socketPath}`, 'is another twill-node with this node name running? stop it, or give this one its own --api-socket'),
    });
  } catch (e) {
    if (e instanceof NodeApiServeError) throw e;
    throw new NodeApiServeError(`cannot prepare ${socketPath}: ${errorMessage(e)}`, 'check that its directory is writable, or choose another path with --api-socket', e);
  }
  const server = new grpc.Server();
  server.addService(twillNodeService().service, handlers(backend));
  await new Promise<number>((res, rej) => server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? rej(err) : res(p)))).catch(
    (e: unknown) => {
      throw new NodeApiServeError(`cannot serve the node API on ${socketPath}: ${errorMessage(e)}`, 'check that its directory is writable, or choose another path with --api-socket', e);
    },
  );
  chmodSync(socketPath, 0o600);
  let closed = false;
  return {
    socketPath,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await shutdownServer(server, socketPath);
    },
  };
}
