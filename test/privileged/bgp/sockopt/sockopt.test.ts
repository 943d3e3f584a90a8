// TCP MD5 (RFC 2385) and GTSM (RFC 5082) on real sockets between two namespaces joined by a
// veth, then a raw BGP OPEN exchange with BIRD using `password`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONTEXT, encodeMessage, Framer, decodeMessage, type BgpMessage } from '../../../../bgp/packet/index.js';
import { ConnectTimeoutError, connectWithOptions, fdOf, listenWithOptions, setTcpMd5, type BgpListener } from '../../../../bgp/sockopt/index.js';
import { missing, uniquePrefix } from '../../../support/env.js';
import { ipIn, NetnsPool, nsExec } from '../../../support/netns.js';

const reason = missing({ root: true, tools: ['ip', 'bird'] });

const A = '10.213.0.1';
const B = '10.213.0.2';
const A6 = 'fd13:213::1';
const B6 = 'fd13:213::2';

/** Sends `msg`, waits for one line back. */
function echo(s: Socket, msg: string): Promise<string> {
  return new Promise((resolve, reject) => {
    s.once('data', (d) => resolve(d.toString()));
    s.once('error', reject);
    s.write(msg);
  });
}

const accepted: Socket[] = [];

function echoServer(l: BgpListener): void {
  l.on('connection', (c) => {
    accepted.push(c);
    c.on('data', (d) => c.write(`echo:${d.toString()}`));
    c.on('error', () => {});
  });
}

describe.skipIf(reason)('TCP MD5 and GTSM socket options (real kernel)', () => {
  const pool = new NetnsPool(uniquePrefix('so'));
  let nsA = '';
  let nsB = '';
  const listeners: BgpListener[] = [];
  const sockets: Socket[] = [];

  beforeAll(() => {
    nsA = pool.create('a');
    nsB = pool.create('b');
    ipIn(nsA, ['link', 'add', 'soa', 'type', 'veth', 'peer', 'name', 'sob', 'netns', nsB]);
    ipIn(nsA, ['addr', 'add', `${A}/24`, 'dev', 'soa']);
    ipIn(nsB, ['addr', 'add', `${B}/24`, 'dev', 'sob']);
    ipIn(nsA, ['-6', 'addr', 'add', `${A6}/64`, 'dev', 'soa', 'nodad']);
    ipIn(nsB, ['-6', 'addr', 'add', `${B6}/64`, 'dev', 'sob', 'nodad']);
    for (const [ns, l] of [[nsA, 'soa'], [nsB, 'sob'], [nsA, 'lo'], [nsB, 'lo']] as const) ipIn(ns, ['link', 'set', l, 'up']);
  });

  afterAll(async () => {
    try {
      for (const s of sockets) s.destroy();
      for (const c of accepted) c.destroy();
      for (const l of listeners) await new Promise((r) => l.close(r));
    } finally {
      pool.cleanup();
    }
  });

  /** Keeps a socket for cleanup (a connection that should have failed but did not). */
  function keep(s: Socket): Socket {
    sockets.push(s);
    return s;
  }

  async function listen(opts: Partial<Parameters<typeof listenWithOptions>[0]> = {}): Promise<BgpListener> {
    const l = await listenWithOptions({ host: '::', port: 0, netns: { name: nsB }, ...opts });
    listeners.push(l);
    echoServer(l);
    return l;
  }

  function port(l: BgpListener): number {
    const a = l.address();
    if (!a || typeof a === 'string') throw new Error('no port');
    return a.port;
  }

  it('matching MD5 keys connect (IPv4 and IPv6); a wrong or missing key never gets a SYN-ACK', async () => {
    const l = await listen({ md5Peers: new Map([[A, 's3cret'], [A6, 'six-key']]) });
    const p = port(l);
    const ok = await connectWithOptions({ host: B, port: p, md5: 's3cret', netns: { name: nsA }, timeoutMs: 5000 });
    sockets.push(ok);
    expect(ok.remoteAddress).toBe(B);
    expect(await echo(ok, 'hi')).toBe('echo:hi');
    expect(fdOf(ok)).toBeGreaterThan(2);

    const ok6 = await connectWithOptions({ host: B6, port: p, md5: 'six-key', netns: { name: nsA }, timeoutMs: 5000 });
    sockets.push(ok6);
    expect(await echo(ok6, 'v6')).toBe('echo:v6');

    await expect(connectWithOptions({ host: B, port: p, md5: 'wrong', netns: { name: nsA }, timeoutMs: 1500 })).rejects.toBeInstanceOf(ConnectTimeoutError);
    await expect(connectWithOptions({ host: B, port: p, netns: { name: nsA }, timeoutMs: 1500 })).rejects.toBeInstanceOf(ConnectTimeoutError);

    // The key can be changed on the live listener.
    l.setMd5(A, 'rotated');
    const rotated = await connectWithOptions({ host: B, port: p, md5: 'rotated', netns: { name: nsA }, timeoutMs: 5000 });
    sockets.push(rotated);
    expect(await echo(rotated, 'r')).toBe('echo:r');
    l.setMd5(A, null);
    const plain = await connectWithOptions({ host: B, port: p, netns: { name: nsA }, timeoutMs: 5000 });
    sockets.push(plain);
    expect(await echo(plain, 'p')).toBe('echo:p');
  });

  it('a connection refused by the peer is reported at once, not as a timeout', async () => {
    // (Without MD5: with a key set, the kernel drops the peer's unsigned RST, which looks like a timeout.)
    const err = await connectWithOptions({ host: B, port: 1, netns: { name: nsA }, timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'BgpSockoptFailed' });
    expect(String((err as Error).message)).toContain('ECONNREFUSED');
  });

  it('GTSM: the listener drops packets below its minimum TTL', async () => {
    const l = await listen({ minTtl: 255, ttl: 255 });
    const p = port(l);
    await expect(connectWithOptions({ host: B, port: p, ttl: 254, netns: { name: nsA }, timeoutMs: 1500 }).then(keep)).rejects.toBeInstanceOf(ConnectTimeoutError);
    const ok = await connectWithOptions({ host: B, port: p, ttl: 255, minTtl: 255, netns: { name: nsA }, timeoutMs: 5000 });
    sockets.push(ok);
    expect(await echo(ok, 'gtsm')).toBe('echo:gtsm');
    const ok6 = await connectWithOptions({ host: B6, port: p, ttl: 255, netns: { name: nsA }, timeoutMs: 5000 });
    sockets.push(ok6);
    expect(await echo(ok6, 'gtsm6')).toBe('echo:gtsm6');
    await expect(connectWithOptions({ host: B6, port: p, ttl: 200, netns: { name: nsA }, timeoutMs: 1500 }).then(keep)).rejects.toBeInstanceOf(ConnectTimeoutError);
  });

  it('setTcpMd5 refuses bad input with a clear error', () => {
    expect(() => setTcpMd5(-1, A, 'x')).toThrow(/not a file descriptor/);
    const l = listeners[0]!;
    expect(() => l.setMd5('not-an-ip', 'x')).toThrow(/not an IP address/);
    expect(() => l.setMd5(A, 'k'.repeat(81))).toThrow(/81 bytes/);
  });

  describe('interop with BIRD (password)', () => {
    let bird: ChildProcess | undefined;
    let dir = '';

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'twill-bird-md5-'));
      writeFileSync(
        join(dir, 'bird.conf'),
        [
          'router id 10.213.0.2;',
          'protocol device {}',
          'protocol bgp peer_a {',
          `  local ${B} as 65002;`,
          `  neighbor ${A} as 65001;`,
          '  passive on;',
          '  password "bird-md5";',
          '  ipv4 { import none; export none; };',
          '}',
          '',
        ].join('\n'),
      );
      bird = spawn('ip', ['netns', 'exec', nsB, 'bird', '-f', '-c', join(dir, 'bird.conf'), '-s', join(dir, 'bird.ctl')], { stdio: 'ignore' });
      // Wait until BIRD listens on 179 in its namespace.
      for (let i = 0; i < 200; i++) {
        if (nsExec(nsB, ['ss', '-Htln', 'sport = :179']).stdout.trim()) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    });

    afterAll(() => {
      if (bird?.pid) process.kill(bird.pid, 'SIGTERM');
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    function readOneMessage(s: Socket): Promise<BgpMessage> {
      const f = new Framer();
      return new Promise((resolve, reject) => {
        const onData = (d: Buffer): void => {
          f.push(d);
          const m = f.next();
          if (m) {
            s.off('data', onData);
            resolve(decodeMessage(m, DEFAULT_CONTEXT).message);
          }
        };
        s.on('data', onData);
        s.once('error', reject);
        s.once('close', () => reject(new Error('BIRD closed the connection')));
      });
    }

    it('exchanges OPEN messages over a TCP MD5 connection; the wrong password gets nothing', async () => {
      await expect(
        connectWithOptions({ host: B, port: 179, localAddress: A, md5: 'not-bird-md5', netns: { name: nsA }, timeoutMs: 1500 }),
      ).rejects.toBeInstanceOf(ConnectTimeoutError);

      const s = await connectWithOptions({ host: B, port: 179, localAddress: A, md5: 'bird-md5', netns: { name: nsA }, timeoutMs: 5000 });
      sockets.push(s);
      const theirs = readOneMessage(s);
      s.write(
        encodeMessage(
          {
            type: 'open',
            version: 4,
            myAs: 65001,
            holdTime: 90,
            bgpId: 0x0ad50001,
            capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'four-octet-as', as: 65001 }],
          },
          DEFAULT_CONTEXT,
        ),
      );
      const m = await theirs;
      expect(m.type).toBe('open');
      if (m.type !== 'open') return;
      expect(m.myAs).toBe(65002);
      expect(m.bgpId).toBe(0x0ad50002);
    });
  });
});
