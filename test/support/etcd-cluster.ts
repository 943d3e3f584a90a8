// A real 3-member etcd cluster (Debian's etcd-server) on loopback, TLS for clients and peers,
// client certificates required. Members are killed and started by PID, never by name; each keeps
// its ports and data dir across restarts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort } from './etcd.js';
import type { TestPki } from './pki.js';

export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly alive: boolean;
  /** SIGKILL; resolves once the process is gone. */
  kill(): Promise<void>;
  /** Starts it again (same ports, same data); resolves when it answers as part of the cluster. */
  start(): Promise<void>;
}

export interface EtcdCluster {
  /** Twill datastore URL naming all members, e.g. "etcd://127.0.0.1:1,127.0.0.1:2,127.0.0.1:3". */
  readonly url: string;
  /** The TLS files a client needs (the `DatastoreOptions` / `--etcd-*` values). */
  readonly tls: { etcdCa: string; etcdCert: string; etcdKey: string };
  readonly members: readonly EtcdMember[];
  /** The member that leads now (asks every live member; throws when none knows). */
  leader(): Promise<EtcdMember>;
  /** Compacts the history up to the current revision (needs quorum). */
  compact(): Promise<void>;
  /** Kills every member and removes the data. */
  destroy(): Promise<void>;
}

export async function startEtcdCluster(pki: TestPki, dir: string): Promise<EtcdCluster> {
  const names = ['m1', 'm2', 'm3'];
  const ports = await Promise.all(names.map(async () => ({ client: await freePort(), peer: await freePort() })));
  const initialCluster = names.map((n, i) => `${n}=https://127.0.0.1:${ports[i]!.peer}`).join(',');
  const tls = { etcdCa: pki.ca, etcdCert: pki.client.cert, etcdKey: pki.client.key };
  const credentials = { rootCertificate: readFileSync(pki.ca), certChain: readFileSync(pki.client.cert), privateKey: readFileSync(pki.client.key) };
  const client = (port: number): Etcd3 =>
    new Etcd3({
      hosts: `https://127.0.0.1:${port}`,
      credentials,
      defaultCallOptions: () => ({ deadline: Date.now() + 2000 }),
    });

  const members = names.map((name, i) => {
    const { client: clientPort, peer } = ports[i]!;
    const dataDir = join(dir, name);
    mkdirSync(dataDir, { recursive: true });
    let proc: ChildProcess | undefined;
    let started = false;
    let output = '';
    const alive = (): boolean => proc !== undefined && proc.exitCode === null && proc.signalCode === null;
    const m: EtcdMember & { spawn(): void; output(): string; id?: string } = {
      name,
      clientPort,
      output: () => output,
      get alive() {
        return alive();
      },
      spawn() {
        output = '';
        proc = spawn(
          'etcd',
          [
            '--name', name, '--data-dir', dataDir, '--log-level', 'error',
            '--listen-client-urls', `https://127.0.0.1:${clientPort}`, '--advertise-client-urls', `https://127.0.0.1:${clientPort}`,
            '--listen-peer-urls', `https://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `https://127.0.0.1:${peer}`,
            '--initial-cluster', initialCluster, '--initial-cluster-state', started ? 'existing' : 'new', '--initial-cluster-token', `twill-${process.pid}`,
            '--cert-file', pki.server.cert, '--key-file', pki.server.key, '--trusted-ca-file', pki.ca, '--client-cert-auth',
            '--peer-cert-file', pki.server.cert, '--peer-key-file', pki.server.key, '--peer-trusted-ca-file', pki.ca, '--peer-client-cert-auth',
            // Quick elections, so a killed leader is replaced within a second or two.
            '--heartbeat-interval', '100', '--election-timeout', '1000',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        proc.stdout?.on('data', (d: Buffer) => void (output = (output + d.toString()).slice(-4000)));
        proc.stderr?.on('data', (d: Buffer) => void (output = (output + d.toString()).slice(-4000)));
        started = true;
      },
      async kill() {
        const p = proc;
        if (!p || !alive()) return;
        await new Promise<void>((resolve) => {
          p.once('exit', () => resolve());
          p.kill('SIGKILL');
        });
      },
      async start() {
        if (alive()) return;
        m.spawn();
        await waitAnswering(() => client(clientPort), () => `${name}: ${proc?.exitCode !== null ? `exited ${proc?.exitCode}` : 'running'}\n${output}`);
      },
    };
    return m;
  });

  // All three at once: each waits for the others to form the cluster.
  for (const m of members) m.spawn();
  await Promise.all(members.map((m) => waitAnswering(() => client(m.clientPort), () => `${m.name} did not join (${m.alive ? 'running' : 'exited'}):\n${m.output()}`)));

  const cluster: EtcdCluster = {
    url: `etcd://${members.map((m) => `127.0.0.1:${m.clientPort}`).join(',')}`,
    tls,
    members,
    async leader() {
      for (const m of members) {
        if (!m.alive) continue;
        const c = client(m.clientPort);
        try {
          const st = await c.maintenance.status();
          // The member whose own id is the leader's id.
          if (st.header.member_id === st.leader) return m;
        } catch {
          /* try the next */
        } finally {
          c.close();
        }
      }
      throw new Error('no live member says it leads');
    },
    async compact() {
      const m = members.find((x) => x.alive);
      if (!m) throw new Error('no live member to compact');
      const c = client(m.clientPort);
      try {
        const st = await c.maintenance.status();
        await c.kv.compact({ revision: st.header.revision, physical: true });
      } finally {
        c.close();
      }
    },
    async destroy() {
      await Promise.all(members.map((m) => m.kill()));
      for (const name of names) rmSync(join(dir, name), { recursive: true, force: true });
    },
  };
  return cluster;
}

/**
 * Until the member answers a linearizable read (so it is part of a cluster with quorum). A fresh
 * client per try: etcd3's default circuit breaker would refuse calls for 5 s after a few misses.
 */
async function waitAnswering(make: () => Etcd3, why: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = make();
    try {
      await c.get('twill-test/ping').string();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`etcd member did not answer within ${timeoutMs / 1000} s: ${String(e)}\n${why()}`);
      await new Promise((r) => setTimeout(r, 200));
    } finally {
      c.close();
    }
  }
}
