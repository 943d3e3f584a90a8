// A TEST DOUBLE of the Kubernetes API server — there is no kube-apiserver on this machine (none in
// Debian or npm). It serves, over plain HTTP on 127.0.0.1, the little that twill-kube-controllers
// uses, with the API's wire behaviour for it:
//
// - list: GET /api/v1/namespaces, /api/v1/pods, /apis/networking.k8s.io/v1/networkpolicies →
//   a `<Kind>List` with metadata.resourceVersion; items without kind/apiVersion (as the API
//   sends them);
// - watch: the same paths with ?watch=true&resourceVersion=RV → a stream of JSON lines
//   {type: ADDED|MODIFIED|DELETED|BOOKMARK|ERROR, object} of every change after RV; BOOKMARK
//   events (only when allowWatchBookmarks=true) on `bookmark()`; a resourceVersion older than
//   the compaction point gets an ERROR event with a 410 Gone Status and the stream ends (what a
//   real server does for "too old resource version"), or with `goneAsHttpStatus` a plain HTTP 410;
//   `closeWatches()` ends every stream (as the server's watch timeout does);
// - leases: GET / POST / PUT /apis/coordination.k8s.io/v1/namespaces/NS/leases[/NAME], with
//   404 NotFound, 409 AlreadyExists, and 409 Conflict when a PUT's metadata.resourceVersion is
//   not the stored one.
//
// The objects it starts from and the ones tests add are shaped like a real server's (recorded
// shapes: uid, creationTimestamp, managedFields, status, a pod's full spec); see `recorded`.
// Resource versions are one global counter, as etcd's revision is.
//
// What it does NOT do: authentication or authorization, TLS, namespaced list/watch paths, label
// or field selectors, pagination (limit/continue), resourceVersionMatch, timeoutSeconds, admission
// or validation of objects (tests must send valid ones), server-side apply, PATCH, DELETE over
// HTTP (tests change objects through methods), protobuf, other resources or API groups, graceful
// deletion (deletionTimestamp), generation. It is not a Kubernetes conformance reference: the
// converter's unit tests and the lab carry NetworkPolicy semantics.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type KubeObj = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
};

interface ResourceDef {
  path: string;
  apiVersion: string;
  kind: string;
  namespaced: boolean;
}

const RESOURCES: ResourceDef[] = [
  { path: '/api/v1/namespaces', apiVersion: 'v1', kind: 'Namespace', namespaced: false },
  { path: '/api/v1/pods', apiVersion: 'v1', kind: 'Pod', namespaced: true },
  { path: '/apis/networking.k8s.io/v1/networkpolicies', apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespaced: true },
];
const LEASE_PATH = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/;

interface Change {
  rv: number;
  kind: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObj;
}

interface Watcher {
  kind: string;
  res: ServerResponse;
  bookmarks: boolean;
}

function status(code: number, reason: string, message: string): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class KubeApiDouble {
  private rv = 1000;
  private compactedRv = 0;
  /** kind → "ns/name" → object */
  private readonly store = new Map<string, Map<string, KubeObj>>();
  private readonly leases = new Map<string, KubeObj>();
  private readonly history: Change[] = [];
  private readonly watchers = new Set<Watcher>();
  private dir: string | undefined;
  /** Every request as "METHOD path?query" (tests count lists and watches). */
  readonly requests: string[] = [];
  /** Answer a too-old watch with HTTP 410 instead of a 200 stream holding an ERROR event. */
  goneAsHttpStatus = false;

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<KubeApiDouble> {
    let self: KubeApiDouble | undefined;
    const server = createServer((req, res) => self!.handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const a = server.address();
    const port = typeof a === 'object' && a ? a.port : 0;
    self = new KubeApiDouble(server, `http://127.0.0.1:${port}`);
    for (const r of RESOURCES) self.store.set(r.kind, new Map());
    return self;
  }

  /**
   * A kubeconfig file pointing at the double (no credentials: the double checks none). The
   * client library refuses a plain http:// server unless insecure-skip-tls-verify is set.
   */
  kubeconfig(): string {
    this.dir ??= mkdtempSync(join(tmpdir(), 'twill-kubeapi-'));
    const file = join(this.dir, 'kubeconfig');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        `- name: double\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
        'users:',
        '- name: nobody\n  user: {}',
        'contexts:',
        '- name: double\n  context:\n    cluster: double\n    user: nobody',
        'current-context: double',
        '',
      ].join('\n'),
    );
    return file;
  }

  get resourceVersion(): string {
    return String(this.rv);
  }

  private def(kind: string): ResourceDef {
    const d = RESOURCES.find((r) => r.kind === kind);
    if (!d) throw new Error(`the double serves no ${kind}`);
    return d;
  }

  private id(o: KubeObj, d: ResourceDef): string {
    return d.namespaced ? `${o.metadata.namespace ?? 'default'}/${o.metadata.name}` : o.metadata.name;
  }

  private record(kind: string, type: Change['type'], object: KubeObj, notify = true): void {
    this.history.push({ rv: this.rv, kind, type, object });
    if (notify) for (const w of this.watchers) if (w.kind === kind) w.res.write(JSON.stringify({ type, object }) + '\n');
  }

  /** Create or replace an object (kind and apiVersion from the object); emits ADDED or MODIFIED. */
  apply(obj: KubeObj): KubeObj {
    const d = this.def(String(obj.kind));
    const m = this.store.get(d.kind)!;
    const id = this.id(obj, d);
    const old = m.get(id);
    const stored: KubeObj = structuredClone({
      ...obj,
      apiVersion: d.apiVersion,
      kind: d.kind,
      metadata: {
        ...obj.metadata,
        ...(d.namespaced ? { namespace: obj.metadata.namespace ?? 'default' } : {}),
        uid: old?.metadata.uid ?? obj.metadata.uid ?? randomUUID(),
        creationTimestamp: (old?.metadata.creationTimestamp as string | undefined) ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
        resourceVersion: String(++this.rv),
      },
    });
    m.set(id, stored);
    this.record(d.kind, old ? 'MODIFIED' : 'ADDED', stored);
    return structuredClone(stored);
  }

  /** Change an object in place (a relabel, a spec edit); emits MODIFIED. */
  modify(kind: string, namespace: string | undefined, name: string, f: (o: KubeObj) => void): KubeObj {
    const cur = this.get(kind, namespace, name);
    if (!cur) throw new Error(`no ${kind} ${namespace ?? ''}/${name}`);
    f(cur);
    return this.apply(cur);
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObj | undefined {
    const d = this.def(kind);
    const o = this.store.get(kind)!.get(d.namespaced ? `${namespace ?? 'default'}/${name}` : name);
    return o ? structuredClone(o) : undefined;
  }

  /**
   * Delete an object; emits DELETED. `silently`: the delete happens while no watch sees it (it
   * is only in the history, as if the watcher's connection had been down).
   */
  delete(kind: string, namespace: string | undefined, name: string, opts: { silently?: boolean } = {}): void {
    const d = this.def(kind);
    const m = this.store.get(kind)!;
    const id = d.namespaced ? `${namespace ?? 'default'}/${name}` : name;
    const old = m.get(id);
    if (!old) throw new Error(`no ${kind} ${id}`);
    m.delete(id);
    ++this.rv;
    this.record(kind, 'DELETED', { ...old, metadata: { ...old.metadata, resourceVersion: String(this.rv) } }, !opts.silently);
  }

  /** A BOOKMARK with the current resourceVersion to every watch that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      const d = this.def(w.kind);
      w.res.write(JSON.stringify({ type: 'BOOKMARK', object: { kind: d.kind, apiVersion: d.apiVersion, metadata: { resourceVersion: String(this.rv) } } }) + '\n');
    }
  }

  /** Forget the history up to now (etcd compaction): a watch resuming from before gets 410 Gone. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
  }

  /** End every watch stream (as the server's watch timeout does); clients resume from their last resourceVersion. */
  closeWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  /** Send a 410 ERROR event on every open watch and end it (a watch cache that fell behind). */
  expireWatches(): void {
    for (const w of this.watchers) {
      w.res.write(JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version') }) + '\n');
      w.res.end();
    }
    this.watchers.clear();
  }

  lease(namespace: string, name: string): KubeObj | undefined {
    const l = this.leases.get(`${namespace}/${name}`);
    return l ? structuredClone(l) : undefined;
  }

  async close(): Promise<void> {
    this.closeWatches();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  private send(res: ServerResponse, code: number, body: unknown): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '/', this.url);
    this.requests.push(`${req.method} ${u.pathname}${u.search}`);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const lease = LEASE_PATH.exec(u.pathname);
      if (lease) return this.handleLease(req.method ?? 'GET', decodeURIComponent(lease[1]!), lease[2] ? decodeURIComponent(lease[2]) : undefined, Buffer.concat(chunks).toString(), res);
      const d = RESOURCES.find((r) => r.path === u.pathname);
      if (!d || req.method !== 'GET') return this.send(res, 404, status(404, 'NotFound', `the double does not serve ${req.method} ${u.pathname}`));
      if (u.searchParams.get('watch') === 'true') return this.watch(d, u, res);
      const items = [...this.store.get(d.kind)!.values()]
        .sort((a, b) => this.id(a, d).localeCompare(this.id(b, d)))
        .map((o) => {
          const { apiVersion: _a, kind: _k, ...rest } = structuredClone(o);
          return rest;
        });
      this.send(res, 200, { kind: `${d.kind}List`, apiVersion: d.apiVersion, metadata: { resourceVersion: String(this.rv) }, items });
    });
  }

  private watch(d: ResourceDef, u: URL, res: ServerResponse): void {
    const from = Number(u.searchParams.get('resourceVersion') ?? '0');
    if (u.searchParams.get('resourceVersion') && from < this.compactedRv) {
      if (this.goneAsHttpStatus) return this.send(res, 410, status(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', `too old resource version: ${from} (${this.compactedRv})`) }) + '\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    for (const c of this.history) if (c.kind === d.kind && c.rv > from) res.write(JSON.stringify({ type: c.type, object: c.object }) + '\n');
    const w: Watcher = { kind: d.kind, res, bookmarks: u.searchParams.get('allowWatchBookmarks') === 'true' };
    this.watchers.add(w);
    res.on('close', () => this.watchers.delete(w));
  }

  private handleLease(method: string, namespace: string, name: string | undefined, body: string, res: ServerResponse): void {
    const key = (n: string): string => `${namespace}/${n}`;
    if (method === 'GET' && name) {
      const l = this.leases.get(key(name));
      return l ? this.send(res, 200, l) : this.send(res, 404, status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`));
    }
    let obj: KubeObj;
    try {
      obj = JSON.parse(body) as KubeObj;
    } catch {
      return this.send(res, 400, status(400, 'BadRequest', 'body is not JSON'));
    }
    if (method === 'POST' && !name) {
      const n = obj.metadata.name;
      if (this.leases.has(key(n))) return this.send(res, 409, status(409, 'AlreadyExists', `leases.coordination.k8s.io "${n}" already exists`));
      const stored = { ...obj, metadata: { ...obj.metadata, namespace, uid: randomUUID(), resourceVersion: String(++this.rv) } };
      this.leases.set(key(n), stored);
      return this.send(res, 201, stored);
    }
    if (method === 'PUT' && name) {
      const cur = this.leases.get(key(name));
      if (!cur) return this.send(res, 404, status(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`));
      const want = obj.metadata.resourceVersion;
      if (want !== undefined && want !== cur.metadata.resourceVersion) {
        return this.send(res, 409, status(409, 'Conflict', `Operation cannot be fulfilled on leases.coordination.k8s.io "${name}": the object has been modified; please apply your changes to the latest version and try again`));
      }
      const stored = { ...obj, metadata: { ...obj.metadata, namespace, uid: cur.metadata.uid, resourceVersion: String(++this.rv) } };
      this.leases.set(key(name), stored);
      return this.send(res, 200, stored);
    }
    this.send(res, 405, status(405, 'MethodNotAllowed', `the double does not serve ${method} on leases`));
  }
}

/**
 * Objects shaped like a v1.30 API server's (metadata.uid, managedFields, a pod's whole spec and
 * status): what `kubectl get -o json` shows, with the values the tests choose. Transcribed from
 * real output, not captured on this machine.
 */
export const recorded = {
  namespace(name: string, labels: Record<string, string> = {}): KubeObj {
    return {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name,
        labels: { 'kubernetes.io/metadata.name': name, ...labels },
        managedFields: [{ manager: 'kubectl-create', operation: 'Update', apiVersion: 'v1', time: '2026-12-07T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:kubernetes.io/metadata.name': {} } } } }],
      },
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    };
  },
  pod(namespace: string, name: string, labels: Record<string, string>, opts: { nodeName?: string; podIP?: string } = {}): KubeObj {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        namespace,
        labels,
        annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-12-07T10:00:00Z' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${name}-rs`, uid: '0b7f1c9e-3f7c-4a55-9c8e-4b7c2d1f0a11', controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        containers: [
          {
            name: 'server',
            image: 'registry.k8s.io/e2e-test-images/agnhost:2.47',
            args: ['porter'],
            ports: [
              { name: 'serve-80-tcp', containerPort: 80, protocol: 'TCP' },
              { name: 'serve-80-udp', containerPort: 80, protocol: 'UDP' },
              { containerPort: 9090, protocol: 'TCP' },
            ],
            resources: {},
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'File',
            imagePullPolicy: 'IfNotPresent',
          },
        ],
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 30,
        dnsPolicy: 'ClusterFirst',
        serviceAccountName: 'default',
        nodeName: opts.nodeName ?? 'node-1',
        securityContext: {},
        schedulerName: 'default-scheduler',
        tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 }],
        priority: 0,
        enableServiceLinks: true,
        preemptionPolicy: 'PreemptLowerPriority',
      },
      status: {
        phase: 'Running',
        conditions: [{ type: 'Ready', status: 'True', lastProbeTime: null, lastTransitionTime: '2026-12-07T10:00:05Z' }],
        hostIP: '198.18.0.1',
        ...(opts.podIP ? { podIP: opts.podIP, podIPs: [{ ip: opts.podIP }] } : {}),
        startTime: '2026-12-07T10:00:00Z',
        qosClass: 'BestEffort',
      },
    };
  },
  networkPolicy(namespace: string, name: string, spec: Record<string, unknown>): KubeObj {
    return {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name,
        namespace,
        generation: 1,
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec }) },
        managedFields: [{ manager: 'kubectl-client-side-apply', operation: 'Update', apiVersion: 'networking.k8s.io/v1', time: '2026-12-07T10:00:00Z', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': {} } }],
      },
      spec,
    };
  },
};
