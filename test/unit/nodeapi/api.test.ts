// twill-node's local API over a real unix socket: what the client gets is what the backend
// said, the socket is private (0600 in a 0700 directory), and a missing agent is named.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeApiClient, NodeApiServeError, NodeApiUnreachableError, defaultApiSocket, startNodeApiServer, type NodeApiServer } from '../../../src/nodeapi/index.js';
import type { NodeDeniedPacket } from '../../../src/nodeapi/index.js';
import { FAKE_DENIED, FAKE_PEERS, FAKE_ROUTES, FAKE_STATUS, FakeNodeBackend } from '../../support/node-api-fake.js';

describe('node API over a unix socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'twill-nodeapi-'));
  const closers: (() => unknown)[] = [];
  afterAll(async () => {
    for (const c of closers.reverse()) await c();
    rmSync(dir, { recursive: true, force: true });
  });
  const serve = async (path: string, backend = new FakeNodeBackend()): Promise<NodeApiServer> => {
    const s = await startNodeApiServer(path, backend);
    closers.push(() => s.close());
    return s;
  };
  const client = (path: string): NodeApiClient => {
    const c = new NodeApiClient(path);
    closers.push(() => c.close());
    return c;
  };

  it('serves status, peers and routes as the backend gives them', async () => {
    const path = join(dir, 'run', 'twill', 'host1.sock');
    const backend = new FakeNodeBackend();
    await serve(path, backend);
    const c = client(path);
    expect(await c.status()).toEqual(FAKE_STATUS);
    expect(await c.peers()).toEqual(FAKE_PEERS);
    expect(await c.routes()).toEqual(FAKE_ROUTES);
    expect(await c.routes({ direction: 'advertised' })).toEqual(FAKE_ROUTES.filter((r) => r.direction === 'advertised'));
    expect(await c.routes({ family: 6, limit: 0 })).toEqual([FAKE_ROUTES[3]]);
    expect(await c.routes({ limit: 1 })).toEqual([FAKE_ROUTES[0]]);
    // The default limit travels as 1000; an explicit 0 as "no limit".
    expect(backend.queries.map((q) => q.limit)).toEqual([1000, 1000, 0, 1]);
  });

  it('streams denied packets: the recent ones, then with follow each new one until the caller aborts', async () => {
    const path = join(dir, 'denied.sock');
    const backend = new FakeNodeBackend();
    await serve(path, backend);
    const c = client(path);
    const got: NodeDeniedPacket[] = [];
    await c.denied({}, (p) => got.push(p));
    expect(got).toEqual(FAKE_DENIED);
    const last: NodeDeniedPacket[] = [];
    await c.denied({ limit: 1 }, (p) => last.push(p));
    expect(last).toEqual([FAKE_DENIED[1]]);

    const followed: NodeDeniedPacket[] = [];
    const abort = new AbortController();
    const done = c.denied({ follow: true, limit: 1 }, (p) => followed.push(p), abort.signal);
    await expect.poll(() => followed.length === 1 && backend.followers.size === 1).toBe(true);
    const next = { ...FAKE_DENIED[0]!, time: new Date('2026-01-01T10:02:00Z'), srcPort: 40002 };
    backend.push(next);
    await expect.poll(() => followed.length).toBe(2);
    expect(followed).toEqual([FAKE_DENIED[1], next]);
    abort.abort();
    await done;
    // The server lets go of the follower once the client cancels.
    await expect.poll(() => backend.followers.size).toBe(0);
  });

  it('makes the socket 0600 in a 0700 directory', async () => {
    const path = join(dir, 'private', 'n.sock');
    await serve(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'private')).mode & 0o777).toBe(0o700);
  });

  it('replaces a stale socket but refuses one a live agent serves, or a file that is not a socket', async () => {
    const path = join(dir, 'twice.sock');
    const first = await serve(path);
    await expect(startNodeApiServer(path, new FakeNodeBackend())).rejects.toThrow(NodeApiServeError);
    await expect(startNodeApiServer(path, new FakeNodeBackend())).rejects.toThrow(/another process serves on/);
    await first.close();
    const file = join(dir, 'plain');
    writeFileSync(file, '');
    await expect(startNodeApiServer(file, new FakeNodeBackend())).rejects.toThrow(/exists and is not a socket/);
    // A socket left behind by a killed agent is taken over.
    const stale = join(dir, 'stale.sock');
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    expect(statSync(stale).isSocket()).toBe(true);
    await serve(stale);
    expect(await client(stale).status()).toEqual(FAKE_STATUS);
  });

  it('a backend error reaches the client with its message', async () => {
    const path = join(dir, 'err.sock');
    const backend = new FakeNodeBackend();
    backend.failStatus = new Error('felix exploded');
    await serve(path, backend);
    await expect(client(path).status()).rejects.toThrow(/felix exploded/);
  });

  it('with nobody serving, the error names the socket and says how to start the agent', async () => {
    const path = join(dir, 'nobody.sock');
    const err = await client(path).status().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeApiUnreachableError);
    expect((err as NodeApiUnreachableError).describe()).toMatch(new RegExp(`no twill-node agent answers on ${path}[^]*hint: start the agent[^]*--node NAME[^]*--api-socket PATH`));
  });

  it('the default socket is /run/twill/<node>.sock', () => {
    expect(defaultApiSocket('host1')).toBe('/run/twill/host1.sock');
    expect(() => defaultApiSocket('../x')).toThrow(/cannot name a socket file/);
  });
});
