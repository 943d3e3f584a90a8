// A host's readiness as its twill-node reports it on GET /readiness (the health port, inside the
// host's namespace): ready, or not ready with the reasons (e.g. "datastore syncer: cannot reach
// the datastore …" while etcd is down). Read by a short Node process entered into the host's
// namespace, since the lab itself runs in the machine's own.
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

const FETCH = `fetch(process.argv[1]).then(async (r) => process.stdout.write(await r.text()), (e) => { process.stderr.write(String(e?.cause?.code ?? e)); process.exit(1); });`;

export function hostReadiness(ns: string, port = HEALTH_PORT): Promise<HostReadiness> {
  return new Promise((resolve) => {
    execFile(
      'nsenter',
      [`--net=/run/netns/${ns}`, '--', process.execPath, '-e', FETCH, `http://127.0.0.1:${port}/readiness`],
      { encoding: 'utf8', timeout: 5000 },
      (err, stdout, stderr) => {
        if (err) {
          resolve({ answered: false, ready: false, reasons: [`no answer on the health port ${port}: ${stderr.trim() || err.message}`] });
          return;
        }
        try {
          const body = JSON.parse(stdout) as { ready?: boolean; reasons?: string[] };
          resolve({ answered: true, ready: body.ready === true, reasons: body.ready === true ? [] : (body.reasons ?? ['not ready (no reason given)']) });
        } catch {
          resolve({ answered: false, ready: false, reasons: [`unreadable answer on the health port ${port}: ${stdout.slice(0, 200)}`] });
        }
      },
    );
  });
}
