// The built twill-cni client (dist/src/cni/client.cjs, what the installed wrapper runs) against
// CNI servers that misbehave on a unix socket: no root, no datastore. `npm run build` first.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

const CLIENT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../dist/src/cni/client.cjs');
const CONF = JSON.stringify({ cniVersion: '1.1.0', name: 'twnet', type: 'twill-cni', datastore: 'etcd://127.0.0.1:1' });

function runClient(env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [CLIENT], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    p.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
    p.on('close', (code) => done({ code, stdout }));
    p.stdin.end(CONF);
  });
}

describe('twill-cni client and its server', () => {
  let dir = '';
  let server: Server | undefined;
  const held: Socket[] = [];

  beforeAll(() => {
    if (!existsSync(CLIENT)) throw new Error(`${CLIENT} is missing: run "npm run build" first`);
  });
  afterEach(async () => {
    for (const s of held.splice(0)) s.destroy();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a server that takes the call and never answers gets a CNI "try again" error naming it, not a hang', async () => {
    dir = mkdtempSync(join(tmpdir(), 'twill-cni-thin-'));
    const socket = join(dir, 'cni.sock');
    let received = '';
    // allowHalfOpen: the client's end() must not close the socket, as with a stopped (SIGSTOP) twill-node.
    server = createServer({ allowHalfOpen: true }, (s) => {
      held.push(s);
      s.on('data', (d: Buffer) => void (received += d.toString()));
    });
    await new Promise<void>((r) => server!.listen(socket, () => r()));

    const r = await runClient({ TWILL_CNI_SOCKET: socket, TWILL_CNI_CALL_TIMEOUT_MS: '500', CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' });

    expect(received).toContain('"CNI_COMMAND":"DEL"');
    expect(r.code).not.toBe(0);
    const err = JSON.parse(r.stdout) as { cniVersion: string; code: number; msg: string; details: string };
    expect(err).toMatchObject({ cniVersion: '1.1.0', code: 11 });
    expect(err.msg).toContain(socket);
    expect(err.msg).toContain('did not answer within 0.5 s');
    expect(err.details).toContain('twill-node');
  });
});
