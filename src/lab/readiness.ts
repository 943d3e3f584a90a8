// A host's twill-node as it reports itself on its health port (inside the host's namespace):
// GET /readiness — ready, or not ready with the reasons (e.g. "datastore syncer: cannot reach the
// datastore …" while etcd is down) — and GET /metrics (the lab starts every twill-node with its
// metrics on the health port). Asked with socat entered into the host's namespace, since the lab
// itself runs in the machine's own.
import { execFile } from 'node:child_process';

/** The health port every lab host's twill-node serves /readiness and /metrics on (inside its namespace). */
export const HEALTH_PORT = 9099;

export interface HostReadiness {
  /** The agent answered on its health port. */
  answered: boolean;
  ready: boolean;
  /** Why it is not ready (empty when ready), or why there was no answer. */
  reasons: string[];
}

/** GET path on 127.0.0.1:port inside ns: the body, or why there is none. */
function hostGet(ns: string, path: string, port: number): Promise<{ body: string } | { error: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      'nsenter',
      [`--net=/run/netns/${ns}`, '--', 'socat', '-T', '3', '-', `TCP:127.0.0.1:${port},connect-timeout=2`],
      { encoding: 'utf8', timeout: 5000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const body = stdout.split('\r\n\r\n').slice(1).join('\r\n\r\n');
        if (err || !body) resolve({ error: `no answer on the health port ${port}: ${stderr.trim().split('\n').pop() || err?.message || 'empty reply'}` });
        else resolve({ body });
      },
    );
    child.stdin?.end(`GET ${path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

export async function hostReadiness(ns: string, port = HEALTH_PORT): Promise<HostReadiness> {
  const r = await hostGet(ns, '/readiness', port);
  if ('error' in r) return { answered: false, ready: false, reasons: [r.error] };
  try {
    const j = JSON.parse(r.body) as { ready?: boolean; reasons?: string[] };
    return { answered: true, ready: j.ready === true, reasons: j.ready === true ? [] : (j.reasons ?? ['not ready (no reason given)']) };
  } catch {
    return { answered: false, ready: false, reasons: [`unreadable answer on the health port ${port}: ${r.body.slice(0, 200)}`] };
  }
}

/**
 * The host's twill-node metrics (Prometheus text) as name → value, series without labels only
 * (e.g. nodejs_eventloop_lag_p99_seconds: the event loop's p99 delay since the last scrape);
 * undefined when it does not answer.
 */
export async function hostMetrics(ns: string, port = HEALTH_PORT): Promise<Map<string, number> | undefined> {
  const r = await hostGet(ns, '/metrics', port);
  if ('error' in r) return undefined;
  const m = new Map<string, number>();
  for (const line of r.body.split('\n')) {
    const x = /^([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/.exec(line);
    if (x) m.set(x[1]!, Number(x[2]));
  }
  return m;
}
