// `twillctl verify` end to end: the built twill-node in a host namespace (file datastore, two
// workloads plumbed as the CNI plugin does, a profile whose selector makes an ipset), asked by the
// built twillctl. A healthy node: "no differences", exit 0. Then a route deleted by hand, an ipset
// member removed by hand and a sysctl changed by hand are each reported by name (exit 1); the
// agent is left to repair them on its own schedule (verify writes nothing: the member and the
// sysctl are still wrong after verify ran).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProfileResource, WorkloadEndpointResource } from '../../../src/api/types.js';
import { openDatastore } from '../../../src/datastore/index.js';
import type { NodeVerifyReport } from '../../../src/nodeapi/types.js';
import { missing, uniquePrefix } from '../../support/env.js';
import { NetnsPool, ipIn, nsExec } from '../../support/netns.js';
import { addWorkload, type Workload } from '../../support/workload.js';
import { startTwillNode, waitFor, type TwillNodeProcess } from '../felix/harness.js';

const TWILLCTL_MAIN = resolve(__dirname, '../../../dist/src/cli/main.js');
const reason = missing({ root: true, tools: ['ip', 'iptables-restore', 'ipset'] });

describe.skipIf(reason)('twillctl verify (privileged: the built twill-node and twillctl, netns, iptables, ipset)', () => {
  const prefix = uniquePrefix('vf');
  const pool = new NetnsPool(prefix);
  let dir: string;
  let sock: string;
  let host: string;
  let a: Workload;
  let b: Workload;
  let agent: TwillNodeProcess | undefined;

  const twillctl = (args: string[]): { code: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, [TWILLCTL_MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const verifyJson = (): NodeVerifyReport & { code: number | null } => {
    const r = twillctl(['verify', '--api-socket', sock, '-o', 'json']);
    const j = JSON.parse(r.stdout) as { nodes: NodeVerifyReport[] };
    return { ...j.nodes[0]!, code: r.code };
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twill-verify-'));
    chmodSync(dir, 0o755);
    sock = join(dir, 'run', 'host1.sock');
    host = pool.create('h');
    ipIn(host, ['link', 'set', 'lo', 'up']);
    // The node's own address, on a link to a neighbour namespace (no BGP peer there).
    const far = pool.create('f');
    ipIn(host, ['link', 'add', `${prefix}e0`, 'type', 'veth', 'peer', 'name', `${prefix}p0`, 'netns', far]);
    ipIn(host, ['addr', 'add', '198.18.0.10/24', 'dev', `${prefix}e0`]);
    ipIn(host, ['link', 'set', `${prefix}e0`, 'up']);
    a = await addWorkload(pool, host, 'a', '10.65.0.1');
    b = await addWorkload(pool, host, 'b', '10.65.0.2');
    // The file datastore is the agent's alone while it runs: write everything first.
    const store = `file:${join(dir, 'store.json')}`;
    const ds = await openDatastore(store);
    const profile: ProfileResource = {
      apiVersion: 'twill.io/v1',
      kind: 'Profile',
      metadata: { name: 'kns.default' },
      spec: { ingress: [{ action: 'Allow', source: { selector: "role == 'client'" } }], egress: [{ action: 'Allow' }] },
    };
    await ds.create(profile);
    for (const [name, w, role] of [['a', a, 'client'], ['b', b, 'server']] as const) {
      const wep: WorkloadEndpointResource = {
        apiVersion: 'twill.io/v1',
        kind: 'WorkloadEndpoint',
        metadata: { name, namespace: 'default', labels: { role } },
        spec: { node: 'host1', interfaceName: w.iface, ipNetworks: [`${w.ip}/32`], profiles: ['kns.default'] },
      };
      await ds.create(wep);
    }
    await ds.close();
    agent = startTwillNode(host, 'host1', store, ['--node-ip', '198.18.0.10/24', '--api-socket', sock]);
  });

  afterAll(async () => {
    if (process.env.TW_DEBUG) process.stderr.write(`--- twill-node log ---\n${agent?.log() ?? ''}\n`);
    await agent?.stop();
    pool.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a healthy node: no differences, exit 0', async () => {
    // Programmed: both routes in the kernel (the agent writes them only after its first in-sync).
    await waitFor('the agent answers and has programmed both workloads', () => {
      if (agent && agent.log().includes('cannot start')) throw new Error(agent.log());
      const r = twillctl(['node', 'status', '--api-socket', sock, '-o', 'json']);
      return r.code === 0 && (JSON.parse(r.stdout) as { status: { policy: { ready: boolean; programmedEndpoints: number } } }).status.policy.programmedEndpoints === 2;
    }, 60_000);
    const r = twillctl(['verify', '--api-socket', sock]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^node host1: no differences \(checked 2 routes, \d+ chains, \d+ ipsets \(1 members\), 2 interfaces \(\d+ sysctls\), 0 BGP sessions, 0 BGP routes\)\.\n/);
    expect(r.code).toBe(0);
  });

  it('reports a route deleted, an ipset member removed and a sysctl changed by hand, each by name; exit 1', () => {
    const sets = nsExec(host, ['ipset', 'list', '-n']).stdout.split('\n').filter((n) => n.startsWith('tw4-'));
    const clients = sets.find((s) => nsExec(host, ['ipset', 'test', s, a.ip]).code === 0);
    expect(clients).toBeDefined();
    ipIn(host, ['route', 'del', `${b.ip}/32`, 'proto', '84']);
    ipIn(host, ['route', 'show', `${b.ip}/32`]); // (the agent may already have put it back: verify says so)
    expect(nsExec(host, ['ipset', 'del', clients!, a.ip]).code).toBe(0);
    expect(nsExec(host, ['sysctl', '-w', `net.ipv4.conf.${b.iface}.proxy_arp=0`]).code).toBe(0);

    const v = verifyJson();
    expect(v.code).toBe(1);
    const byName = (kind: string, object: string) => v.differences.find((d) => d.kind === kind && d.object === object);
    // The route: missing now, or — the agent's netlink monitor puts it back at once — reported as a change it saw and undid.
    expect(byName('route', `${b.ip}/32`)).toMatchObject({ expected: `dev ${b.iface} scope link` });
    expect(byName('ipset-member', `${clients!} ${a.ip}`)).toMatchObject({ expected: 'member', actual: 'absent' });
    expect(byName('sysctl', `net/ipv4/conf/${b.iface}/proxy_arp`)).toMatchObject({ expected: '1', actual: '0' });
    expect(v.differences).toHaveLength(3);

    // The table a person reads names each one.
    const t = twillctl(['verify', '--api-socket', sock]);
    if (process.env.TW_DEBUG) process.stderr.write(t.stdout);
    expect(t.code).toBe(1);
    expect(t.stdout).toMatch(new RegExp(`^route +${b.ip.replace(/\./g, '\\.')}/32 +dev ${b.iface} scope link +`, 'm'));
    expect(t.stdout).toMatch(new RegExp(`^ipset-member +${clients!} ${a.ip.replace(/\./g, '\\.')} +member +absent$`, 'm'));
    expect(t.stdout).toMatch(new RegExp(`^sysctl +net/ipv4/conf/${b.iface}/proxy_arp +1 +0$`, 'm'));
    // verify repaired nothing.
    expect(nsExec(host, ['ipset', 'test', clients!, a.ip]).code).not.toBe(0);
    expect(nsExec(host, ['cat', `/proc/sys/net/ipv4/conf/${b.iface}/proxy_arp`]).stdout.trim()).toBe('0');
  });

  it('an agent that is not there: a clear error naming the socket, exit 3', () => {
    const r = twillctl(['verify', '--api-socket', join(dir, 'run', 'nobody.sock')]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`no twill-node agent answers on ${join(dir, 'run', 'nobody.sock')}`);
  });
});
