// twill-bgp's gRPC socket lets whoever connects announce routes: the built program, started under
// umask 000, must still make it 0600 in a 0700 directory (no root needed; the built dist/).
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BgpApiClient } from '../../../bgp/daemon/api/client.js';

const MAIN = resolve(__dirname, '../../../dist/bgp/daemon/main.js');

describe('twill-bgp API socket permissions (the built program)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twill-bgp-sock-'));
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child?.pid && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('under umask 000 the socket is 0600 in a 0700 directory, and answers', async () => {
    chmodSync(dir, 0o755);
    const config = join(dir, 'bgp.yaml');
    writeFileSync(config, ['routerId: 10.255.0.9', 'asn: 65009', 'listen: { address: 127.0.0.1, port: 0 }', 'neighbors: []', ''].join('\n'));
    const sock = join(dir, 'run', 'bgp.sock');
    child = spawn('sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, MAIN, '--config', config, '--api', `unix://${sock}`, '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const client = new BgpApiClient(`unix://${sock}`, { timeoutMs: 2000 });
    try {
      for (let i = 0; ; i++) {
        if (child.exitCode !== null) throw new Error(`twill-bgp exited ${child.exitCode}: ${stderr}`);
        try {
          await client.status();
          break;
        } catch (e) {
          if (i > 300) throw e;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      client.close();
    }
    expect(statSync(sock).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);
  });
});
