// A host's readiness as its twill-node reports it on GET /readiness (the health port, inside the
// host's namespace): ready, or not ready with the reasons (e.g. "datastore syncer: cannot reach
// the datastore …" while etcd is down). Asked with socat entered into the host's namespace, since
// the lab itself runs in the machine's own.
import { execFile } from 'node:child_process';

/** The health port every lab host's twill-node serves /readiness on (inside its namespace). */
export const HEALTH_PORT = 9099;

export interface HostReadiness {
  /** The agent answered on its health port. */
  answered: boolean;
  ready: boolean;
  /** Why it is not ready (empty when ready), or why there was no answer. */
  reasons: string[];
}

export function hostReadiness(ns: string, port = HEALTH_PORT): Promise<HostReadiness> {
  return new Promise((resolve) => {
    const child = execFile(
      'nsenter',
      [`--net=/run/netns/${ns}`, '--', 'socat', '-T', '3', '-', `TCP:127.0.0.1:${port},connect-timeout=2`],
      { encoding: 'utf8', timeout: 5000 },
      (err, stdout, stderr) => {
        const body = stdout.split('\r\n\r\n').slice(1).join('\r\n\r\n');
        if (err || !body) {
          resolve({ answered: false, ready: false, reasons: [`no answer on the health port ${port}: ${stderr.trim().split('\n').pop() || err?.message || 'empty reply'}`] });
          return;
        }
        try {
          const r = JSON.parse(body) as { ready?: boolean; reasons?: string[] };
          resolve({ answered: true, ready: r.ready === true, reasons: r.ready === true ? [] : (r.reasons ?? ['not ready (no reason given)']) });
        } catch {
          resolve({ answered: false, ready: false, reasons: [`unreadable answer on the health port ${port}: ${body.slice(0, 200)}`] });
        }
      },
    );
    child.stdin?.end('GET /readiness HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n');
  });
}
