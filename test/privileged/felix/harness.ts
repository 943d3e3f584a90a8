// Runs the BUILT twill-node inside a host namespace, for the privileged felix tests, and the host
// namespace with etcd they all start from.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ProfileResource, WorkloadEndpointResource } from '../../../src/api/types.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';
import { startEtcd, type EtcdServer } from '../../support/etcd.js';
import { ipIn, type NetnsPool } from '../../support/netns.js';
import { bridgePortIntoNetns, type Bridge } from '../../support/netns-bridge.js';
import type { Servers, Workload } from '../../support/workload.js';

export const TWILL_NODE_MAIN = resolve(__dirname, '../../../dist/src/node/main.js');

export interface TwillNodeProcess {
  readonly pid: number;
  /** Resolves with the exit code (null when killed by a signal). */
  readonly exited: Promise<number | null>;
  /** Sends a signal (by PID). */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** The last 20 kB of its output. */
  log(): string;
  /** Every complete line of its output so far (only with `keepLines`). */
  lines(): string[];
}

export function startTwillNode(hostNs: string, nodeName: string, datastore: string, extra: string[] = [], opts: { keepLines?: boolean } = {}): TwillNodeProcess {
  if (!existsSync(TWILL_NODE_MAIN)) throw new Error(`${TWILL_NODE_MAIN} is missing: run "npm run build" first`);
  // No CNI server unless a test asks for one (--cni-socket PATH): parallel tests' agents must not
  // contend for the machine's /run/twill/cni.sock.
  const cni = extra.includes('--cni-socket') ? [] : ['--cni-socket', ''];
  const p = spawn('ip', ['netns', 'exec', hostNs, process.execPath, TWILL_NODE_MAIN, '--node-name', nodeName, '--datastore', datastore, '--health-port', '0', ...cni, ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const lines: string[] = [];
  const partial = { stdout: '', stderr: '' };
  const keepFrom = (stream: 'stdout' | 'stderr') => (x: Buffer): void => {
    out = (out + x.toString()).slice(-20_000);
    if (!opts.keepLines) return;
    const parts = (partial[stream] + x.toString()).split('\n');
    partial[stream] = parts.pop() ?? '';
    lines.push(...parts);
  };
  p.stdout?.on('data', keepFrom('stdout'));
  p.stderr?.on('data', keepFrom('stderr'));
  const exited = new Promise<number | null>((res) => p.once('exit', (code) => res(code)));
  return {
    pid: p.pid ?? -1,
    exited,
    kill: (signal) => {
      if (p.exitCode === null && p.signalCode === null) p.kill(signal);
    },
    log: () => out,
    lines: () => lines.slice(),
    stop: () =>
      new Promise((res) => {
        if (p.exitCode !== null || p.signalCode !== null) return res(p.exitCode);
        p.once('exit', (code) => res(code));
        p.kill('SIGTERM');
      }),
  };
}

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** kns.default allowing everything both ways: where each felix privileged test starts from. */
export const ALLOW_ALL_PROFILE: ProfileResource = {
  apiVersion: 'twill.io/v1',
  kind: 'Profile',
  metadata: { name: 'kns.default' },
  spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
};

/** A host namespace (loopback up) with etcd reachable on its loopback, and a datastore client. */
export interface FelixHost {
  etcd: EtcdServer;
  ds: Datastore;
  /** The host namespace's name (run twill-node there). */
  host: string;
  /** Stops the agent (printing its log with TW_DEBUG), the servers, the bridge, the datastore and etcd. */
  stop(agent: TwillNodeProcess | undefined, servers: Servers): Promise<void>;
}

export async function startFelixHost(pool: NetnsPool): Promise<FelixHost> {
  const etcd = await startEtcd();
  let ds: Datastore | undefined;
  let bridge: Bridge | undefined;
  try {
    ds = await openDatastore(etcd.url);
    const host = pool.create('h');
    ipIn(host, ['link', 'set', 'lo', 'up']);
    // The agent runs inside the host namespace: give it etcd on that namespace's loopback.
    bridge = await bridgePortIntoNetns(host, Number(new URL(etcd.endpoint).port));
    const b = bridge;
    const store = ds;
    return {
      etcd,
      ds,
      host,
      stop: async (agent, servers) => {
        if (process.env.TW_DEBUG) process.stderr.write(`--- twill-node log ---\n${agent?.log() ?? ''}\n`);
        await agent?.stop();
        servers.stopAll();
        b.stop();
        await store.close();
        await etcd.destroy();
      },
    };
  } catch (e) {
    bridge?.stop();
    await ds?.close();
    await etcd.destroy();
    throw e;
  }
}

/** The WorkloadEndpoint of an IPv4 workload in namespace default, with profile kns.default. */
export function workloadEndpoint(name: string, w: Workload, labels: Record<string, string>, node = 'host1'): WorkloadEndpointResource {
  return {
    apiVersion: 'twill.io/v1',
    kind: 'WorkloadEndpoint',
    metadata: { name, namespace: 'default', labels },
    spec: { node, interfaceName: w.iface, ipNetworks: [`${w.ip}/32`], profiles: ['kns.default'] },
  };
}
