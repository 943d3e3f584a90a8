// Makes a TCP port on the test's loopback (e.g. etcd) reachable on 127.0.0.1 inside a network
// namespace, through a unix socket (which crosses namespaces): one socat in each namespace.
// Stopped by PID.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Bridge {
  stop(): void;
}

export async function bridgePortIntoNetns(ns: string, port: number): Promise<Bridge> {
  const sock = join(tmpdir(), `twill-bridge-${ns}-${port}.sock`);
  const procs: ChildProcess[] = [];
  procs.push(spawn('socat', [`UNIX-LISTEN:${sock},fork,unlink-early`, `TCP:127.0.0.1:${port},nodelay`], { stdio: 'ignore', detached: true }));
  await new Promise((r) => setTimeout(r, 200));
  procs.push(
    spawn('ip', ['netns', 'exec', ns, 'socat', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork,nodelay`, `UNIX-CONNECT:${sock}`], { stdio: 'ignore', detached: true }),
  );
  await new Promise((r) => setTimeout(r, 200));
  return {
    stop: () => {
      for (const p of procs) {
        if (p.pid !== undefined && p.exitCode === null) {
          try {
            process.kill(-p.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }
      rmSync(sock, { force: true });
    },
  };
}
