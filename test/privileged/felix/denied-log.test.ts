// Denied-packet logging end to end: real etcd, the built twill-node in a host namespace, workloads
// in their own namespaces, real traffic, and the built twillctl reading the node's local API.
// With logDeniedPackets off no NFLOG rule exists; on, one denied TCP connection attempt (one SYN:
// the client gives up before the kernel's first retransmit at 1 s) and one denied UDP datagram
// each give exactly one log line naming the policy and rule, allowed traffic gives none, the
// counter moves, and `twillctl node denied` (also --follow) shows them.
//
// "Exactly one" without timing: NFLOG hands packets over in order on one socket, so once a later
// marker packet's line has been read, every line of the packets before it has been read too.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FelixConfigurationResource, NetworkPolicyResource } from '../../../src/api/types.js';
import type { Datastore } from '../../../src/datastore/index.js';
import { denyLogId } from '../../../felix/rules/deny-log.js';
import { missing, uniquePrefix } from '../../support/env.js';
import { NetnsPool, nsExec } from '../../support/netns.js';
import { Servers, addWorkload, ping, tcp, udp, type Workload } from '../../support/workload.js';
import { ALLOW_ALL_PROFILE, startFelixHost, startTwillNode, waitFor, workloadEndpoint as wep, type FelixHost, type TwillNodeProcess } from './harness.js';

const TWILLCTL_MAIN = resolve(__dirname, '../../../dist/src/cli/main.js');
const METRICS_PORT = 19101;
const reason = missing({ root: true, tools: ['etcd', 'iptables-restore', 'ipset', 'ip', 'socat', 'ping'] });

interface DeniedLine {
  src: string;
  dst: string;
  protocol: string;
  srcPort?: number;
  dstPort?: number;
  endpoint?: string;
  policy: string;
  rule?: number;
  direction: string;
  id: string;
}

/** One SYN from `from`:srcPort, then give up (300 ms, before the first retransmit at 1 s). */
function oneSyn(from: Workload, to: string, port: number, srcPort: number): void {
  const js = `const s=require('net').connect({host:'${to}',port:${port},localPort:${srcPort}});s.on('error',()=>{});setTimeout(()=>{s.destroy();process.exit(0)},300);`;
  expect(nsExec(from.ns, [process.execPath, '-e', js]).code).toBe(0);
}

/** One UDP datagram from `from`:srcPort. */
function oneDatagram(from: Workload, to: string, port: number, srcPort: number): void {
  const js = `const d=require('dgram').createSocket('udp4');d.bind(${srcPort},()=>d.send('x',${port},'${to}',()=>d.close()));`;
  expect(nsExec(from.ns, [process.execPath, '-e', js]).code).toBe(0);
}

describe.skipIf(reason)('denied-packet logging (privileged: etcd, twill-node, NFLOG, real traffic)', () => {
  const pool = new NetnsPool(uniquePrefix('dl'));
  const servers = new Servers();
  let lab: FelixHost | undefined;
  let ds: Datastore;
  let host: string;
  let a: Workload;
  let b: Workload;
  let agent: TwillNodeProcess | undefined;
  let dir: string;
  let sock: string;

  /** The "policy denied a packet" lines twill-node wrote so far, in order. */
  const deniedLines = (): DeniedLine[] =>
    (agent?.lines() ?? []).filter((l) => l.includes('"policy denied a packet"')).map((l) => (JSON.parse(l) as { denied: DeniedLine }).denied);
  const iptablesSave = (): string => nsExec(host, ['iptables-save', '-t', 'filter']).stdout;
  const metrics = (): string => nsExec(host, [process.execPath, '-e', `fetch('http://127.0.0.1:${METRICS_PORT}/metrics').then(async (r) => process.stdout.write(await r.text()))`]).stdout;
  const counter = (policy: string, direction: string): number => {
    const m = metrics().match(new RegExp(`^twill_policy_denied_packets_total\\{policy="${policy.replace(/\//g, '\\/')}",direction="${direction}"\\} (\\d+)$`, 'm'));
    return m ? Number(m[1]) : 0;
  };
  const setLogging = async (on: boolean): Promise<void> => {
    const cur = await ds.get<FelixConfigurationResource>({ kind: 'FelixConfiguration', name: 'default' });
    const spec = { ...(cur?.spec ?? {}), logDeniedPackets: on };
    if (cur) await ds.update({ ...cur, spec });
    else await ds.create({ apiVersion: 'twill.io/v1', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec });
  };
  /** Sends a marker (a denied datagram from `port`) and waits for its line: every earlier packet's line is in by then. */
  const flushWith = async (port: number): Promise<DeniedLine[]> => {
    oneDatagram(a, b.ip, 5354, port);
    await waitFor(`the marker from port ${port} is logged`, () => deniedLines().some((l) => l.srcPort === port));
    return deniedLines();
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twill-denied-'));
    sock = join(dir, 'host1.sock');
    lab = await startFelixHost(pool);
    ({ ds, host } = lab);
    a = await addWorkload(pool, host, 'a', '10.65.0.1');
    b = await addWorkload(pool, host, 'b', '10.65.0.2');
    servers.tcp(b, 8080);
    servers.tcp(b, 9090);
    servers.udp(b, 5353);
    servers.udp(b, 5354);
    const pol: NetworkPolicyResource = {
      apiVersion: 'twill.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'server-in', namespace: 'default' },
      spec: {
        selector: "role == 'server'",
        types: ['Ingress'],
        ingress: [
          { action: 'Allow', protocol: 'TCP', source: { selector: "role == 'client'" }, destination: { ports: [8080] } },
          { action: 'Allow', protocol: 'UDP', destination: { ports: [5353] } },
          { action: 'Deny', protocol: 'TCP', destination: { ports: [9090] } },
          { action: 'Deny', protocol: 'UDP', destination: { ports: [5354] } },
        ],
      },
    };
    await ds.create(ALLOW_ALL_PROFILE);
    await ds.create(pol);
    await ds.create(wep('a', a, { role: 'client' }));
    await ds.create(wep('b', b, { role: 'server' }));
    agent = startTwillNode(host, 'host1', lab.etcd.url, ['--metrics-port', String(METRICS_PORT), '--api-socket', sock, '--no-bgp', '--refresh-interval', '2s'], { keepLines: true });
    await waitFor('policy in force (a→b:9090 denied, a→b:8080 allowed)', () => tcp(a, b.ip, 8080) && !udp(a, b.ip, 5354), 30_000);
  });

  afterAll(async () => {
    await lab?.stop(agent, servers);
    pool.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('with logging off (the default) no NFLOG rule exists and nothing is logged', () => {
    expect(iptablesSave()).toContain('-j DROP');
    expect(iptablesSave()).not.toContain('NFLOG');
    expect(deniedLines()).toEqual([]);
  });

  it('with logging on, an NFLOG rule with the rule\'s id precedes each drop', async () => {
    await setLogging(true);
    await waitFor('NFLOG rules in the kernel', () => iptablesSave().includes('NFLOG'));
    const save = iptablesSave().split('\n');
    const tcpId = denyLogId({ kind: 'rule', policy: 'np/default/server-in', index: 2, direction: 'ingress' });
    const udpId = denyLogId({ kind: 'rule', policy: 'np/default/server-in', index: 3, direction: 'ingress' });
    for (const [id, port] of [[tcpId, '9090'], [udpId, '5354']] as const) {
      const i = save.findIndex((l) => l.includes(`--nflog-prefix ${id}`) || l.includes(`--nflog-prefix "${id}"`));
      expect(i).toBeGreaterThan(0);
      expect(save[i]).toMatch(new RegExp(`--dports? ${port} `));
      expect(save[i]).toMatch(/-m limit --limit 10\/sec --limit-burst 20 -j NFLOG/);
      expect(save[i + 1]).toMatch(new RegExp(`--dports? ${port} `));
      expect(save[i + 1]).toMatch(/-j DROP$/);
    }
    // Every DROP a policy decides is logged first: end of tier and no profile too (b's and a's chains).
    const drops = save.filter((l) => /^-A tw-(tw|fw|pi|po)-/.test(l) && l.endsWith('-j DROP') && !l.includes('INVALID'));
    const nflogs = save.filter((l) => /^-A tw-(tw|fw|pi|po)-/.test(l) && l.includes('-j NFLOG'));
    expect(nflogs.length).toBe(drops.length);
  });

  it('a denied TCP connection and a denied UDP datagram give exactly one line each; allowed traffic none; the counter moves', async () => {
    const before = counter('np/default/server-in', 'ingress');
    expect(tcp(a, b.ip, 8080)).toBe(true);
    expect(udp(a, b.ip, 5353)).toBe(true);
    oneSyn(a, b.ip, 9090, 40001);
    oneDatagram(a, b.ip, 5354, 40002);
    const lines = await flushWith(40003);
    const tcpLines = lines.filter((l) => l.srcPort === 40001);
    const udpLines = lines.filter((l) => l.srcPort === 40002);
    expect(tcpLines).toEqual([
      {
        src: a.ip,
        dst: b.ip,
        protocol: 'tcp',
        srcPort: 40001,
        dstPort: 9090,
        endpoint: 'default/b',
        interface: b.iface,
        policy: 'np/default/server-in',
        rule: 2,
        direction: 'ingress',
        id: denyLogId({ kind: 'rule', policy: 'np/default/server-in', index: 2, direction: 'ingress' }),
      },
    ]);
    expect(udpLines).toMatchObject([{ src: a.ip, dst: b.ip, protocol: 'udp', srcPort: 40002, dstPort: 5354, endpoint: 'default/b', policy: 'np/default/server-in', rule: 3, direction: 'ingress' }]);
    // Allowed traffic (and its replies) gave no line.
    expect(lines.filter((l) => l.dstPort === 8080 || l.dstPort === 5353 || l.srcPort === 8080 || l.srcPort === 5353)).toEqual([]);
    // Three denied packets of that policy: the SYN, the datagram and the marker.
    await waitFor('the counter counts them', () => counter('np/default/server-in', 'ingress') === before + 3);
  });

  it('a drop at the end of the tier names the tier and the endpoint', async () => {
    // ICMP matches no rule of server-in: the tier drops it.
    expect(ping(a, b.ip)).toBe(false);
    const lines = await flushWith(40004);
    expect(lines.filter((l) => l.protocol === 'icmp')).toMatchObject([{ src: a.ip, dst: b.ip, policy: 'end-of-tier/default', endpoint: 'default/b', direction: 'ingress' }]);
    expect(counter('end-of-tier/default', 'ingress')).toBe(1);
  });

  it('twillctl node denied lists them from the node\'s API, and --follow streams new ones', async () => {
    const table = spawnSync(process.execPath, [TWILLCTL_MAIN, 'node', 'denied', '--api-socket', sock], { encoding: 'utf8', timeout: 20_000 });
    expect(table.stderr).toBe('');
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^TIME +DIRECTION +ENDPOINT +SOURCE +DESTINATION +PROTOCOL +POLICY +RULE$/m);
    expect(table.stdout).toMatch(new RegExp(`ingress +default/b +10\\.65\\.0\\.1:40001 +10\\.65\\.0\\.2:9090 +tcp +np/default/server-in +2`));
    const json = spawnSync(process.execPath, [TWILLCTL_MAIN, 'node', 'denied', '--api-socket', sock, '-o', 'json'], { encoding: 'utf8', timeout: 20_000 });
    expect(json.status).toBe(0);
    const rows = JSON.parse(json.stdout) as (DeniedLine & { interfaceName: string })[];
    expect(rows.filter((r) => r.srcPort === 40002)).toMatchObject([{ protocol: 'udp', dstPort: 5354, policy: 'np/default/server-in', rule: 3, endpoint: 'default/b', interfaceName: b.iface }]);

    const follow = spawn(process.execPath, [TWILLCTL_MAIN, 'node', 'denied', '--api-socket', sock, '--follow', '--limit', '1', '-o', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await waitFor('follow printed the most recent one', () => out.split('\n').filter(Boolean).length === 1);
      oneDatagram(a, b.ip, 5354, 40005);
      await waitFor('follow printed the new one', () => out.includes('"srcPort":40005'));
      const got = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as DeniedLine);
      expect(got.map((g) => g.srcPort)).toEqual([40004, 40005]);
    } finally {
      if (follow.exitCode === null) follow.kill('SIGTERM');
    }
  });

  it('with logging off again, the NFLOG rules go and nothing more is logged', async () => {
    await setLogging(false);
    await waitFor('NFLOG rules gone', () => !iptablesSave().includes('NFLOG'));
    const n = deniedLines().length;
    oneDatagram(a, b.ip, 5354, 40006);
    // The drop still happens (the reply never comes) ...
    expect(udp(a, b.ip, 5354)).toBe(false);
    // ... and turning logging on again logs the next one, but not the one sent while off.
    await setLogging(true);
    await waitFor('NFLOG rules back', () => iptablesSave().includes('NFLOG'));
    const lines = await flushWith(40007);
    expect(lines.slice(n).map((l) => l.srcPort)).toEqual([40007]);
  });
});
