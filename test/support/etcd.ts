// Starts a real etcd (Debian's etcd-server) on free loopback ports, in a temporary data dir.
// Stopped by PID; never by name.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface EtcdServer {
  /** Twill datastore URL, e.g. "etcd://127.0.0.1:23790". */
  readonly url: string;
  /** Client endpoint, e.g. "http://127.0.0.1:23790". */
  readonly endpoint: string;
  readonly dataDir: string;
  pid(): number | undefined;
  /** Stop (SIGTERM, then SIGKILL after 5 s). Data is kept. */
  stop(): Promise<void>;
  /** Start again on the same port and data dir. */
  start(): Promise<void>;
  /** Stop and delete the data dir. */
  destroy(): Promise<void>;
}

async function waitHealthy(endpoint: string, proc: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`etcd exited early with code ${proc.exitCode}`);
    try {
      const res = await fetch(`${endpoint}/health`);
      if (res.ok) {
        const body = (await res.json()) as { health?: string };
        if (body.health === 'true') return;
      }
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`etcd at ${endpoint} did not become healthy: ${String(lastErr)}`);
}

export async function startEtcd(): Promise<EtcdServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'twill-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const endpoint = `http://127.0.0.1:${clientPort}`;
  let proc: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    output = '';
    const p = spawn(
      'etcd',
      [
        '--name', 'twill-test',
        '--data-dir', dataDir,
        '--listen-client-urls', endpoint,
        '--advertise-client-urls', endpoint,
        '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-advertise-peer-urls', `http://127.0.0.1:${peerPort}`,
        '--initial-cluster', `twill-test=http://127.0.0.1:${peerPort}`,
        '--log-level', 'error',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.arch === 'arm64' ? 'arm64' : '' } },
    );
    p.stdout?.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-4000); });
    p.stderr?.on('data', (d: Buffer) => { output = (output + d.toString()).slice(-4000); });
    proc = p;
    try {
      await waitHealthy(endpoint, p);
    } catch (e) {
      p.kill('SIGKILL');
      throw new Error(`${(e as Error).message}\n${output}`);
    }
  };

  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => p.kill('SIGKILL'), 5000);
      p.once('exit', () => { clearTimeout(t); resolve(); });
      p.kill('SIGTERM');
    });
  };

  await start();
  return {
    url: `etcd://127.0.0.1:${clientPort}`,
    endpoint,
    dataDir,
    pid: () => proc?.pid,
    stop,
    start,
    destroy: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
