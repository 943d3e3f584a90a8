// Local HTTP endpoints of a daemon: /liveness, /readiness, /health (health) and /metrics.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  /** Ready: in sync, programmed, nothing failing. The body explains. */
  health(): { live: boolean; ready: boolean; detail: object };
}

export interface HttpOptions {
  host: string;
  port: number;
  health?: HealthSource;
  registry?: Registry;
}

/** Starts a server; resolves with it and the port actually bound (port 0 = any free one). */
export async function startHttp(o: HttpOptions): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const send = (code: number, body: string, type = 'application/json'): void => {
      res.writeHead(code, { 'content-type': type });
      res.end(body);
    };
    if (o.health && (url === '/liveness' || url === '/readiness' || url === '/health')) {
      const h = o.health.health();
      const ok = url === '/liveness' ? h.live : h.ready;
      send(ok ? 200 : 503, JSON.stringify({ live: h.live, ready: h.ready, ...h.detail }) + '\n');
      return;
    }
    if (o.registry && url === '/metrics') {
      o.registry.metrics().then(
        (m) => send(200, m, o.registry!.contentType),
        (e: unknown) => send(500, String(e), 'text/plain'),
      );
      return;
    }
    send(404, '{"error":"not found"}\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const a = server.address();
  return { server, port: typeof a === 'object' && a ? a.port : o.port };
}
