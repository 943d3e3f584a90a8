// twill-node as the whole per-host agent: three hosts on one L2 segment, each running the BUILT
// twill-node (policy agent + BGP speaker in its worker) against one real etcd, plus BIRD as a
// top-of-rack router in its own namespace (a BGPPeer with peerIP, another AS). Workloads get their
// addresses from twill-ipam (called as a CNI IPAM plugin) and are plumbed like the CNI plugin does.
// Nothing installs a static route to another host's workloads: only BGP does.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  BGPConfigurationResource,
  BGPPeerResource,
  IPPoolResource,
  NodeResource,
  ProfileResource,
  WorkloadEndpointResource,
} from '../../../src/api/types.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';
import { BgpLab, startPing, until, type BirdDaemon, type LanMember } from '../../support/bgp-peers.js';
import { missing } from '../../support/env.js';
import { startEtcd, type EtcdServer } from '../../support/etcd.js';
import { NetnsPool, ipIn, nsExec } from '../../support/netns.js';
import { bridgePortIntoNetns, type Bridge } from '../../support/netns-bridge.js';
import { addWorkload, ping, type Workload } from '../../support/workload.js';
import { startTwillNode, type TwillNodeProcess } from '../felix/harness.js';
import { ROOT } from '../../support/bgp-peers.js';

const reason = missing({ root: true, tools: ['etcd', 'iptables-restore', 'ipset', 'ip', 'socat', 'ping', 'bird', 'birdc'] });

const POOL = '10.66.0.0/16';
const CLUSTER_AS = 64512;
const TOR_AS = 65001;
const TWILLCTL = join(ROOT, 'dist/src/cli/main.js');
const TWILL_IPAM = join(ROOT, 'dist/src/cni/twill-ipam.js');

interface Host {
  name: string;
  ns: string;
  addr: string;
  socket: string;
  agent?: TwillNodeProcess;
  bridge?: Bridge;
}

interface StatusRow {
  peerAddress: string;
  peerType: string;
  /** The BGP FSM state. */
  state: string;
  info?: string;
}

const TOR2_PASSWORD = 'the-right-one';

function birdConf(routerId: string, asn: number, hosts: { name: string; addr: string; password?: string }[]): string {
  const protos = hosts
    .map(
      (h) => `protocol bgp ${h.name} {
  local ${routerId} as ${asn};
  neighbor ${h.addr} as ${CLUSTER_AS};
  graceful restart on;${h.password ? `\n  password "${h.password}";` : ''}
  ipv4 { import all; export none; };
}`,
    )
    .join('\n');
  return `router id ${routerId};
protocol device { }
${protos}
`;
}

describe.skipIf(reason)('twill-node with BGP: three hosts, a BIRD top-of-rack router, real etcd, real traffic', () => {
  const lab = new BgpLab('nc');
  const wpool = new NetnsPool(`${lab.prefix}w`);
  let etcd: EtcdServer;
  let ds: Datastore;
  let tor: BirdDaemon;
  let torAddr: string;
  let tor2: BirdDaemon;
  let tor2Addr: string;
  const hosts: Host[] = [];
  const workloads = new Map<string, Workload & { host: Host }>();

  const nodeStatus = (h: Host): { rows: StatusRow[]; code: number; out: string } => {
    const r = spawnSync(process.execPath, [TWILLCTL, 'node', 'status', '--api-socket', h.socket, '-o', 'json'], { encoding: 'utf8', timeout: 20_000 });
    const out = `${r.stdout}${r.stderr}`;
    if (r.status !== 0) return { rows: [], code: r.status ?? -1, out };
    const parsed = JSON.parse(r.stdout) as { peers: StatusRow[] };
    return { rows: parsed.peers, code: 0, out };
  };
  const established = (h: Host, peer: string): boolean => nodeStatus(h).rows.some((p) => p.peerAddress === peer && p.state === 'Established');

  const startAgent = (h: Host): void => {
    h.agent = startTwillNode(h.ns, h.name, etcd.url, ['--node-ip', `${h.addr}/24`, '--api-socket', h.socket, '--log-level', 'debug']);
  };

  /** Asks twill-ipam for an address for container `id` on host `h`, exactly as a CNI plugin would. */
  const ipamAdd = (h: Host, id: string): string => {
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'twill', ipam: { type: 'twill-ipam', datastore: etcd.url, nodename: h.name } });
    const r = spawnSync(process.execPath, [TWILL_IPAM], {
      input: JSON.stringify({ ...JSON.parse(conf), type: 'twill-cni' }),
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: '/dev/null', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' },
    });
    if (r.status !== 0) throw new Error(`twill-ipam ADD failed: ${r.stdout}${r.stderr}`);
    const res = JSON.parse(r.stdout) as { ips: { address: string }[] };
    return res.ips[0]!.address.split('/')[0]!;
  };

  const addWorkloadOn = async (h: Host, name: string): Promise<Workload & { host: Host }> => {
    const ip = ipamAdd(h, `${lab.prefix}-${name}`);
    const w = { ...(await addWorkload(wpool, h.ns, name, ip)), host: h };
    const wep: WorkloadEndpointResource = {
      apiVersion: 'twill.io/v1',
      kind: 'WorkloadEndpoint',
      metadata: { name: `${h.name}-k8s-${name}-eth0`, namespace: 'default', labels: { app: name } },
      spec: { node: h.name, interfaceName: w.iface, ipNetworks: [`${ip}/32`], profiles: ['allow-all'], containerID: `${lab.prefix}-${name}` },
    };
    await ds.create(wep);
    workloads.set(name, w);
    return w;
  };

  const programmed = async (name: string, h: Host): Promise<boolean> => {
    const w = await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: 'default', name: `${h.name}-k8s-${name}-eth0` });
    return w?.status?.programmed === true;
  };

  const allPairsReach = (): string[] => {
    const bad: string[] = [];
    for (const [a, wa] of workloads) for (const [b, wb] of workloads) if (a !== b && wa.host !== wb.host && !ping(wa, wb.ip)) bad.push(`${a}->${b}`);
    return bad;
  };

  beforeAll(async () => {
    etcd = await startEtcd();
    ds = await openDatastore(etcd.url);
    const nss = ['h1', 'h2', 'h3'].map((t) => lab.ns(t));
    const torNs = lab.ns('tor');
    const tor2Ns = lab.ns('tor2');
    const lan: LanMember[] = lab.lan([...nss, torNs, tor2Ns]);
    torAddr = lan[3]!.v4;
    tor2Addr = lan[4]!.v4;
    for (let i = 0; i < 3; i++) {
      const ns = nss[i]!;
      nsExec(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      const h: Host = { name: `${lab.prefix}h${i + 1}`, ns, addr: lan[i]!.v4, socket: join(lab.dir, `h${i + 1}.sock`) };
      h.bridge = await bridgePortIntoNetns(ns, Number(new URL(etcd.endpoint).port));
      hosts.push(h);
    }
    tor = await lab.startBird(torNs, 'tor', birdConf(torAddr, TOR_AS, hosts.map((h, i) => ({ name: `h${i + 1}`, addr: h.addr }))));
    // A second router that only h3 peers with, over TCP MD5.
    tor2 = await lab.startBird(tor2Ns, 'tor2', birdConf(tor2Addr, TOR_AS + 1, [{ name: 'h3', addr: hosts[2]!.addr, password: TOR2_PASSWORD }]));

    const poolRes: IPPoolResource = { apiVersion: 'twill.io/v1', kind: 'IPPool', metadata: { name: 'pool1' }, spec: { cidr: POOL, blockSize: 26 } };
    const allow: ProfileResource = {
      apiVersion: 'twill.io/v1',
      kind: 'Profile',
      metadata: { name: 'allow-all' },
      spec: { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
    };
    const bgpConf: BGPConfigurationResource = {
      apiVersion: 'twill.io/v1',
      kind: 'BGPConfiguration',
      metadata: { name: 'default' },
      spec: { asNumber: CLUSTER_AS, nodeToNodeMeshEnabled: true },
    };
    const torPeer: BGPPeerResource = { apiVersion: 'twill.io/v1', kind: 'BGPPeer', metadata: { name: 'tor' }, spec: { peerIP: torAddr, asNumber: TOR_AS } };
    for (const r of [poolRes, allow, bgpConf, torPeer]) await ds.create(r);
    for (const h of hosts) startAgent(h);
    await until('every twill-node registered its Node', async () => {
      for (const h of hosts) {
        const n = await ds.get<NodeResource>({ kind: 'Node', name: h.name });
        if (n?.spec.bgp?.ipv4Address !== `${h.addr}/24`) return false;
      }
      return true;
    }, 60_000);
    for (let i = 0; i < 3; i++) {
      await addWorkloadOn(hosts[i]!, `w${i + 1}a`);
      await addWorkloadOn(hosts[i]!, `w${i + 1}b`);
    }
    for (const [name, w] of workloads) await until(`${name} programmed`, () => programmed(name, w.host), 60_000);
  }, 240_000);

  afterAll(async () => {
    if (process.env.TW_DEBUG) for (const h of hosts) process.stderr.write(`--- ${h.name} ---\n${h.agent?.log() ?? ''}\n`);
    for (const h of hosts) await h.agent?.stop();
    for (const h of hosts) h.bridge?.stop();
    wpool.cleanup();
    await lab.cleanup();
    await ds?.close();
    await etcd?.destroy();
  });

  it('mesh: workloads on different hosts reach each other over routes learned only by BGP', async () => {
    for (const h of hosts) for (const o of hosts) if (o !== h) await until(`${h.name} ↔ ${o.name} Established`, () => established(h, o.addr), 60_000);
    await until('every cross-host pair pings', () => allPairsReach().length === 0, 60_000);
    expect(allPairsReach()).toEqual([]);
    // Routes to other hosts' blocks are BGP's (twill-bgp's protocol), via that host; none is static.
    const h1 = hosts[0]!;
    const routes = JSON.parse(ipIn(h1.ns, ['-j', 'route', 'show', 'proto', '85'])) as { dst: string; gateway?: string }[];
    for (const o of hosts.slice(1)) expect(routes.some((r) => r.dst.startsWith('10.66.') && r.gateway === o.addr)).toBe(true);
    expect(ipIn(h1.ns, ['route', 'show', 'proto', 'static'])).toBe('');
    expect(ipIn(h1.ns, ['route', 'show', 'proto', 'boot']).split('\n').filter((l) => l.startsWith('10.66.'))).toEqual([]);
    // twillctl node status names the peers and their types.
    const st = nodeStatus(h1);
    expect(st.rows.filter((r) => r.peerType === 'node-to-node mesh').map((r) => r.peerAddress).sort()).toEqual(hosts.slice(1).map((h) => h.addr).sort());
    expect(st.rows.find((r) => r.peerAddress === torAddr)).toMatchObject({ peerType: 'global', state: 'Established' });
  });

  it("the top-of-rack router learns each host's block with that host as next hop", async () => {
    await until('ToR has a block from each host', () => {
      const rs = tor.routes(4);
      return hosts.every((h) => rs.some((r) => r.prefix.startsWith('10.66.') && r.prefix.endsWith('/26') && r.nextHop === h.addr));
    }, 60_000);
    // Nothing more specific than a block, and never the pool.
    const rs = tor.routes(4);
    expect(rs.filter((r) => r.prefix === POOL)).toEqual([]);
    expect(rs.filter((r) => r.prefix.startsWith('10.66.') && !r.prefix.endsWith('/26'))).toEqual([]);
  });

  it('adding and removing a BGPPeer opens and closes exactly that session', async () => {
    const extra = `${torAddr.split('.').slice(0, 3).join('.')}.99`;
    const h2 = hosts[1]!;
    const before = nodeStatus(h2).rows.map((r) => r.peerAddress).sort();
    await ds.create<BGPPeerResource>({ apiVersion: 'twill.io/v1', kind: 'BGPPeer', metadata: { name: 'extra' }, spec: { node: h2.name, peerIP: extra, asNumber: 65099 } });
    await until('the new session appears on h2 only', () => nodeStatus(h2).rows.some((r) => r.peerAddress === extra && r.peerType === 'node specific'), 30_000);
    expect(nodeStatus(hosts[0]!).rows.some((r) => r.peerAddress === extra)).toBe(false);
    await ds.delete({ kind: 'BGPPeer', name: 'extra' });
    await until('the session is gone', () => !nodeStatus(h2).rows.some((r) => r.peerAddress === extra), 30_000);
    expect(nodeStatus(h2).rows.map((r) => r.peerAddress).sort()).toEqual(before);
    // The other sessions never dropped.
    expect(allPairsReach()).toEqual([]);
  });

  it('a wrong password gives a session that stays down with a clear INFO; the right one brings it up', async () => {
    const h3 = hosts[2]!;
    const peer = async (password: string): Promise<void> => {
      const cur = await ds.get<BGPPeerResource>({ kind: 'BGPPeer', name: 'tor2-md5' });
      const spec = { node: h3.name, peerIP: tor2Addr, asNumber: TOR_AS + 1, password: { value: password } };
      if (cur) await ds.update<BGPPeerResource>({ ...cur, spec });
      else await ds.create<BGPPeerResource>({ apiVersion: 'twill.io/v1', kind: 'BGPPeer', metadata: { name: 'tor2-md5' }, spec });
    };
    await peer('not-the-password');
    await until('the md5 session is listed', () => nodeStatus(h3).rows.some((r) => r.peerAddress === tor2Addr), 30_000);
    // Give it several connection attempts: a TCP MD5 mismatch is silent (the peer's kernel drops the SYNs).
    await new Promise((r) => setTimeout(r, 8000));
    const row = nodeStatus(h3).rows.find((r) => r.peerAddress === tor2Addr)!;
    expect(row.state).not.toBe('Established');
    expect(row.info ?? '').toMatch(/password|MD5/i);
    const table = spawnSync(process.execPath, [TWILLCTL, 'node', 'status', '--api-socket', h3.socket], { encoding: 'utf8' }).stdout;
    expect(table).toMatch(/PEER ADDRESS\s+PEER TYPE\s+STATE\s+SINCE\s+INFO/);
    expect(table).toContain(tor2Addr);
    // Only that session was touched: the mesh and the ToR stayed up.
    expect(nodeStatus(h3).rows.filter((r) => r.peerAddress !== tor2Addr).every((r) => r.state === 'Established')).toBe(true);
    await peer(TOR2_PASSWORD);
    await until('the session comes up with the right password', () => established(h3, tor2Addr), 60_000);
    expect(tor2.established('h3')).toBe(true);
    await ds.delete({ kind: 'BGPPeer', name: 'tor2-md5' });
  });

  it('SIGKILL of one twill-node loses no ping between the other two hosts, and its workloads come back', async () => {
    const [h1, h2, h3] = hosts as [Host, Host, Host];
    const a = workloads.get('w1a')!;
    const b = workloads.get('w2a')!;
    const c = workloads.get('w3a')!;
    const p = startPing(a.ns, b.ip, 0.1);
    await new Promise((r) => setTimeout(r, 1000));
    h3.agent!.kill('SIGKILL');
    await h3.agent!.exited;
    await new Promise((r) => setTimeout(r, 3000));
    // While h3's agent is down, its routes stay (graceful restart) and its kernel keeps forwarding.
    expect(ping(a, c.ip)).toBe(true);
    startAgent(h3);
    await until('h3 back in the mesh', () => established(h3, h1.addr) && established(h3, h2.addr), 90_000);
    await until('h3 workloads reachable', () => ping(a, c.ip) && ping(c, b.ip), 60_000);
    const res = await p.finish();
    expect(res.lastReplied).toBeGreaterThan(20);
    expect(res.lost).toEqual([]);
  });

  it('mesh off, one route reflector: every pair stays reachable', async () => {
    const [h1, h2, h3] = hosts as [Host, Host, Host];
    const n1 = (await ds.get<NodeResource>({ kind: 'Node', name: h1.name }))!;
    await ds.update<NodeResource>({
      ...n1,
      metadata: { ...n1.metadata, labels: { ...(n1.metadata.labels ?? {}), 'route-reflector': 'true' } },
      spec: { ...n1.spec, bgp: { ...n1.spec.bgp, routeReflectorClusterID: '224.0.0.1' } },
    });
    await ds.create<BGPPeerResource>({
      apiVersion: 'twill.io/v1',
      kind: 'BGPPeer',
      metadata: { name: 'peer-with-rr' },
      spec: { nodeSelector: 'all()', peerSelector: "route-reflector == 'true'" },
    });
    const conf = (await ds.get<BGPConfigurationResource>({ kind: 'BGPConfiguration', name: 'default' }))!;
    await ds.update<BGPConfigurationResource>({ ...conf, spec: { ...conf.spec, nodeToNodeMeshEnabled: false } });
    await until('h2 and h3 no longer peer with each other', () => !nodeStatus(h2).rows.some((r) => r.peerAddress === h3.addr), 30_000);
    await until('clients Established with the reflector', () => established(h2, h1.addr) && established(h3, h1.addr), 60_000);
    expect(nodeStatus(h1).rows.filter((r) => r.peerType === 'route reflector client').map((r) => r.peerAddress).sort()).toEqual([h2.addr, h3.addr].sort());
    await until('every cross-host pair pings through reflected routes', () => allPairsReach().length === 0, 60_000).catch((e: unknown) => {
      for (const h of hosts) {
        process.stderr.write(`--- ${h.name} routes:\n${ipIn(h.ns, ['route'])}\n${JSON.stringify(nodeStatus(h).rows)}\n`);
        process.stderr.write(spawnSync(process.execPath, [TWILLCTL, 'node', 'routes', '--api-socket', h.socket], { encoding: 'utf8' }).stdout);
      }
      throw e;
    });
    expect(allPairsReach()).toEqual([]);
  });
});
