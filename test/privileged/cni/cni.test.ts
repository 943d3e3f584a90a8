// twill-cni end to end on one host: real etcd, the built twill-node in a host namespace, the built
// plugin called exactly as a runtime calls it (env + stdin, inside the host namespace), containers
// as namespaces, real traffic.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, type GlobalNetworkPolicyResource, type WorkloadEndpointResource } from '../../../src/api/types.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';
import { workloadIface } from '../../../src/workload/index.js';
import { missing, uniquePrefix } from '../../support/env.js';
import { startEtcd, type EtcdServer } from '../../support/etcd.js';
import { NetnsPool, ipIn, nsExec } from '../../support/netns.js';
import { bridgePortIntoNetns, type Bridge } from '../../support/netns-bridge.js';
import { Servers, ping, tcp, type Workload } from '../../support/workload.js';
import { startTwillNode, waitFor, type TwillNodeProcess } from '../felix/harness.js';
import { TWILL_CNI, assertBuilt, chainAdd, chainDel, cniEnv, run, twillCni, twillctl, type ConfList, type Proc } from './harness.js';

const reason = missing({ root: true, tools: ['etcd', 'iptables-restore', 'ipset', 'ip', 'socat', 'ping', 'nsenter', 'curl'] });

interface Result {
  cniVersion: string;
  interfaces: { name: string; mac?: string; sandbox?: string }[];
  ips: { address: string; gateway?: string; interface?: number }[];
  routes: { dst: string; gw?: string }[];
}

describe.skipIf(reason)('twill-cni (privileged: etcd, twill-node, netns, real traffic)', () => {
  const pool = new NetnsPool(uniquePrefix('cn'));
  const servers = new Servers();
  let etcd: EtcdServer;
  let ds: Datastore;
  let host: string;
  let node: TwillNodeProcess | undefined;
  let bridge: Bridge | undefined;
  // twill-node serves the CNI calls (the product path) on its socket, named in every configuration.
  const cniDir = mkdtempSync(join(tmpdir(), 'twill-cni-node-'));
  const nodeSocket = join(cniDir, 'cni.sock');
  const netconf = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    cniVersion: '1.0.0',
    name: 'twnet',
    type: 'twill-cni',
    datastore: etcd.url,
    nodename: 'host1',
    socket: nodeSocket,
    // Generous: a loaded CI machine (other test files in parallel) can starve twill-node for
    // seconds; ADD still returns only once the policy is programmed.
    policySetupTimeout: 30,
    ...extra,
  });
  const cid = (tag: string): string => `${pool.prefix}-${tag}-0123456789abcdef`;
  const add = (tag: string, conf = netconf(), args?: string): Promise<Proc> =>
    twillCni(host, { command: 'ADD', containerID: cid(tag), netns: `/run/netns/${pool.prefix}-${tag}`, ifname: 'eth0', ...(args ? { args } : {}) }, conf);
  const del = (tag: string, conf = netconf()): Promise<Proc> =>
    twillCni(host, { command: 'DEL', containerID: cid(tag), netns: `/run/netns/${pool.prefix}-${tag}`, ifname: 'eth0' }, conf);
  const workload = (tag: string, r: Proc): Workload => {
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as Result;
    return { ns: `${pool.prefix}-${tag}`, iface: res.interfaces[0]!.name, ip: res.ips[0]!.address.replace(/\/32$/, '') };
  };
  const endpoints = async (): Promise<WorkloadEndpointResource[]> => (await ds.list<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint' })).items;
  const hostLinks = (): string => ipIn(host, ['-o', 'link']);
  const ipamCheck = async (): Promise<Proc> => twillctl(etcd.url, 'ipam', 'check', '--grace', '0s');
  const cniError = (r: Proc): { code: number; msg: string; details?: string } => {
    expect(r.code).not.toBe(0);
    return JSON.parse(r.stdout) as { code: number; msg: string };
  };

  beforeAll(async () => {
    assertBuilt();
    etcd = await startEtcd();
    ds = await openDatastore(etcd.url);
    host = pool.create('h');
    ipIn(host, ['link', 'set', 'lo', 'up']);
    bridge = await bridgePortIntoNetns(host, Number(new URL(etcd.endpoint).port));
    await ds.create({ apiVersion: API_VERSION, kind: 'IPPool', metadata: { name: 'main' }, spec: { cidr: '10.70.0.0/24', blockSize: 28 } });
    await ds.create({ apiVersion: API_VERSION, kind: 'IPPool', metadata: { name: 'tiny' }, spec: { cidr: '10.71.0.0/31', blockSize: 31 } });
    await ds.create({ apiVersion: API_VERSION, kind: 'Node', metadata: { name: 'host1' }, spec: {} });
    node = startTwillNode(host, 'host1', etcd.url, ['--health-port', '9099', '--metrics-port', '9099', '--refresh-interval', '5s', '--cni-socket', nodeSocket]);
    await waitFor('twill-node serving CNI calls', () => existsSync(nodeSocket));
  });

  afterAll(async () => {
    if (process.env.TW_DEBUG) process.stderr.write(`--- twill-node log ---\n${node?.log() ?? ''}\n`);
    await node?.stop();
    servers.stopAll();
    bridge?.stop();
    pool.cleanup();
    await ds?.close();
    await etcd?.destroy();
    rmSync(cniDir, { recursive: true, force: true });
  });

  /** twill-node's count of CNI calls it served (twill_cni_calls_total). */
  const servedByNode = (command: string): number => {
    const m = nsExec(host, ['curl', '-s', 'http://127.0.0.1:9099/metrics']).stdout;
    return Number(new RegExp(`^twill_cni_calls_total\\{command="${command}",result="ok"\\} (\\d+)`, 'm').exec(m)?.[1] ?? 0);
  };

  let a: Workload;
  let b: Workload;

  it('ADD wires two containers the Calico way; they reach each other as soon as ADD returns', async () => {
    pool.create('a');
    pool.create('b');
    const ra = await add('a');
    a = workload('a', ra);
    const res = JSON.parse(ra.stdout) as Result;
    expect(res.cniVersion).toBe('1.0.0');
    expect(res.interfaces[0]).toEqual({ name: workloadIface(cid('a')), mac: 'ee:ee:ee:ee:ee:ee' });
    expect(res.interfaces[1]).toMatchObject({ name: 'eth0', sandbox: `/run/netns/${pool.prefix}-a` });
    expect(res.ips).toEqual([{ address: expect.stringMatching(/^10\.70\.0\.\d+\/32$/), gateway: '169.254.1.1', interface: 1 }]);
    expect(res.routes).toEqual([{ dst: '0.0.0.0/0', gw: '169.254.1.1' }]);
    b = workload('b', await add('b'));
    servers.tcp(b, 8080);
    servers.tcp(a, 8080);
    // Policy and routes are programmed before ADD returns: the very first packets get through.
    expect(ping(a, b.ip)).toBe(true);
    expect(ping(b, a.ip)).toBe(true);
    await waitFor('server in b listening', () => tcp(a, b.ip, 8080));
    // The host side: Calico's shape.
    const link = ipIn(host, ['link', 'show', a.iface]);
    expect(link).toContain('link/ether ee:ee:ee:ee:ee:ee');
    expect(nsExec(host, ['cat', `/proc/sys/net/ipv4/conf/${a.iface}/proxy_arp`]).stdout.trim()).toBe('1');
    // The container side.
    expect(ipIn(a.ns, ['-4', 'addr', 'show', 'eth0'])).toContain(`inet ${a.ip}/32`);
    expect(ipIn(a.ns, ['route'])).toMatch(/^default via 169\.254\.1\.1 dev eth0/m);
    expect(ipIn(a.ns, ['neigh', 'show', '169.254.1.1'])).toMatch(/lladdr ee:ee:ee:ee:ee:ee PERMANENT/);
    // The endpoint, named the Calico way, programmed, with the network's profile.
    const w = (await endpoints()).find((e) => e.spec.containerID === cid('a'));
    expect(w?.metadata.name).toBe(`host1-cni-${cid('a').replace(/-/g, '--')}-eth0`);
    expect(w?.spec).toMatchObject({ node: 'host1', interfaceName: a.iface, ipNetworks: [`${a.ip}/32`], profiles: ['twnet'] });
    expect(w?.status?.programmed).toBe(true);
    expect(await ds.get({ kind: 'Profile', name: 'twnet' })).toBeDefined();
  });

  it('twill-node serves the calls itself (no twill-cni serve): counted in its metrics, policy in place when ADD returns', async () => {
    const adds = servedByNode('ADD');
    const dels = servedByNode('DEL');
    pool.create('n');
    const n = workload('n', await add('n'));
    // Learnt in-process from the dataplane, and still: the first packets get through...
    expect(ping(n, a.ip)).toBe(true);
    expect(ping(a, n.ip)).toBe(true);
    expect(servedByNode('ADD')).toBe(adds + 1);
    // ...and the status twill-node writes says the same spec is programmed.
    await waitFor('status written', async () => (await endpoints()).find((e) => e.spec.containerID === cid('n'))?.status?.programmed === true);
    expect((await del('n')).code).toBe(0);
    expect(servedByNode('DEL')).toBe(dels + 1);
    expect(hostLinks()).not.toContain(n.iface);
    // A call reaching this server through the default socket from another network namespace
    // (here: the test's own) is not served: the veth must be made where the client runs. Nor is
    // an ADD whose container namespace the server cannot see. The client then runs them itself.
    const raw = (req: Record<string, unknown>): Promise<string> =>
      new Promise<string>((resolve, reject) => {
        const c = connect(nodeSocket);
        let buf = '';
        c.on('data', (d: Buffer) => (buf += d.toString()));
        c.on('error', reject);
        c.on('close', () => resolve(buf));
        c.end(JSON.stringify(req));
      });
    const me = readlinkSync('/proc/self/ns/net');
    const version = { env: cniEnv({ command: 'VERSION' }), stdin: '{}' };
    expect(JSON.parse(await raw({ ...version, netns: me, explicit: false }))).toMatchObject({ exitCode: -1, notServed: expect.stringContaining('this server in net:[') });
    expect(JSON.parse(await raw({ ...version, netns: me, explicit: true }))).toMatchObject({ exitCode: 0 });
    const unseen = { env: cniEnv({ command: 'ADD', containerID: cid('u'), netns: '/run/netns/not-visible-here', ifname: 'eth0' }), stdin: JSON.stringify(netconf()), explicit: true };
    expect(JSON.parse(await raw(unseen))).toMatchObject({ exitCode: -1, notServed: expect.stringContaining('not visible') });
  });

  it('policy denies what it should from the first packet; another network is kept out', async () => {
    const deny: GlobalNetworkPolicyResource = {
      apiVersion: API_VERSION,
      kind: 'GlobalNetworkPolicy',
      metadata: { name: 'locked-in' },
      spec: { selector: "role == 'locked'", types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [9090] } }] },
    };
    await ds.create(deny);
    pool.create('l');
    const l = workload('l', await add('l', netconf({ args: { cni: { labels: [{ key: 'role', value: 'locked' }] } } })));
    servers.tcp(l, 8080);
    servers.tcp(l, 9090);
    await waitFor('server in l listening', () => tcp(a, l.ip, 9090));
    expect(tcp(a, l.ip, 8080)).toBe(false);
    expect(ping(a, l.ip)).toBe(false);
    // Another network: its containers reach nobody in twnet, and are reached by nobody there.
    pool.create('o');
    const o = workload('o', await add('o', netconf({ name: 'other' })));
    expect(ping(o, a.ip)).toBe(false);
    expect(tcp(o, a.ip, 8080)).toBe(false);
    expect(ping(a, o.ip)).toBe(false);
    expect(ping(a, b.ip)).toBe(true);
    expect((await del('o', netconf({ name: 'other' }))).code).toBe(0);
    expect((await del('l')).code).toBe(0);
    await ds.delete({ kind: 'GlobalNetworkPolicy', name: 'locked-in' });
  });

  it('CHECK passes on a wired container and names what is broken otherwise', async () => {
    const r = await add('a'); // a retried ADD returns the same wiring
    expect(workload('a', r).ip).toBe(a.ip);
    const prevResult = JSON.parse(r.stdout) as unknown;
    const check = (): Promise<Proc> => twillCni(host, { command: 'CHECK', containerID: cid('a'), netns: `/run/netns/${a.ns}`, ifname: 'eth0' }, netconf({ prevResult }));
    const ok = await check();
    expect(ok.code, ok.stdout).toBe(0);
    ipIn(a.ns, ['route', 'del', 'default']);
    const bad = cniError(await check());
    expect(bad.code).toBe(112);
    expect(bad.msg).toContain('container has no default route via 169.254.1.1 on eth0');
    ipIn(a.ns, ['route', 'add', 'default', 'via', '169.254.1.1', 'dev', 'eth0']);
    expect((await check()).code).toBe(0);
  });

  it('DEL leaves nothing behind and is idempotent: twice, netns gone, never seen', async () => {
    pool.create('d');
    const d = workload('d', await add('d'));
    expect(hostLinks()).toContain(d.iface);
    expect((await del('d')).code).toBe(0);
    expect(hostLinks()).not.toContain(d.iface);
    expect((await endpoints()).some((e) => e.spec.containerID === cid('d'))).toBe(false);
    expect((await del('d')).code).toBe(0);
    // The container's namespace is already gone.
    pool.create('g');
    const g = workload('g', await add('g'));
    pool.delete(`${pool.prefix}-g`);
    const rg = await del('g');
    expect(rg.code, rg.stdout).toBe(0);
    expect(hostLinks()).not.toContain(g.iface);
    // A container never seen.
    expect((await del('never')).code).toBe(0);
    const check = await ipamCheck();
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  it('GC frees the attachments that are not in cni.dev/valid-attachments', async () => {
    pool.create('k');
    pool.create('x');
    const k = workload('k', await add('k'));
    const x = workload('x', await add('x'));
    const valid = ['a', 'b', 'k'].map((t) => ({ containerID: cid(t), ifname: 'eth0' }));
    const r = await twillCni(host, { command: 'GC' }, netconf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': valid }));
    expect(r.code, r.stdout).toBe(0);
    expect(hostLinks()).toContain(k.iface);
    expect(hostLinks()).not.toContain(x.iface);
    const eps = await endpoints();
    expect(eps.map((e) => e.spec.containerID).sort()).toEqual([cid('a'), cid('b'), cid('k')].sort());
    expect(ping(k, a.ip)).toBe(true);
    const check = await ipamCheck();
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect((await del('k')).code).toBe(0);
  });

  it('STATUS: ready; code 50 while the datastore is unreachable or twill-node is not answering', async () => {
    const status = (conf: Record<string, unknown>): Promise<Proc> => twillCni(host, { command: 'STATUS' }, conf);
    expect((await status(netconf({ cniVersion: '1.1.0' }))).code).toBe(0);
    const down = cniError(await status(netconf({ cniVersion: '1.1.0', datastore: 'etcd://127.0.0.1:1' })));
    expect(down.code).toBe(50);
    expect(down.msg).toContain('datastore etcd://127.0.0.1:1 is unreachable');
    const noNode = cniError(await status(netconf({ cniVersion: '1.1.0', nodeHealth: 'http://127.0.0.1:1' })));
    expect(noNode.code).toBe(50);
    expect(noNode.msg).toContain('twill-node is not running');
  });

  it('bad input gets a CNI error with a clear message, a non-zero exit, and leaves nothing behind', async () => {
    const before = hostLinks();
    const eps = (await endpoints()).length;
    pool.create('e');
    const ns = `/run/netns/${pool.prefix}-e`;
    const malformed = cniError(await twillCni(host, { command: 'ADD', containerID: cid('e'), netns: ns, ifname: 'eth0' }, '{"cniVersion": '));
    expect(malformed.code).toBe(6);
    const noId = cniError(await twillCni(host, { command: 'ADD', netns: ns, ifname: 'eth0' }, netconf()));
    expect(noId).toMatchObject({ code: 4, msg: 'CNI_CONTAINERID is required for ADD' });
    const noIf = cniError(await twillCni(host, { command: 'ADD', containerID: cid('e'), netns: ns }, netconf()));
    expect(noIf).toMatchObject({ code: 4, msg: 'CNI_IFNAME is required for ADD' });
    const unknownNs = cniError(await twillCni(host, { command: 'ADD', containerID: cid('e'), netns: '/run/netns/nonexistent-xyz', ifname: 'eth0' }, netconf()));
    expect(unknownNs.code).toBe(4);
    expect(unknownNs.msg).toContain('CNI_NETNS /run/netns/nonexistent-xyz does not exist');
    const unknownKey = cniError(await add('e', netconf({ polcySetupTimeout: 5 })));
    expect(unknownKey.code).toBe(7);
    expect(unknownKey.msg).toContain('"polcySetupTimeout"');
    const dsDown = cniError(await add('e', netconf({ datastore: 'etcd://127.0.0.1:1' })));
    expect(dsDown.code).toBe(11);
    // An exhausted pool: the /31 holds two addresses.
    const tiny = netconf({ name: 'tiny', ipam: { type: 'twill-ipam', pools: ['tiny'] } });
    pool.create('t1');
    pool.create('t2');
    expect((await add('t1', tiny)).code).toBe(0);
    expect((await add('t2', tiny)).code).toBe(0);
    const full = cniError(await add('e', tiny));
    expect(full.code).toBe(110);
    expect(full.msg).toContain('no free IPv4 address for node host1');
    expect((await del('t1', tiny)).code).toBe(0);
    expect((await del('t2', tiny)).code).toBe(0);
    // A container that could not be wired: no veth, no endpoint, no address.
    expect(hostLinks()).not.toContain(workloadIface(cid('e')));
    expect(hostLinks().split('\n').length).toBe(before.split('\n').length);
    expect((await endpoints()).length).toBe(eps);
    expect(ipIn(`${pool.prefix}-e`, ['-o', 'link'])).not.toContain('eth0');
    const check = await ipamCheck();
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });

  it("chained with Debian's portmap and tuning as libcni calls a conflist", async () => {
    const list: ConfList = {
      cniVersion: '1.0.0',
      name: 'twnet',
      plugins: [
        { type: 'twill-cni', datastore: etcd.url, nodename: 'host1' },
        { type: 'portmap', capabilities: { portMappings: true } },
        { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.accept_local': '1' } },
      ],
    };
    pool.create('p');
    const call = { command: 'ADD', containerID: cid('p'), netns: `/run/netns/${pool.prefix}-p`, ifname: 'eth0' };
    const rc = { portMappings: [{ hostPort: 18080, containerPort: 8080, protocol: 'tcp' }] };
    const { result, failed } = await chainAdd(host, list, call, rc);
    expect(failed?.stdout ?? '', failed?.stderr).toBe('');
    const res = result as Result;
    expect(res.ips[0]!.address).toMatch(/^10\.70\.0\.\d+\/32$/);
    expect(nsExec(`${pool.prefix}-p`, ['cat', '/proc/sys/net/ipv4/conf/eth0/accept_local']).stdout.trim()).toBe('1');
    const ip = res.ips[0]!.address.replace(/\/32$/, '');
    expect(execFileSync('ip', ['netns', 'exec', host, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' })).toContain(`--to-destination ${ip}:8080`);
    const dels = await chainDel(host, list, call, result, rc);
    expect(dels.map((d) => d.code)).toEqual([0, 0, 0]);
    expect(execFileSync('ip', ['netns', 'exec', host, 'iptables-save', '-t', 'nat'], { encoding: 'utf8' })).not.toContain(`${ip}:8080`);
    expect(hostLinks()).not.toContain(res.interfaces[0]!.name);
  });

  it('dual stack: a /32 and a /128, IPv6 default route via the host side, ping6 between containers', async () => {
    await ds.create({ apiVersion: API_VERSION, kind: 'IPPool', metadata: { name: 'v6' }, spec: { cidr: 'fd00:70::/120' } });
    const ds6 = netconf({ name: 'ds6', ipam: { type: 'twill-ipam', assign_ipv6: true, pools: ['main', 'v6'] } });
    const wl: Workload[] = [];
    for (const t of ['s1', 's2']) {
      pool.create(t);
      const r = await add(t, ds6);
      expect(r.code, r.stdout).toBe(0);
      const res = JSON.parse(r.stdout) as Result;
      expect(res.ips.map((i) => i.address)).toEqual([expect.stringMatching(/^10\.70\.0\.\d+\/32$/), expect.stringMatching(/^fd00:70::([0-9a-f]+)?\/128$/)]);
      expect(res.routes).toContainEqual({ dst: '::/0', gw: 'fe80::ecee:eeff:feee:eeee' });
      wl.push({ ns: `${pool.prefix}-${t}`, iface: res.interfaces[0]!.name, ip: res.ips[0]!.address.split('/')[0]!, ip6: res.ips[1]!.address.split('/')[0]! });
    }
    expect(ipIn(wl[0]!.ns, ['-6', 'route'])).toMatch(/^default via fe80::ecee:eeff:feee:eeee dev eth0/m);
    expect(ping(wl[0]!, wl[1]!.ip6!)).toBe(true);
    expect(ping(wl[1]!, wl[0]!.ip)).toBe(true);
    for (const t of ['s1', 's2']) expect((await del(t, ds6)).code).toBe(0);
    await ds.delete({ kind: 'IPPool', name: 'v6' });
  });

  it('ipam "host-local" is delegated to the plugin in CNI_PATH, ADD and DEL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-hl-'));
    try {
      const hl = netconf({ name: 'hl', ipam: { type: 'host-local', subnet: '10.76.0.0/24', dataDir: dir } });
      pool.create('q');
      const q = workload('q', await add('q', hl));
      expect(q.ip).toMatch(/^10\.76\.0\.\d+$/);
      expect(readdirSync(join(dir, 'hl'))).toContain(q.ip);
      expect(ping(q, a.ip)).toBe(false); // another network
      expect((await del('q', hl)).code).toBe(0);
      expect(readdirSync(join(dir, 'hl'))).not.toContain(q.ip);
      expect(hostLinks()).not.toContain(q.iface);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('twill-cni serve: calls are handed to the server in the host namespace; without it they run in-process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-serve-'));
    const socket = join(dir, 'cni.sock');
    const server = spawn('ip', ['netns', 'exec', host, process.execPath, TWILL_CNI, 'serve', '--socket', socket], { stdio: 'ignore', detached: true });
    try {
      await waitFor('server socket', () => existsSync(socket));
      pool.create('v');
      const served = netconf({ socket });
      const call = { containerID: cid('v'), netns: `/run/netns/${pool.prefix}-v`, ifname: 'eth0' };
      // The client runs in the test's own namespace: only the server (in the host namespace) can
      // have made this veth there.
      const r = await run([process.execPath, TWILL_CNI], cniEnv({ command: 'ADD', ...call }), JSON.stringify(served));
      const v = workload('v', r);
      expect(hostLinks()).toContain(v.iface);
      expect(ping(v, a.ip)).toBe(true);
      process.kill(-server.pid!, 'SIGTERM');
      await waitFor('server gone', () => !existsSync(socket));
      // No server: the same configuration falls back to running in-process.
      const d = await twillCni(host, { command: 'DEL', ...call }, served);
      expect(d.code, d.stdout).toBe(0);
      expect(hostLinks()).not.toContain(v.iface);
    } finally {
      if (server.exitCode === null) {
        try {
          process.kill(-server.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('DEL works while twill-node is down; everything is released at the end', async () => {
    await node?.stop();
    node = undefined;
    expect((await del('a')).code).toBe(0);
    expect((await del('b')).code).toBe(0);
    expect(await endpoints()).toEqual([]);
    expect(hostLinks()).not.toMatch(/ tw[0-9a-f]{13}/);
    const check = await ipamCheck();
    expect(check.code, check.stdout + check.stderr).toBe(0);
    const show = await twillctl(etcd.url, 'ipam', 'show', '-o', 'json');
    expect(show.stdout).not.toMatch(/"inUse":\s*[1-9]/);
  });
});
