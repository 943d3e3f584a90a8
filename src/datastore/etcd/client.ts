// Building the etcd3 client (endpoints, TLS files, timeouts, fault handling) and turning its
// errors into Twill errors.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { InterceptingCall, type Interceptor } from '@grpc/grpc-js';
import { Etcd3, type IOptions } from 'etcd3';
import { BackendError, DatastoreConfigError, UnreachableError } from '../errors.js';
import { TwillError } from '../../errors.js';
import { HostHealth, HostSkippedError, noListener, type HostPolicy } from './host-health.js';

export interface EtcdClientOptions {
  endpoints: { host: string; port: number }[];
  etcdCa?: string | undefined;
  etcdCert?: string | undefined;
  etcdKey?: string | undefined;
  timeoutMs: number;
}

type FaultHandling = NonNullable<IOptions['faultHandling']>;
type Backoff = NonNullable<FaultHandling['watchBackoff']>;

/** The global policy: just runs the call (no blind retry: a retried write may have been applied). */
const passThrough: HostPolicy = {
  _altReturn: undefined as never,
  onSuccess: noListener,
  onFailure: noListener,
  execute: <T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> =>
    Promise.resolve().then(() => fn({ signal: signal ?? new AbortController().signal })),
};

/** Exponential backoff 100 ms .. 2 s for etcd3's own watch manager (unused by Twill's watches). */
function backoff(ms = 100): Backoff {
  return { duration: ms, next: () => backoff(Math.min(ms * 2, 2000)) };
}

function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new DatastoreConfigError(
      `cannot read the etcd ${what} file ${path}: ${e instanceof Error ? e.message : String(e)}`,
      'check the path given to --etcd-ca / --etcd-cert / --etcd-key and that it is readable',
    );
  }
}

export function describeEndpoints(endpoints: { host: string; port: number }[]): string {
  return `etcd://${endpoints.map((e) => `${e.host}:${e.port}`).join(',')}`;
}

export function usesTls(o: Pick<EtcdClientOptions, 'etcdCa' | 'etcdCert' | 'etcdKey'>): boolean {
  return Boolean(o.etcdCa || o.etcdCert || o.etcdKey);
}

export function makeClient(o: EtcdClientOptions): Etcd3 {
  const tls = usesTls(o);
  if (Boolean(o.etcdCert) !== Boolean(o.etcdKey)) {
    throw new DatastoreConfigError(
      'etcd client certificate and key must be given together',
      'pass both --etcd-cert and --etcd-key, or neither',
    );
  }
  const hosts = o.endpoints.map((e) => `${tls ? 'https' : 'http'}://${e.host}:${e.port}`);
  // Per member: skipped for a second after it could not be reached, while another one may answer
  // (no circuit breaker: cockatiel's kept a restarted etcd "down" for 5 s, even when alone).
  const health = new HostHealth(isUnreachable);
  const opts: IOptions = {
    hosts,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + o.timeoutMs }),
    faultHandling: { host: (h) => health.policy(h, hosts), global: passThrough, watchBackoff: backoff() },
    grpcOptions: {
      'grpc.max_receive_message_length': 256 * 1024 * 1024,
      'grpc.max_send_message_length': 16 * 1024 * 1024,
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 2_000,
      // grpc-js client option (etcd3 hands grpcOptions to each service client's constructor).
      interceptors: [requireLeaderForWatches],
    } as IOptions['grpcOptions'],
  };
  if (tls) {
    const credentials: { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer } = {
      // Without a CA file the system roots are used (grpc-js accepts a missing root certificate).
      rootCertificate: o.etcdCa ? readPem('CA', o.etcdCa) : (undefined as unknown as Buffer),
    };
    if (o.etcdKey) credentials.privateKey = readPem('client key', o.etcdKey);
    if (o.etcdCert) credentials.certChain = readPem('client certificate', o.etcdCert);
    opts.credentials = credentials;
    if (o.endpoints.some((e) => isIP(e.host.replace(/^\[|\]$/g, '')) !== 0)) quietIpServerNameWarning();
  }
  return new Etcd3(opts);
}

/**
 * Watches ask etcd for a leader (`hasleader` metadata, clientv3's WithRequireLeader): a member
 * that has lost quorum ends such a stream with "no leader" within a few election timeouts and
 * refuses new ones until a leader is back. Without it a watch on the member that survived a
 * quorum loss stays open and silent, and the agent never learns it is cut off.
 */
const requireLeaderForWatches: Interceptor = (options, nextCall) =>
  new InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      if (options.method_definition.path === '/etcdserverpb.Watch/Watch') metadata.set('hasleader', 'true');
      next(metadata, listener);
    },
  });

let quieted = false;

/**
 * grpc-js sets the TLS server name to the target host even when that is an IP address, and Node
 * then prints DEP0123 ("Setting the TLS ServerName to an IP address is not permitted by RFC
 * 6066") on every program's stderr. The certificate is still checked against the IP (its SAN);
 * only that one warning is dropped, every other warning is emitted as before.
 */
function quietIpServerNameWarning(): void {
  if (quieted) return;
  quieted = true;
  const emit = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: unknown }).code : rest[1];
    if (code === 'DEP0123') return;
    emit(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** Our own call timer fired (the gRPC deadline should have fired first). */
export class CallTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

/** Did the call fail because etcd could not be reached (as opposed to etcd refusing it)? */
export function isUnreachable(e: unknown): boolean {
  if (e instanceof CallTimeout || e instanceof HostSkippedError) return true;
  if (!(e instanceof Error)) return false;
  const name = e.constructor.name;
  return (
    name === 'GRPCDeadlineExceededError' ||
    name === 'BrokenCircuitError' ||
    name === 'GRPCUnavailableError' ||
    /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|No connection established|Deadline exceeded|failed to connect/i.test(e.message)
  );
}

/** Did the request certainly never reach etcd (so a write may be retried safely)? */
export function neverSent(e: unknown): boolean {
  if (e instanceof HostSkippedError) return true;
  return e instanceof Error && /No connection established|ECONNREFUSED|failed to connect/i.test(e.message);
}

const TLS_HINT =
  'the TLS handshake failed: check that --etcd-ca signed the server certificate and that --etcd-cert / --etcd-key are a client certificate etcd trusts';

/** UnreachableError for `e`, with a TLS hint when the handshake was the problem. */
export function unreachable(location: string, e: unknown): UnreachableError {
  const msg = e instanceof Error ? e.message : '';
  return new UnreachableError(location, e, /SSL|certificate|handshake|TLS/i.test(msg) ? TLS_HINT : undefined);
}

export function toTwillError(location: string, e: unknown): Error {
  if (e instanceof TwillError) return e;
  if (isUnreachable(e)) return unreachable(location, e);
  const msg = e instanceof Error ? e.message : String(e);
  if (/permission denied|authentication|unauthenticated/i.test(msg)) {
    return new BackendError(location, `access refused: ${msg}`, {
      hint: 'check the etcd client certificate / user has read-write access to /twill/',
      cause: e,
    });
  }
  if (/too many operations in txn/i.test(msg)) {
    return new BackendError(location, `transaction too large: ${msg}`, {
      hint: 'split the change into transactions of at most 128 objects (etcd --max-txn-ops)',
      cause: e,
    });
  }
  return new BackendError(location, msg, { cause: e });
}
