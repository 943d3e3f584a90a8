// A typed client for twill-node's local API (twillctl node status|routes, tests).
import { accessSync, constants } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { TwillError } from '../errors.js';
import { deniedFromMsg, type DeniedMsg, deniedQueryToMsg, peerFromMsg, type PeerMsg, queryToMsg, routeFromMsg, type RouteMsg, statusFromMsg, type StatusMsg, verifyFromMsg, type VerifyMsg } from './convert.js';
import { NodeApiUnreachableError } from './errors.js';
import { twillNodeService } from './proto.js';
import type { NodeApiBackend, NodeDeniedPacket, NodeDeniedQuery, NodePeerRow, NodeRouteQuery, NodeRouteRow, NodeStatusReport, NodeVerifyReport } from './types.js';

type UnaryFn = (req: object, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;
type StreamFn = (req: object, opts?: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

/** The client side of the API; it is a NodeApiBackend too, so views can take either. */
export class NodeApiClient implements NodeApiBackend {
  private readonly client: grpc.Client;

  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 5000,
  ) {
    this.client = new (twillNodeService())(`unix://${socketPath}`, grpc.credentials.createInsecure());
  }

  close(): void {
    this.client.close();
  }

  async status(): Promise<NodeStatusReport> {
    return statusFromMsg(await this.unary<StatusMsg>('GetStatus', {}));
  }

  async peers(): Promise<NodePeerRow[]> {
    return (await this.unary<{ peers: PeerMsg[] }>('ListPeers', {})).peers.map(peerFromMsg);
  }

  /** Reading a large ruleset (iptables-save, ipset list) takes a while: six times the usual deadline. */
  async verify(): Promise<NodeVerifyReport> {
    return verifyFromMsg(await this.unary<VerifyMsg>('Verify', {}, this.timeoutMs * 6));
  }

  async routes(q: NodeRouteQuery = {}): Promise<NodeRouteRow[]> {
    this.checkSocket();
    const stream = this.method<StreamFn>('ListRoutes')(queryToMsg(q), { deadline: Date.now() + this.timeoutMs * 6 });
    const out: NodeRouteRow[] = [];
    try {
      for await (const batch of stream as AsyncIterable<{ routes: RouteMsg[] }>) for (const r of batch.routes) out.push(routeFromMsg(r));
    } catch (e) {
      throw this.wrap(e);
    }
    return out;
  }

  /**
   * The node's recent denied packets, then (follow) each new one, until the stream ends or signal
   * aborts (which resolves, not rejects). No deadline with follow: it runs until cancelled.
   */
  async denied(q: NodeDeniedQuery, onPacket: (p: NodeDeniedPacket) => void, signal?: AbortSignal): Promise<void> {
    this.checkSocket();
    const stream = this.method<StreamFn>('WatchDenied')(deniedQueryToMsg(q), q.follow ? {} : { deadline: Date.now() + this.timeoutMs * 6 });
    const cancel = (): void => stream.cancel();
    if (signal?.aborted) cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const m of stream as AsyncIterable<DeniedMsg>) onPacket(deniedFromMsg(m));
    } catch (e) {
      if ((e as Partial<grpc.ServiceError>).code === grpc.status.CANCELLED && signal?.aborted) return;
      throw this.wrap(e);
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }

  /** Fails at once, naming the path, when there is no socket or it is not ours to use (gRPC would only say "UNAVAILABLE"). */
  private checkSocket(): void {
    try {
      accessSync(this.socketPath, constants.R_OK | constants.W_OK);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM') {
        throw new TwillError('NodeApiPermission', `no permission to use ${this.socketPath}`, {
          hint: 'the agent\'s socket is mode 0600 in a 0700 directory, for root only: run twillctl as root (e.g. with sudo)',
        });
      }
      throw new NodeApiUnreachableError(this.socketPath, code === 'ENOENT' ? 'no such socket' : (e as Error).message);
    }
  }

  private method<T>(name: string): T {
    const fn = (this.client as unknown as Record<string, unknown>)[name];
    if (typeof fn !== 'function') throw new TwillError('NodeApiMethod', `the node API has no method ${name}`);
    return (fn as (...a: unknown[]) => unknown).bind(this.client) as T;
  }

  private unary<T>(name: string, req: object, timeoutMs = this.timeoutMs): Promise<T> {
    this.checkSocket();
    return new Promise<T>((resolve, reject) => {
      this.method<UnaryFn>(name)(req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(this.wrap(err)) : resolve(res as T)));
    });
  }

  private wrap(e: unknown): TwillError {
    const se = e as Partial<grpc.ServiceError>;
    const detail = se.details || se.message || String(e);
    if (se.code === grpc.status.UNAVAILABLE || se.code === grpc.status.DEADLINE_EXCEEDED) return new NodeApiUnreachableError(this.socketPath, detail, e);
    return new TwillError('NodeApiCall', `twill-node at ${this.socketPath}: ${detail}`, { cause: e });
  }
}
