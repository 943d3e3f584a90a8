// The gRPC API end to end over a unix socket in a temp dir: server adapter, wire messages,
// client conversions. The backend is a fake with scripted peers, routes and events.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseApiAddress } from '../../../../bgp/daemon/api/address.js';
import { BgpApiClient } from '../../../../bgp/daemon/api/client.js';
import type { WatchEvent } from '../../../../bgp/daemon/api/convert.js';
import { startApiServer, type ApiServer } from '../../../../bgp/daemon/api/server.js';
import { ApiError } from '../../../../bgp/daemon/errors.js';
import { FakeBackend, bestChange, peer, route } from './fakes.js';

const dir = mkdtempSync(join(tmpdir(), 'twill-bgp-api-'));
let backend: FakeBackend;
let server: ApiServer;
let client: BgpApiClient;

beforeAll(async () => {
  backend = new FakeBackend();
  server = await startApiServer(`unix://${join(dir, 'bgp.sock')}`, backend);
  client = new BgpApiClient(server.address);
});

afterAll(async () => {
  client.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

function until(cond: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() - t0 > 5000) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

describe('TwillBgp API', () => {
  it('GetStatus carries every field', async () => {
    const s = await client.status();
    expect(s).toEqual(backend.status());
  });

  it('ListPeers returns the peers as the speaker reports them (optional fields stay absent)', async () => {
    const full = peer({
      address: '2001:db8::2',
      type: 'ibgp',
      description: 'rr-1',
      routerId: '10.0.0.2',
      holdTime: 0,
      keepalive: 30,
      localAddress: '2001:db8::1',
      localPort: 40001,
      remotePort: 179,
      lastError: 'Hold Timer Expired',
      capabilities: {
        families: ['ipv4', 'ipv6'],
        fourOctetAs: true,
        routeRefresh: true,
        enhancedRouteRefresh: false,
        gracefulRestart: false,
        addPath: { ipv4: { send: true, receive: false }, ipv6: { send: false, receive: true } },
        extendedMessage: true,
      },
    });
    const bare = peer({ state: 'Active' });
    backend.peers = [full, bare];
    const got = await client.listPeers();
    expect(got).toEqual([full, bare]);
    expect(got[1]).not.toHaveProperty('holdTime');
    expect(await client.listPeers('2001:db8::2')).toEqual([full]);
  });

  it('ListPeers for an unknown address says which neighbour is not configured', async () => {
    await expect(client.listPeers('203.0.113.7')).rejects.toThrow('no neighbour 203.0.113.7 is configured');
  });

  it('ListRoutes streams every route in batches and passes the query through', async () => {
    backend.routes = Array.from({ length: 2500 }, (_, i) =>
      route(i, i % 2 ? { med: 0, localPref: 100, communities: ['65000:1'], largeCommunities: ['65000:1:2'] } : {}),
    );
    const got = await client.listRoutes({ table: 'loc', limit: 0 });
    expect(got).toEqual(backend.routes);
    expect(got[1]).toHaveProperty('med', 0);
    expect(got[0]).not.toHaveProperty('med');
    expect(backend.queries.at(-1)).toEqual({ table: 'loc', limit: 0 });

    const some = await client.listRoutes({ table: 'in', peer: '198.18.0.2', family: 6, prefix: '10.0.1.0/24', all: true, limit: 7 });
    expect(some).toHaveLength(7);
    expect(backend.queries.at(-1)).toEqual({ table: 'in', peer: '198.18.0.2', family: 6, prefix: '10.0.1.0/24', all: true, limit: 7 });
  });

  it('ListRoutes refuses a per-peer table without a peer, and relays speaker errors', async () => {
    await expect(client.listRoutes({ table: 'out' })).rejects.toThrow('table "out" needs a peer address');
    await expect(client.listRoutes({ table: 'in', peer: '203.0.113.9' })).rejects.toThrow('neighbour 203.0.113.9 is not configured');
  });

  it('WatchEvents streams events as they happen; best-path changes only when asked', async () => {
    const plain: WatchEvent[] = [];
    const withBest: WatchEvent[] = [];
    const w1 = client.watchEvents((e) => plain.push(e));
    const w2 = client.watchEvents((e) => withBest.push(e), { bestChanges: true });
    await until(() => backend.subscribers === 3, 'both watchers subscribed');
    backend.emit({ type: 'peer-state', peer: '198.18.0.2', from: 'OpenConfirm', to: 'Established' });
    backend.emit({ type: 'best-changed', count: 2 });
    backend.emitBest([bestChange('10.0.0.0/24', '198.18.0.2', '198.18.0.2'), bestChange('10.0.1.0/24', undefined, undefined)]);
    backend.emit({ type: 'notification', peer: '198.18.0.2', direction: 'received', code: 6, subcode: 2, message: 'Cease / Administrative Shutdown: "bye"' });
    backend.emit({ type: 'update-error', peer: '198.18.0.2', handling: 'treat-as-withdraw', message: 'bad MED', withdrawn: 3 });
    await until(() => plain.length === 3 && withBest.length === 4, 'events delivered');
    expect(plain.map((e) => e.type)).toEqual(['peer-state', 'notification', 'update-error']);
    expect(plain[1]).toMatchObject({ direction: 'received', code: 6, subcode: 2, message: 'Cease / Administrative Shutdown: "bye"' });
    expect(plain[0]!.time).toBeInstanceOf(Date);
    const best = withBest[1]!;
    expect(best.type).toBe('best-changed');
    if (best.type === 'best-changed') {
      expect(best.changes[0]).toEqual({ prefix: '10.0.0.0/24', family: 4, reachable: true, nextHop: '198.18.0.2', peer: '198.18.0.2' });
      expect(best.changes[1]).toEqual({ prefix: '10.0.1.0/24', family: 4, reachable: false });
    }
    w1.cancel();
    w2.cancel();
    expect(await w1.done).toBeUndefined();
    await until(() => backend.subscribers === 0, 'watchers unsubscribed after cancel');
  });

  it('AddPath and DeletePath reach the backend; a bad prefix comes back as the backend said it', async () => {
    await client.addPath({ prefix: '10.7.0.0/24', nextHop: '198.18.0.1', communities: ['65000:7'], localPref: 200, med: 0 });
    expect(backend.added.at(-1)).toEqual({ prefix: '10.7.0.0/24', nextHop: '198.18.0.1', communities: ['65000:7'], localPref: 200, med: 0 });
    await client.addPath({ prefix: '10.8.0.0/24' });
    expect(backend.added.at(-1)).toEqual({ prefix: '10.8.0.0/24' });
    await expect(client.addPath({ prefix: 'nonsense' })).rejects.toThrow('"nonsense" is not a prefix');
    expect(await client.deletePath('10.7.0.0/24')).toBe(true);
    expect(await client.deletePath('10.7.0.0/24')).toBe(false);
  });
});

describe('API socket handling', () => {
  const extra: ApiServer[] = [];
  afterEach(async () => {
    for (const s of extra.splice(0)) await s.close();
  });

  it('refuses a socket another live server answers on', async () => {
    await expect(startApiServer(server.address, new FakeBackend())).rejects.toThrow(/another process is serving on/);
  });

  it('replaces a stale socket left by a dead daemon, and removes its socket on close', async () => {
    const path = join(dir, 'stale.sock');
    const dead: Server = createServer();
    await new Promise<void>((r) => dead.listen(path, r));
    // Simulate a crash: the socket file stays, nobody listens.
    await new Promise<void>((r) => {
      (dead as unknown as { _handle: { close(): void } | null })._handle?.close();
      (dead as unknown as { _handle: null })._handle = null;
      r();
    });
    const s = await startApiServer(`unix://${path}`, new FakeBackend());
    extra.push(s);
    const c = new BgpApiClient(s.address);
    expect((await c.status()).version).toBe('9.9.9');
    c.close();
  });

  it('refuses to replace a file that is not a socket', async () => {
    const path = join(dir, 'plain-file');
    writeFileSync(path, 'x');
    await expect(startApiServer(`unix://${path}`, new FakeBackend())).rejects.toThrow(/exists and is not a socket/);
  });

  it('serves on loopback TCP with port 0 and reports the bound port', async () => {
    const s = await startApiServer('127.0.0.1:0', new FakeBackend());
    extra.push(s);
    expect(s.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(s.address).not.toBe('127.0.0.1:0');
    const c = new BgpApiClient(s.address);
    expect((await c.listPeers()).length).toBe(1);
    c.close();
  });

  it('a client of a daemon that is not running says so and how to point at it', async () => {
    const c = new BgpApiClient(`unix://${join(dir, 'nobody.sock')}`, { timeoutMs: 2000 });
    const err = await c.status().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).describe()).toMatch(/cannot reach twill-bgp at unix:\/\/.*nobody\.sock[\s\S]*--api/);
    c.close();
  });

  it('parses API addresses', () => {
    expect(parseApiAddress('unix:///run/twill/bgp.sock')).toEqual({ kind: 'unix', path: '/run/twill/bgp.sock', target: 'unix:///run/twill/bgp.sock' });
    expect(parseApiAddress('[::1]:50051')).toEqual({ kind: 'tcp', host: '::1', port: 50051, target: '[::1]:50051' });
    expect(() => parseApiAddress('unix://relative')).toThrow('--api "unix://relative" is not an API address');
    expect(() => parseApiAddress('localhost')).toThrow(/not an API address/);
    expect(() => parseApiAddress('127.0.0.1:70000')).toThrow(/not an API address/);
  });
});
