// The speaker worker, run compiled exactly as twill-node runs it (the worker file is resolved
// beside the compiled host with import.meta.url; dist/, or the harness's private build when dist/
// is older than the sources): a speaker on a worker_thread peers
// over loopback with a speaker on the main thread; config changes, peers, routes and events cross
// as plain data; a bad config comes back as a typed error; a worker that dies is reported.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { SpeakerConfig } from '../../../../bgp/server/types.js';
import { builtFile } from '../../../support/bgp-peers.js';
import { ACCEPT, FAST, trackedNodes, until } from '../server/helpers.js';

type HostModule = typeof import('../../../../bgp/agent/worker-host.js');
type ErrorsModule = typeof import('../../../../bgp/agent/worker-errors.js');
type SpeakerWorker = import('../../../../bgp/agent/worker-host.js').SpeakerWorker;

let host: HostModule;
let errors: ErrorsModule;
beforeAll(async () => {
  host = (await import(pathToFileURL(builtFile('bgp/agent/worker-host.js')).href)) as HostModule;
  errors = (await import(pathToFileURL(builtFile('bgp/agent/worker-errors.js')).href)) as ErrorsModule;
});

const { make } = trackedNodes();
const workers: SpeakerWorker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});

function config(port: number, neighbors: SpeakerConfig['neighbors'], extra: Partial<SpeakerConfig> = {}): SpeakerConfig {
  return { routerId: '127.0.60.1', asn: 65601, listen: { address: '127.0.60.1', port }, holdTime: 9, ...FAST, neighbors, ...extra };
}

describe('SpeakerWorker (compiled)', () => {
  it('runs the speaker on its own thread: sessions, routes both ways, config changes, events, typed errors', async () => {
    const logs: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
    const logger = {
      debug: (obj: object, msg?: string) => logs.push({ level: 'debug', obj: obj as Record<string, unknown>, msg: msg ?? '' }),
      info: (obj: object, msg?: string) => logs.push({ level: 'info', obj: obj as Record<string, unknown>, msg: msg ?? '' }),
      warn: (obj: object, msg?: string) => logs.push({ level: 'warn', obj: obj as Record<string, unknown>, msg: msg ?? '' }),
      error: (obj: object, msg?: string) => logs.push({ level: 'error', obj: obj as Record<string, unknown>, msg: msg ?? '' }),
    };
    const w = await host.SpeakerWorker.start({ logger });
    workers.push(w);
    const events: string[] = [];
    w.onEvent((e) => {
      if (e.type === 'peer-state') events.push(`${e.peer} ${e.to}`);
    });
    // Before any config there is no speaker: nothing configured, no kernel sync.
    expect(await w.peers()).toEqual([]);
    expect(await w.kernelStats()).toBeNull();

    const b = await make('127.0.60.2', 65602, {
      neighbors: [{ address: '127.0.60.1', asn: 65601, passive: true, importPolicy: ACCEPT, exportPolicy: ACCEPT }],
      originate: [{ prefix: '10.60.2.0/24' }],
    });
    const toB = { address: '127.0.60.2', asn: 65602, port: b.speaker.port!, localAddress: '127.0.60.1', importPolicy: ACCEPT, exportPolicy: ACCEPT };
    await w.setConfig(config(0, [toB], { originate: [{ prefix: '10.60.1.0/24' }] }));
    await until(() => b.speaker.listPeers()[0]?.state === 'Established' || undefined, 'session main thread <-> worker');
    const peers = await w.peers();
    expect(peers).toHaveLength(1);
    expect(peers[0]!.address).toBe('127.0.60.2');
    expect(peers[0]!.since).toBeInstanceOf(Date);
    await until(() => b.speaker.listRoutes({ table: 'loc', prefix: '10.60.1.0/24' })[0], "worker's route at B");
    // Routes learned in the worker, asked for from the main thread.
    let learned: Awaited<ReturnType<SpeakerWorker['routes']>> = [];
    for (let i = 0; i < 500 && learned.length === 0; i++) {
      learned = await w.routes({ table: 'loc', prefix: '10.60.2.0/24' });
      if (learned.length === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(learned[0]).toMatchObject({ prefix: '10.60.2.0/24', nextHop: '127.0.60.2', peer: '127.0.60.2', asPath: [65602] });
    expect(events).toContain('127.0.60.2 Established');

    // A policy change applies without a reset; the session stays up.
    await w.setConfig(config(0, [{ ...toB, exportPolicy: { default: 'reject', rules: [] } }], { originate: [{ prefix: '10.60.1.0/24' }] }));
    await until(() => b.speaker.listRoutes({ table: 'loc', prefix: '10.60.1.0/24' }).length === 0, 'route withdrawn by the export policy');
    expect((await w.peers())[0]).toMatchObject({ state: 'Established', establishedCount: 1, flaps: 0 });

    // A bad config: a typed error with the speaker's code and hint; the running config stays.
    const bad = w.setConfig({ ...config(0, [toB]), holdTime: 2 });
    await expect(bad).rejects.toBeInstanceOf(errors.BgpWorkerError);
    await expect(bad).rejects.toMatchObject({ code: 'BgpConfigInvalid', remoteName: 'SpeakerConfigError' });
    expect((await w.peers())[0]!.state).toBe('Established');

    // Log lines of the worker arrive on the main thread's logger with component: bgp.
    expect(logs.some((l) => l.obj.component === 'bgp' && l.msg.includes('Established'))).toBe(true);

    // Stop: CEASE to the peer, the thread ends; later calls fail with a typed error.
    await w.stop();
    await until(() => b.speaker.listPeers()[0]?.state !== 'Established' || undefined, 'session down after stop');
    await expect(w.peers()).rejects.toBeInstanceOf(errors.BgpWorkerExitedError);
  });

  describe('a worker that dies', () => {
    let dir = '';
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'twill-worker-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('is reported: a worker-exit event and every pending call rejected, later calls too', async () => {
      // A stand-in worker that answers "ready" and then crashes on the first request.
      const entry = join(dir, 'crash.mjs');
      writeFileSync(
        entry,
        `import { parentPort } from 'node:worker_threads';
parentPort.on('message', () => { setTimeout(() => { throw new Error('boom in the worker'); }, 10); });
parentPort.postMessage({ type: 'ready' });
`,
      );
      const seen: string[] = [];
      const logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: (_o: object, m?: string) => seen.push(m ?? '') };
      const w = await host.SpeakerWorker.start({ entry: pathToFileURL(entry), logger });
      const exits: string[] = [];
      w.onEvent((e) => {
        if (e.type === 'worker-exit') exits.push(e.message);
      });
      const pending = w.peers();
      await expect(pending).rejects.toBeInstanceOf(errors.BgpWorkerExitedError);
      await expect(pending).rejects.toThrow(/boom in the worker/);
      expect(exits).toHaveLength(1);
      expect(seen.some((m) => m.includes('boom in the worker'))).toBe(true);
      await expect(w.setConfig(config(0, []))).rejects.toMatchObject({ code: 'BgpWorkerExited' });
      await w.stop();
    });

    it('a worker that cannot start (bad namespace) rejects start() with a typed error', async () => {
      await expect(host.SpeakerWorker.start({ netns: 'twill-no-such-namespace-x' })).rejects.toMatchObject({ remoteName: 'NetnsNotFoundError' });
    });
  });
});
