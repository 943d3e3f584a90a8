// The CNI server: a long-running twill-cni in the host's network namespace, on a unix socket.
// twill-node hosts it (`--cni-socket`, default /run/twill/cni.sock), `twill-cni serve` is the
// standalone fallback. Each connection carries one call ({env, stdin}, in either framing of
// server-wire.ts) and gets {stdout, exitCode}: the same runTwillCni as the one-shot program, with
// the datastore kept open between calls (one per datastore URL and TLS files) and one Ipam per
// store, so concurrent ADDs share IPAM transactions. Calls run concurrently; nothing here serialises them.
import { chmodSync, existsSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import type { WorkloadEndpointResource } from '../src/api/types.js';
import type { Datastore } from '../src/datastore/types.js';
import { TwillError } from '../src/errors.js';
import { claimSocketPath } from '../src/nodeapi/local-server.js';
import type { StoreTls } from './config.js';
import { policyTimeout } from './endpoint.js';
import { runTwillCni } from './plugin.js';
import { decodeRequest, encodeAnswer, type CniAnswer, type CniRequest, type Framing } from './server-wire.js';
import { openStore } from './program-io.js';

/** Opens each datastore once; the commands' close() leaves it open. close() closes them all. */
function sharedStores(): { open: (url: string, tls: StoreTls) => Promise<Datastore>; closeAll(): Promise<void> } {
  const open = new Map<string, Promise<Datastore>>();
  const real: Datastore[] = [];
  return {
    open: (url, tls) => {
      const key = JSON.stringify([url, tls]);
      let p = open.get(key);
      if (!p) {
        p = openStore(url, tls).then((ds) => {
          real.push(ds);
          return new Proxy(ds, {
            get: (t, k: string | symbol) => {
              if (k === 'close') return async () => undefined;
              const v = Reflect.get(t, k, t) as unknown;
              return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
            },
          });
        });
        // A failed open (datastore down) is not cached: the next call tries again.
        p.catch(() => open.delete(key));
        open.set(key, p);
      }
      return p;
    },
    closeAll: async () => {
      open.clear();
      for (const ds of real.splice(0)) await ds.close().catch(() => undefined);
    },
  };
}

/** One call the server answered (twill-node logs and counts them). */
export interface ServedCall {
  command: string;
  containerID: string;
  exitCode: number;
  ms: number;
  /** ms from the start of an ADD until each step was done (cni/add.ts marks: ipam, veth, endpoint, programmed; veth and endpoint run in parallel). */
  steps: Record<string, number>;
}

export interface CniServerOptions {
  socket: string;
  /**
   * In-process knowledge that an endpoint is programmed (twill-node: from its dataplane), used by
   * ADD instead of watching the datastore for status.programmed. Resolves once this exact spec
   * is programmed (the server adds the timeout); returns undefined when it cannot tell for this
   * endpoint (another node's), and ADD watches the datastore as usual.
   */
  whenProgrammed?: (wep: WorkloadEndpointResource, signal: AbortSignal) => Promise<void> | undefined;
  onCall?: (c: ServedCall) => void;
}

export interface CniServer {
  socketPath: string;
  close(): Promise<void>;
}

/** This process's network namespace, as /proc names it (`net:[4026531840]`). */
export function ownNetns(): string {
  try {
    return readlinkSync('/proc/self/ns/net');
  } catch {
    return '';
  }
}

/** Serves CNI calls on `socket` (directory 0700, socket 0600). */
export async function startCniServer(o: CniServerOptions): Promise<CniServer> {
  const stores = sharedStores();
  const myNetns = ownNetns();
  const whenProgrammed = o.whenProgrammed;
  const waitProgrammed = whenProgrammed
    ? (wep: WorkloadEndpointResource, timeoutMs: number): Promise<void> | undefined => {
        const ac = new AbortController();
        const p = whenProgrammed(wep, ac.signal);
        if (!p) return undefined;
        return new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => {
            ac.abort();
            reject(policyTimeout(wep, timeoutMs));
          }, timeoutMs);
          void p.then(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    : undefined;
  await claimSocketPath(o.socket, 0o700, {
    notSocket: () => new TwillError('CniSocketTaken', `${o.socket} exists and is not a socket`, { hint: 'remove it or choose another path' }),
    busy: () => new TwillError('CniSocketBusy', `another CNI server answers on ${o.socket}`, { hint: 'stop it (twill-cni serve or another twill-node), or choose another path' }),
  });
  const conns = new Set<Socket>();
  // allowHalfOpen: the client ends its side after the request; the answer still goes back.
  const server: Server = createServer({ allowHalfOpen: true }, (c: Socket) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    const chunks: Buffer[] = [];
    c.on('data', (d: Buffer) => chunks.push(d));
    c.on('error', () => undefined);
    c.on('end', () => {
      void (async () => {
        const t0 = performance.now();
        const steps: Record<string, number> = {};
        const mark = (step: string): void => {
          steps[step] = performance.now() - t0;
        };
        let out: CniAnswer;
        let req: CniRequest | undefined;
        let framing: Framing = 'json';
        try {
          ({ req, framing } = decodeRequest(Buffer.concat(chunks)));
          if (req.explicit !== true && req.netns !== undefined && req.netns !== myNetns) {
            c.end(encodeAnswer({ stdout: '', exitCode: -1, notServed: `the client runs in ${req.netns}, this server in ${myNetns}` }, framing));
            return;
          }
          // A container namespace this server cannot see (it runs in another mount namespace,
          // e.g. a pod without the host's /var/run/netns): the client can.
          const cmd = req.env.CNI_COMMAND;
          const ns = req.env.CNI_NETNS;
          if ((cmd === 'ADD' || cmd === 'CHECK') && ns && !existsSync(ns)) {
            c.end(encodeAnswer({ stdout: '', exitCode: -1, notServed: `CNI_NETNS ${ns} is not visible to this server` }, framing));
            return;
          }
          out = await runTwillCni({
            env: req.env,
            stdin: req.stdin,
            openStore: stores.open,
            hostname,
            mark,
            ...(waitProgrammed ? { waitProgrammed } : {}),
          });
        } catch (e) {
          out = { stdout: `${JSON.stringify({ cniVersion: '1.0.0', code: 100, msg: `twill-cni server: bad request: ${(e as Error).message}` })}\n`, exitCode: 1 };
        }
        c.end(encodeAnswer(out, framing));
        o.onCall?.({ command: req?.env.CNI_COMMAND ?? '', containerID: req?.env.CNI_CONTAINERID ?? '', exitCode: out.exitCode, ms: performance.now() - t0, steps });
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.socket, () => resolve());
  });
  chmodSync(o.socket, 0o600);
  return {
    socketPath: o.socket,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        rmSync(o.socket, { force: true });
        // Calls in flight finish (an ADD still waiting for its policy needs the agent, which stops
        // after this); a connection that never sends its request is cut after 15 s.
        setTimeout(() => {
          for (const c of conns) c.destroy();
        }, 15_000).unref();
      });
      await stores.closeAll();
    },
  };
}
