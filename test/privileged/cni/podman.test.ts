// A real runtime drives twill-cni: podman 4.3 (Debian; its CNI backend) runs busybox-static
// containers on a Twill network inside a host namespace running the built twill-node, with the
// plugin installed by `twill-cni install`. They get Twill addresses and policy; `podman rm`
// releases everything.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, type WorkloadEndpointResource } from '../../../src/api/types.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';
import { missing, uniquePrefix } from '../../support/env.js';
import { startEtcd, type EtcdServer } from '../../support/etcd.js';
import { NetnsPool, ipIn } from '../../support/netns.js';
import { bridgePortIntoNetns, type Bridge } from '../../support/netns-bridge.js';
import { startTwillNode, type TwillNodeProcess } from '../felix/harness.js';
import { TWILL_CNI, assertBuilt, run, twillctl } from './harness.js';

const reason = missing({ root: true, tools: ['etcd', 'podman', 'runc', 'busybox', 'nsenter', 'socat', 'iptables-restore', 'ipset'] });

describe.skipIf(reason)('podman runs containers on a Twill network (privileged)', () => {
  const pool = new NetnsPool(uniquePrefix('pm'));
  let etcd: EtcdServer;
  let ds: Datastore;
  let host: string;
  let node: TwillNodeProcess | undefined;
  let bridge: Bridge | undefined;
  let dir: string;
  let rootfs: string;
  const names: string[] = [];

  const podman = (...args: string[]): { code: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(
      'nsenter',
      [
        `--net=/run/netns/${host}`,
        'podman',
        '--root', join(dir, 'storage'),
        '--runroot', join(dir, 'run'),
        '--runtime', 'runc',
        '--cgroup-manager=cgroupfs',
        '--events-backend=file',
        '--network-config-dir', join(dir, 'net.d'),
        ...args,
      ],
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, CONTAINERS_CONF: join(dir, 'containers.conf'), TMPDIR: join(dir, 'tmp') } },
    );
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  };
  /** An HTTP request from container `from` to ip:8080 (busybox nc): true when any HTTP answer came back. */
  const http = (from: string, ip: string): boolean =>
    podman('exec', from, '/bin/sh', '-c', `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${ip} 8080`).stdout.includes('HTTP/1');
  const start = (name: string, labels: string[] = []): string => {
    names.push(name);
    const r = podman('run', '-d', '--name', name, '--network', 'twpod', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024',
      ...labels.flatMap((l) => ['--label', l]), '--rootfs', rootfs, '/bin/sh', '-c', 'httpd -p 8080 -h /; sleep 3600');
    expect(r.code, r.stderr).toBe(0);
    const ipr = podman('exec', name, '/bin/ip', '-4', '-o', 'addr', 'show', 'eth0');
    expect(ipr.code, ipr.stderr).toBe(0);
    const m = /inet (\d+\.\d+\.\d+\.\d+)\/32/.exec(ipr.stdout);
    expect(m, ipr.stdout).not.toBeNull();
    return m![1] as string;
  };

  beforeAll(async () => {
    assertBuilt();
    dir = mkdtempSync(join(tmpdir(), 'twill-podman-'));
    for (const d of ['storage', 'run', 'bin', 'net.d', 'tmp']) mkdirSync(join(dir, d));
    rootfs = join(dir, 'rootfs');
    for (const d of ['bin', 'proc', 'sys', 'dev', 'etc', 'tmp', 'run']) mkdirSync(join(rootfs, d), { recursive: true });
    spawnSync('cp', ['/bin/busybox', join(rootfs, 'bin/busybox')]);
    for (const app of ['sh', 'sleep', 'ping', 'ip', 'httpd', 'cat', 'nc', 'printf']) symlinkSync('busybox', join(rootfs, 'bin', app));
    etcd = await startEtcd();
    ds = await openDatastore(etcd.url);
    host = pool.create('h');
    ipIn(host, ['link', 'set', 'lo', 'up']);
    bridge = await bridgePortIntoNetns(host, Number(new URL(etcd.endpoint).port));
    await ds.create({ apiVersion: API_VERSION, kind: 'IPPool', metadata: { name: 'pods' }, spec: { cidr: '10.74.0.0/24', blockSize: 28 } });
    await ds.create({ apiVersion: API_VERSION, kind: 'Node', metadata: { name: 'host1' }, spec: {} });
    // twill-node serves the CNI calls on its socket (named in the conflist: tests share /run/twill).
    node = startTwillNode(host, 'host1', etcd.url, ['--health-port', '9099', '--metrics-port', '9099', '--cni-socket', join(dir, 'run', 'cni.sock')]);
    // Installed the documented way.
    const inst = await run(
      [process.execPath, TWILL_CNI, 'install', '--bin-dir', join(dir, 'bin'), '--conf-dir', join(dir, 'net.d'), '--datastore', etcd.url, '--nodename', 'host1', '--name', 'twpod', '--socket', join(dir, 'run', 'cni.sock')],
      {},
      '',
    );
    expect(inst.code, inst.stderr).toBe(0);
    for (let i = 0; i < 100 && !existsSync(join(dir, 'run', 'cni.sock')); i++) await new Promise((r) => setTimeout(r, 100));
    // The plugin podman runs is the sh client (src/cni/thin-client.sh).
    expect(readFileSync(join(dir, 'bin', 'twill-cni'), 'utf8')).toContain('TWILL-CNI-SH/1');
    writeFileSync(
      join(dir, 'containers.conf'),
      `[network]\nnetwork_backend = "cni"\ncni_plugin_dirs = ["${join(dir, 'bin')}", "/usr/lib/cni"]\nnetwork_config_dir = "${join(dir, 'net.d')}"\n[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\nruntime = "runc"\n`,
    );
  });

  afterAll(async () => {
    if (process.env.TW_DEBUG) process.stderr.write(`--- twill-node log ---\n${node?.log() ?? ''}\n`);
    if (host && dir) for (const n of names) podman('rm', '-f', '-t', '0', n);
    await node?.stop();
    bridge?.stop();
    pool.cleanup();
    await ds?.close();
    await etcd?.destroy();
    if (dir) {
      spawnSync('umount', ['-R', join(dir, 'storage')], { stdio: 'ignore' });
      spawnSync('umount', ['-R', join(dir, 'run')], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('containers get Twill addresses, reach each other, are policed, and podman rm releases everything', async () => {
    // podman runs synchronously (spawnSync) and blocks this process for longer than gRPC's
    // keepalive timeout, which drops a connection held across it: each check opens its own.
    const withStore = async <T>(fn: (d: Datastore) => Promise<T>): Promise<T> => {
      const d = await openDatastore(etcd.url);
      try {
        return await fn(d);
      } finally {
        await d.close();
      }
    };
    const ipA = start('twa');
    const ipB = start('twb');
    expect(ipA).toMatch(/^10\.74\.0\./);
    expect(ipB).toMatch(/^10\.74\.0\./);
    const eps = (await withStore((d) => d.list<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint' }))).items;
    expect(eps.map((e) => e.spec.ipNetworks[0]).sort()).toEqual([`${ipA}/32`, `${ipB}/32`].sort());
    expect(eps.every((e) => e.status?.programmed === true)).toBe(true);
    expect(podman('exec', 'twa', '/bin/ping', '-c', '1', '-W', '2', ipB).code).toBe(0);
    expect(http('twa', ipB)).toBe(true);
    // Policy: a deny on b's port 8080 from the network's other members.
    await withStore((d) =>
      d.create({
        apiVersion: API_VERSION,
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'no-http' },
        spec: { order: 1, selector: 'all()', types: ['Ingress'], ingress: [{ action: 'Deny', protocol: 'TCP', destination: { ports: [8080] } }, { action: 'Pass' }] },
      }),
    );
    let denied = false;
    for (let i = 0; i < 50 && !denied; i++) {
      denied = !http('twa', ipB);
      if (!denied) await new Promise((r) => setTimeout(r, 200));
    }
    expect(denied).toBe(true);
    expect(podman('exec', 'twa', '/bin/ping', '-c', '1', '-W', '2', ipB).code).toBe(0);
    // podman rm: endpoint, veth and addresses are gone.
    for (const n of ['twa', 'twb']) expect(podman('rm', '-f', '-t', '0', n).code).toBe(0);
    names.length = 0;
    expect((await withStore((d) => d.list({ kind: 'WorkloadEndpoint' }))).items).toEqual([]);
    expect(ipIn(host, ['-o', 'link'])).not.toMatch(/ tw[0-9a-f]{13}/);
    const check = await twillctl(etcd.url, 'ipam', 'check', '--grace', '0s');
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const show = await twillctl(etcd.url, 'ipam', 'show', '-o', 'json');
    expect(show.stdout).not.toMatch(/"inUse":\s*[1-9]/);
    // Every ADD and DEL podman made went to twill-node through the sh client (none in-process).
    const metrics = spawnSync('ip', ['netns', 'exec', host, 'curl', '-s', 'http://127.0.0.1:9099/metrics'], { encoding: 'utf8' }).stdout;
    const served = (command: string): number => Number(new RegExp(`^twill_cni_calls_total\\{command="${command}",result="ok"\\} (\\d+)`, 'm').exec(metrics)?.[1] ?? 0);
    expect(served('ADD')).toBe(2);
    expect(served('DEL')).toBeGreaterThanOrEqual(2);
  });
});
