// A whole daemon in-process (real speaker on 127.0.0.1, API on a unix socket in a temp dir),
// peering with a second, plain BgpSpeaker; driven through the API client and the CLI.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BgpApiClient } from '../../../../bgp/daemon/api/client.js';
import type { WatchEvent } from '../../../../bgp/daemon/api/convert.js';
import { run } from '../../../../bgp/daemon/cli/program.js';
import type { CliIo } from '../../../../src/lib/cli-io.js';
import { parseConfig } from '../../../../bgp/daemon/config.js';
import { Daemon } from '../../../../bgp/daemon/daemon.js';
import { createLogger } from '../../../../src/lib/logger.js';
import { runDaemon } from '../../../../bgp/daemon/run-daemon.js';
import { BgpSpeaker } from '../../../../bgp/server/speaker.js';
import type { SpeakerEvent } from '../../../../bgp/server/types.js';

const DAEMON_AS = 4200000001;
const PEER_AS = 65002;
const dir = mkdtempSync(join(tmpdir(), 'twill-bgp-daemon-'));
const logLines: string[] = [];
let daemon: Daemon;
let peer: BgpSpeaker;
let client: BgpApiClient;
const peerEvents: SpeakerEvent[] = [];

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, ms = 15_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function cli(): CliIo & { out: string; err: string } {
  const io = { out: '', err: '', stdout: (s: string) => void (io.out += s), stderr: (s: string) => void (io.err += s), readStdin: async () => '', env: {} };
  return io;
}

beforeAll(async () => {
  const cfg = parseConfig(
    [
      'routerId: 10.255.0.1',
      `asn: ${DAEMON_AS}`,
      'listen: { address: 127.0.0.1, port: 0 }',
      'neighbors:',
      '  - address: 127.0.0.1',
      `    asn: ${PEER_AS}`,
      '    passive: true',
      '    import: all',
      '    export: all',
      'originate:',
      '  - prefix: 10.10.0.0/24',
      '    communities: ["65000:10"]',
    ].join('\n'),
    'daemon.yaml',
  );
  daemon = await Daemon.start({
    config: cfg,
    configFile: 'daemon.yaml',
    api: `unix://${join(dir, 'bgp.sock')}`,
    logger: createLogger({ level: 'info', pretty: false, destination: { write: (s: string) => void logLines.push(s) } }),
    createSpeaker: (c, o) => new BgpSpeaker(c, o),
    version: 'test',
  });
  peer = new BgpSpeaker({
    routerId: '10.255.0.2',
    asn: PEER_AS,
    listen: false,
    backoff: { idleHold: 0.05 },
    neighbors: [{ address: '127.0.0.1', asn: DAEMON_AS, port: daemon.bgpPort!, localAddress: '127.0.0.1', connectRetry: 0.1, importPolicy: { default: 'accept', rules: [] }, exportPolicy: { default: 'accept', rules: [] } }],
    originate: [{ prefix: '10.20.0.0/24' }, { prefix: '2001:db8:20::/48' }],
  });
  peer.subscribe((e) => peerEvents.push(e));
  await peer.start();
  client = new BgpApiClient(daemon.apiAddress!);
});

afterAll(async () => {
  client?.close();
  await peer?.stop();
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('twill-bgp daemon (in-process, loopback)', () => {
  it('brings the session up and learns the peer’s IPv4 and IPv6 prefixes with its AS path', async () => {
    await until('Established', async () => (await client.listPeers())[0]?.state === 'Established');
    const routes = await until('routes from the peer', async () => {
      const r = await client.listRoutes({ table: 'loc' });
      return r.filter((x) => x.peer === '127.0.0.1').length === 2 ? r : undefined;
    });
    const v4 = routes.find((r) => r.prefix === '10.20.0.0/24')!;
    expect(v4).toMatchObject({ asPath: [PEER_AS], nextHop: '127.0.0.1', best: true, peer: '127.0.0.1' });
    expect(routes.find((r) => r.prefix === '2001:db8:20::/48')).toMatchObject({ asPath: [PEER_AS], family: 6 });
    const own = routes.find((r) => r.prefix === '10.10.0.0/24')!;
    expect(own.peer).toBeUndefined();
    expect(own.communities).toEqual(['65000:10']);
  });

  it('announces and withdraws through the API; the peer sees our AS and community', async () => {
    await client.addPath({ prefix: '10.30.0.0/24', communities: ['65000:30'] });
    const r = await until('peer learns 10.30.0.0/24', () => peer.listRoutes({ table: 'loc', prefix: '10.30.0.0/24' })[0]);
    expect(r).toMatchObject({ asPath: [DAEMON_AS], nextHop: '127.0.0.1', communities: ['65000:30'] });
    expect(peer.listRoutes({ table: 'loc', prefix: '10.10.0.0/24' })[0]).toMatchObject({ asPath: [DAEMON_AS], communities: ['65000:10'] });
    expect((await client.status()).originated).toBe(2);
    expect(await client.deletePath('10.30.0.0/24')).toBe(true);
    await until('peer loses 10.30.0.0/24', () => peer.listRoutes({ table: 'loc', prefix: '10.30.0.0/24' }).length === 0);
    expect(await client.deletePath('10.30.0.0/24')).toBe(false);
    await expect(client.addPath({ prefix: '10.30.0.1/24' })).rejects.toThrow('10.30.0.1/24 has host bits set: did you mean 10.30.0.0/24?');
  });

  it('CLI subcommands read the running daemon', async () => {
    const api = daemon.apiAddress!;
    let io = cli();
    expect(await run(['neighbors', '--api', api], io, { runDaemon })).toBe(0);
    expect(io.out.split('\n')[1]).toMatch(/^127\.0\.0\.1\s+65002\s+eBGP\s+Established\s+\d\d:\d\d:\d\d\s+2\/2\/1\s/);

    io = cli();
    expect(await run(['routes', '-4', '-o', 'json', '--api', api], io, { runDaemon })).toBe(0);
    expect((JSON.parse(io.out) as { prefix: string }[]).map((r) => r.prefix).sort()).toEqual(['10.10.0.0/24', '10.20.0.0/24']);

    io = cli();
    expect(await run(['routes', '--table', 'out', '--peer', '127.0.0.1', '--api', api], io, { runDaemon })).toBe(0);
    expect(io.out).toMatch(/10\.10\.0\.0\/24\s+127\.0\.0\.1\s+4200000001\s/);

    io = cli();
    expect(await run(['status', '--api', api], io, { runDaemon })).toBe(0);
    expect(io.out).toContain('Neighbours: 1 of 1 Established');

    io = cli();
    expect(await run(['announce', '10.40.0.0/24', '--community', '65000:40', '--api', api], io, { runDaemon })).toBe(0);
    await until('peer learns 10.40.0.0/24', () => peer.listRoutes({ table: 'loc', prefix: '10.40.0.0/24' })[0]);
    io = cli();
    expect(await run(['withdraw', '10.40.0.0/24', '--api', api], io, { runDaemon })).toBe(0);
    io = cli();
    expect(await run(['withdraw', '10.40.0.0/24', '--api', api], io, { runDaemon })).toBe(1);
    expect(io.err).toContain('does not originate 10.40.0.0/24');

    io = cli();
    expect(await run(['routes', '--table', 'in', '--api', api], io, { runDaemon })).toBe(2);
    expect(io.err).toContain('--table in needs --peer ADDRESS');
  });

  it('streams and logs a NOTIFICATION from the peer with its meaning', async () => {
    const seen: WatchEvent[] = [];
    const w = client.watchEvents((e) => seen.push(e));
    await new Promise((r) => setTimeout(r, 100));
    await peer.resetPeer('127.0.0.1');
    const n = await until('notification event', () => seen.find((e) => e.type === 'notification'));
    expect(n).toMatchObject({ direction: 'received', code: 6 });
    if (n.type === 'notification') expect(n.message).toMatch(/^Cease \/ /);
    w.cancel();
    const logged = logLines.map((l) => JSON.parse(l) as { msg: string; code?: number }).find((l) => l.code === 6 && /NOTIFICATION from 127\.0\.0\.1: Cease \//.test(l.msg));
    expect(logged).toBeDefined();
    await until('re-established', async () => (await client.listPeers())[0]?.state === 'Established');
  });

  it('reload() applies a new config and keeps paths added through the API', async () => {
    await client.addPath({ prefix: '10.50.0.0/24' });
    await until('peer learns 10.50.0.0/24', () => peer.listRoutes({ table: 'loc', prefix: '10.50.0.0/24' })[0]);
    const next = parseConfig(
      [
        'routerId: 10.255.0.1',
        `asn: ${DAEMON_AS}`,
        'listen: { address: 127.0.0.1, port: 0 }',
        'neighbors:',
        `  - { address: 127.0.0.1, asn: ${PEER_AS}, passive: true, import: all, export: all }`,
        'originate:',
        '  - 10.11.0.0/24',
      ].join('\n'),
      'daemon.yaml',
    );
    await daemon.reload(next);
    await until('peer learns 10.11.0.0/24 and loses 10.10.0.0/24', () =>
      peer.listRoutes({ table: 'loc', prefix: '10.11.0.0/24' }).length === 1 && peer.listRoutes({ table: 'loc', prefix: '10.10.0.0/24' }).length === 0,
    );
    expect(peer.listRoutes({ table: 'loc', prefix: '10.50.0.0/24' })).toHaveLength(1);
    expect((await client.status()).originated).toBe(2);
  });

  it('stop() sends CEASE / Administrative Shutdown to the peer and removes the API socket', async () => {
    const before = peerEvents.length;
    await daemon.stop();
    const n = await until('peer got CEASE', () => peerEvents.slice(before).find((e) => e.type === 'notification' && e.direction === 'received'));
    expect(n).toMatchObject({ code: 6, subcode: 2 });
    const io = cli();
    expect(await run(['status', '--api', daemon.apiAddress ?? `unix://${join(dir, 'bgp.sock')}`], io, { runDaemon })).toBe(3); // unreachable dependency (src/lib/exit-codes.ts)
    expect(io.err).toMatch(/cannot reach twill-bgp/);
  });
});

describe('twill-bgp command line', () => {
  it('without --config or a subcommand it explains what it needs', async () => {
    const io = cli();
    expect(await run([], io, { runDaemon })).toBe(2);
    expect(io.err).toContain('twill-bgp needs --config FILE.yaml');
  });

  it('--check validates a config and reports the line at fault', async () => {
    const good = join(dir, 'good.yaml');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(good, 'routerId: 10.0.0.1\nasn: 65000\n');
    writeFileSync(bad, 'routerId: 10.0.0.1\nasn: 65000\nneighbors:\n  - address: 10.0.0.2\n    asn: 4294967296\n');
    let io = cli();
    expect(await run(['--config', good, '--check'], io, { runDaemon })).toBe(0);
    expect(io.out).toContain('OK');
    io = cli();
    expect(await run(['--config', bad, '--check'], io, { runDaemon })).toBe(2);
    expect(io.err).toBe(`${bad}:5: neighbors[0].asn: 4294967296 is out of range 1..4294967295\n`);
    // Without --check the daemon refuses to start, the same way.
    io = cli();
    expect(await run(['--config', bad, '--api', 'none'], io, { runDaemon })).toBe(2);
    expect(io.err).toBe(`${bad}:5: neighbors[0].asn: 4294967296 is out of range 1..4294967295\n`);
    io = cli();
    expect(await run(['--config', join(dir, 'missing.yaml')], io, { runDaemon })).toBe(2);
    expect(io.err).toMatch(/missing\.yaml: cannot read the config file \(ENOENT\)/);
  });

  it('unknown subcommands and options are usage errors', async () => {
    const io = cli();
    expect(await run(['neighbours', '--bogus'], io, { runDaemon })).toBe(2);
    expect(io.err).toMatch(/unknown option '--bogus'/);
  });
});
