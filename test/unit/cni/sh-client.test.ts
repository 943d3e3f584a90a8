// The installed twill-cni (src/cni/thin-client.sh, as `twill-cni install` writes it, over the
// built client.cjs) against a real CNI server (cni/server.ts) on a unix socket, and against
// servers that misbehave: no root, no datastore (VERSION, errors, STATUS of an unreachable
// store). Needs sh and socat, as on a host where the fast path is used. `npm run build` first.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCniServer, type CniServer, type ServedCall } from '../../../cni/server.js';
import { decodeRequest, encodeAnswer } from '../../../cni/server-wire.js';

const DIST_CNI = resolve(dirname(fileURLToPath(import.meta.url)), '../../../dist/src/cni');

interface Out {
  code: number | null;
  stdout: string;
  ms: number;
}

function run(argv: string[], env: Record<string, string>, stdin: string): Promise<Out> {
  return new Promise((done) => {
    const t0 = performance.now();
    const p = spawn(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    p.stdout.on('data', (d: Buffer) => void (stdout += d.toString()));
    p.on('close', (code) => done({ code, stdout, ms: performance.now() - t0 }));
    p.stdin.on('error', () => undefined);
    p.stdin.end(stdin);
  });
}

describe('the sh client (installed twill-cni)', () => {
  let dir = '';
  let plugin = '';
  let server: CniServer | undefined;
  let fake: Server | undefined;
  const held: Socket[] = [];
  const calls: ServedCall[] = [];

  beforeAll(() => {
    if (!existsSync(join(DIST_CNI, 'client.cjs'))) throw new Error(`${DIST_CNI}/client.cjs is missing: run "npm run build" first`);
    for (const tool of ['sh', 'socat']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is not installed (apt-get install socat)`);
    }
  });
  const setup = async (): Promise<string> => {
    dir = mkdtempSync(join(tmpdir(), 'twill-cni-sh-'));
    const inst = spawnSync(process.execPath, [join(DIST_CNI, 'client.cjs'), 'install', '--bin-dir', join(dir, 'bin'), '--conf-dir', join(dir, 'net.d')], { encoding: 'utf8' });
    expect(inst.status, inst.stderr).toBe(0);
    plugin = join(dir, 'bin/twill-cni');
    return join(dir, 'cni.sock');
  };
  afterEach(async () => {
    await server?.close();
    server = undefined;
    for (const s of held.splice(0)) s.destroy();
    await new Promise<void>((r) => (fake ? fake.close(() => r()) : r()));
    fake = undefined;
    calls.length = 0;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const conf = (extra: Record<string, unknown> = {}): string => JSON.stringify({ cniVersion: '1.1.0', name: 'twnet', type: 'twill-cni', datastore: 'etcd://127.0.0.1:1', ...extra });

  it('is the sh script, and hands calls to the server: the same answers and exit codes as the Node client', async () => {
    const socket = await setup();
    expect(readFileSync(plugin, 'utf8')).toMatch(/^#!\/bin\/sh\n/);
    server = await startCniServer({ socket, onCall: (c) => calls.push(c) });
    const node = [process.execPath, join(DIST_CNI, 'client.cjs')];
    const cases: [Record<string, string>, string][] = [
      [{ CNI_COMMAND: 'VERSION' }, conf({ socket })],
      [{ CNI_COMMAND: 'DEL', CNI_IFNAME: 'eth0' }, conf({ socket })],
      [{ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/proc/self/ns/net', TWILL_CNI_SOCKET: socket }, '{not json'],
      [{ CNI_COMMAND: 'STATUS' }, JSON.stringify(JSON.parse(conf({ socket })), null, 2)],
    ];
    for (const [env, stdin] of cases) {
      const viaSh = await run([plugin], env, stdin);
      const viaNode = await run(node, env, stdin);
      expect(viaSh.stdout, JSON.stringify(env)).toBe(viaNode.stdout);
      expect(viaSh.code, JSON.stringify(env)).toBe(viaNode.code);
    }
    expect(JSON.parse((await run([plugin], { CNI_COMMAND: 'VERSION' }, conf({ socket }))).stdout)).toMatchObject({ supportedVersions: expect.arrayContaining(['1.1.0']) });
    const status = await run([plugin], { CNI_COMMAND: 'STATUS' }, conf({ socket }));
    expect(status.code).toBe(1);
    expect(JSON.parse(status.stdout)).toMatchObject({ cniVersion: '1.1.0', code: 50 });
    // Every call reached the server (sh and Node alike), with the CNI variables it was given.
    expect(calls.filter((c) => c.command === 'STATUS').length).toBe(3);
    expect(calls.filter((c) => c.command === 'ADD' && c.containerID === 'c1').length).toBe(2);
  });

  it('with no server, a server that does not serve it, or a socket of "" the Node program runs the call', async () => {
    const socket = await setup();
    const none = await run([plugin], { CNI_COMMAND: 'VERSION' }, conf({ socket }));
    expect(none.code).toBe(0);
    expect(JSON.parse(none.stdout)).toMatchObject({ cniVersion: '1.1.0' });
    const off = await run([plugin], { CNI_COMMAND: 'VERSION', TWILL_CNI_SOCKET: '' }, conf());
    expect(off.code).toBe(0);
    // A path socat would read as its own syntax (a comma): still answered (by the Node client).
    const odd = await run([plugin], { CNI_COMMAND: 'VERSION', TWILL_CNI_SOCKET: `${socket},x` }, conf());
    expect(odd.code).toBe(0);
    expect(JSON.parse(odd.stdout)).toMatchObject({ cniVersion: '1.1.0' });
    // A server that answers "not served" in whichever framing it was asked.
    const framings: string[] = [];
    fake = createServer({ allowHalfOpen: true }, (s) => {
      const chunks: Buffer[] = [];
      s.on('data', (d: Buffer) => chunks.push(d));
      s.on('end', () => {
        const { framing } = decodeRequest(Buffer.concat(chunks));
        framings.push(framing);
        s.end(encodeAnswer({ stdout: '', exitCode: -1, notServed: 'another namespace' }, framing));
      });
    });
    await new Promise<void>((r) => fake!.listen(socket, () => r()));
    const other = await run([plugin], { CNI_COMMAND: 'VERSION' }, conf({ socket }));
    expect(other.code).toBe(0);
    expect(JSON.parse(other.stdout)).toMatchObject({ cniVersion: '1.1.0' });
    expect(framings).toEqual(['sh', 'json']);
  });

  it('a server that never answers ends in the CNI "try again" error, not a hang', async () => {
    const socket = await setup();
    let received = '';
    fake = createServer({ allowHalfOpen: true }, (s) => {
      held.push(s);
      s.on('data', (d: Buffer) => void (received += d.toString('latin1')));
    });
    await new Promise<void>((r) => fake!.listen(socket, () => r()));
    const r = await run([plugin], { TWILL_CNI_SOCKET: socket, TWILL_CNI_CALL_TIMEOUT_MS: '500', CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0' }, conf());
    expect(received).toContain('TWILL-CNI-SH/1 1 ');
    expect(received).toContain('CNI_CONTAINERID=c1\0');
    expect(r.code).not.toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ cniVersion: '1.1.0', code: 11 });
  });
});

describe('the sh framing', () => {
  it('reads the header, only CNI_* and TWILL_* variables, and stdin exactly', () => {
    const buf = Buffer.concat([Buffer.from('TWILL-CNI-SH/1 0 net:[4026531840]\n'), Buffer.from('PATH=/bin\0CNI_COMMAND=ADD\0CNI_ARGS=A=1;B=x=y\0TWILL_X=\0\0'), Buffer.from('{"a":\n"b"}\n\n')]);
    expect(decodeRequest(buf)).toEqual({ framing: 'sh', req: { env: { CNI_COMMAND: 'ADD', CNI_ARGS: 'A=1;B=x=y', TWILL_X: '' }, stdin: '{"a":\n"b"}\n\n', explicit: false, netns: 'net:[4026531840]' } });
    expect(decodeRequest(Buffer.from('TWILL-CNI-SH/1 1 \n\0')).req).toEqual({ env: {}, stdin: '', explicit: true });
    expect(() => decodeRequest(Buffer.from('TWILL-CNI-SH/1 1 x\nCNI_A=1\0'))).toThrow(/not ended by an empty entry/);
    expect(() => decodeRequest(Buffer.from('TWILL-CNI-SH/1 yes x\n\0'))).toThrow(/EXPLICIT 0 or 1/);
    expect(decodeRequest(Buffer.from('{"env":{},"stdin":"x"}'))).toEqual({ framing: 'json', req: { env: {}, stdin: 'x' } });
  });

  it('answers with the exit code then stdout, or NOTSERVED', () => {
    expect(encodeAnswer({ stdout: '{"x":1}\n', exitCode: 1 }, 'sh')).toBe('EXIT 1\n{"x":1}\n');
    expect(encodeAnswer({ stdout: '', exitCode: -1, notServed: 'a\nb' }, 'sh')).toBe('NOTSERVED a b\n');
    expect(JSON.parse(encodeAnswer({ stdout: 'o', exitCode: 0 }, 'json'))).toEqual({ stdout: 'o', exitCode: 0 });
  });
});
