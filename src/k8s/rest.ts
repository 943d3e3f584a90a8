// The Kubernetes API as plain JSON over HTTP(S), with the kubeconfig's server, CA and credentials
// (@kubernetes/client-node's KubeConfig applies them). Lists and Lease reads/writes go through
// here, not through the library's generated clients: those turn objects into classes (dates,
// undefined-valued fields), while the converter reads objects as the API sends them, exactly
// like a file given to `twillctl apply -f`.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { TwillError } from '../errors.js';

export class KubeApiError extends TwillError {
  readonly status: number;
  constructor(method: string, path: string, status: number, detail: string) {
    super('KubeApi', `${method} ${path}: ${status === 0 ? detail : `HTTP ${status}: ${detail}`}`, {
      hint: status === 0 ? 'is the API server in --kubeconfig reachable?' : status === 401 || status === 403 ? 'the kubeconfig\'s user needs list/watch on namespaces, pods, networkpolicies and get/create/update on leases' : undefined,
    });
    this.status = status;
  }
}

export interface KubeList {
  items: Record<string, unknown>[];
  metadata: { resourceVersion: string };
}

export class KubeRest {
  readonly server: string;
  constructor(readonly config: KubeConfig) {
    const c = config.getCurrentCluster();
    if (!c) throw new TwillError('KubeConfig', 'the kubeconfig has no current cluster', { hint: 'set current-context to a context whose cluster has a server' });
    this.server = c.server.replace(/\/+$/, '');
  }

  /** One request; resolves with the status and the parsed body (undefined when empty). Network errors reject with KubeApiError status 0. */
  async request(method: string, path: string, body?: unknown, timeoutMs = 30_000): Promise<{ status: number; body: unknown }> {
    const url = new URL(this.server + path);
    const opts: RequestOptions = { method, headers: { accept: 'application/json' } };
    await this.config.applyToHTTPSOptions(opts);
    const data = body === undefined ? undefined : JSON.stringify(body);
    if (data !== undefined) opts.headers = { ...opts.headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) };
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(new KubeApiError(method, path, 0, e.message)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text === '' ? undefined : JSON.parse(text);
          } catch {
            parsed = text;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
      req.on('error', (e) => reject(new KubeApiError(method, path, 0, e.message)));
      if (data !== undefined) req.write(data);
      req.end();
    });
  }

  /** GET a list; the items get the list's apiVersion and kind (the API leaves them out of items). */
  async list(path: string, apiVersion: string, kind: string): Promise<KubeList> {
    const r = await this.request('GET', path);
    if (r.status !== 200) throw new KubeApiError('GET', path, r.status, statusMessage(r.body));
    const b = r.body as { items?: Record<string, unknown>[] | null; metadata?: { resourceVersion?: string } };
    const items = (b.items ?? []).map((i) => ({ ...i, apiVersion, kind }));
    return { items, metadata: { resourceVersion: b.metadata?.resourceVersion ?? '' } };
  }
}

/** The message of a Kubernetes Status body (or the body as text). */
export function statusMessage(body: unknown): string {
  if (typeof body === 'object' && body !== null && typeof (body as { message?: unknown }).message === 'string') return (body as { message: string }).message;
  return typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body ?? '').slice(0, 200);
}
