// `twill-cni serve [--socket /run/twill/cni.sock]`: a long-running twill-cni in the host's network
// namespace. Each connection carries one call ({env, stdin}) and gets {stdout, exitCode}: the same
// runTwillCni as the one-shot program, with the datastore kept open between calls (one per
// datastore URL) and one Ipam per store, so concurrent ADDs share transactions.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Datastore } from '../datastore/types.js';
import type { StoreTls } from './config.js';
import { runTwillCni } from './plugin.js';
import { openStore } from './program-io.js';
import { DEFAULT_SOCKET } from './thin.js';

/** Opens each datastore once; the commands' close() leaves it open. */
function sharedStores(): (url: string, tls: StoreTls) => Promise<Datastore> {
  const open = new Map<string, Promise<Datastore>>();
  return (url, tls) => {
    const key = JSON.stringify([url, tls]);
    let p = open.get(key);
    if (!p) {
      p = openStore(url, tls).then((ds) =>
        new Proxy(ds, {
          get: (t, k: string | symbol) => {
            if (k === 'close') return async () => undefined;
            const v = Reflect.get(t, k, t) as unknown;
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
          },
        }),
      );
      // A failed open (datastore down) is not cached: the next call tries again.
      p.catch(() => open.delete(key));
      open.set(key, p);
    }
    return p;
  };
}

export async function runServe(argv: string[]): Promise<number> {
  let socket = DEFAULT_SOCKET;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--socket' && argv[i + 1] !== undefined) socket = argv[++i] as string;
    else if (a?.startsWith('--socket=')) socket = a.slice('--socket='.length);
    else {
      process.stderr.write(`twill-cni serve: unknown argument ${a}\nusage: twill-cni serve [--socket ${DEFAULT_SOCKET}]\n`);
      return 2;
    }
  }
  const openShared = sharedStores();
  mkdirSync(dirname(socket), { recursive: true });
  rmSync(socket, { force: true });
  // allowHalfOpen: the client ends its side after the request; the answer still goes back.
  const server = createServer({ allowHalfOpen: true }, (c: Socket) => {
    let buf = '';
    c.on('data', (d: Buffer) => (buf += d.toString()));
    c.on('error', () => undefined);
    c.on('end', () => {
      void (async () => {
        let out: { stdout: string; exitCode: number };
        try {
          const req = JSON.parse(buf) as { env: Record<string, string>; stdin: string };
          out = await runTwillCni({ env: req.env, stdin: req.stdin, openStore: openShared, hostname });
        } catch (e) {
          out = { stdout: `${JSON.stringify({ cniVersion: '1.0.0', code: 100, msg: `twill-cni serve: bad request: ${(e as Error).message}` })}\n`, exitCode: 1 };
        }
        c.end(JSON.stringify(out));
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  chmodSync(socket, 0o600);
  process.stdout.write(`twill-cni serving on ${socket}\n`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      server.close(() => resolve());
      rmSync(socket, { force: true });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}
