// twill-node end to end: real etcd, the built twill-node process in a host namespace, workloads
// in their own namespaces plumbed like the CNI plugin does, and real traffic (ping, TCP, UDP).
import { spawn } from 'node:child_process';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NetworkPolicyResource, WorkloadEndpointResource } from '../../../src/api/types.js';
import type { Datastore } from '../../../src/datastore/index.js';
import { missing, uniquePrefix } from '../../support/env.js';
import type { EtcdServer } from '../../support/etcd.js';
import { NetnsPool, ipIn, nsExec } from '../../support/netns.js';
import { Servers, addWorkload, ping, tcp, udp, type Workload } from '../../support/workload.js';
import { ALLOW_ALL_PROFILE, startFelixHost, startTwillNode, waitFor, workloadEndpoint as wep, type FelixHost, type TwillNodeProcess } from './harness.js';

/** Run inside the host namespace: prints /readiness's body, exits 0 on 200, 1 on 503, 2 when not answering. */
const probe = "fetch('http://127.0.0.1:19099/readiness').then(async (r) => { process.stdout.write(await r.text()); process.exit(r.status === 200 ? 0 : 1); }, () => process.exit(2))";

const reason = missing({ root: true, tools: ['etcd', 'iptables-restore', 'ipset', 'ip', 'socat', 'ping'] });

describe.skipIf(reason)('twill-node (privileged: etcd, netns, iptables, real traffic)', () => {
  const pool = new NetnsPool(uniquePrefix('fx'));
  const servers = new Servers();
  let lab: FelixHost | undefined;
  let etcd: EtcdServer;
  let ds: Datastore;
  let host: string;
  let a: Workload;
  let b: Workload;
  let d: Workload;
  let agent: TwillNodeProcess | undefined;

  const startAgent = async (): Promise<void> => {
    agent = startTwillNode(host, 'host1', etcd.url, ['--health-port', '19099', '--refresh-interval', '2s']);
  };

  const stopAgent = async (): Promise<number | null> => {
    const p = agent;
    agent = undefined;
    return p ? p.stop() : null;
  };

  const programmed = async (name: string): Promise<boolean> => {
    const w = await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: 'default', name });
    return w?.status?.programmed === true;
  };

  beforeAll(async () => {
    lab = await startFelixHost(pool);
    ({ etcd, ds, host } = lab);
    a = await addWorkload(pool, host, 'a', '10.65.0.1');
    b = await addWorkload(pool, host, 'b', '10.65.0.2');
    d = await addWorkload(pool, host, 'd', '10.65.0.4');
    servers.tcp(b, 8080);
    servers.tcp(b, 9090);
    servers.udp(b, 5353);
    servers.udp(b, 5354);
    servers.tcp(d, 8080);
    await ds.create(ALLOW_ALL_PROFILE);
    await ds.create(wep('a', a, { role: 'client' }));
    await ds.create(wep('b', b, { role: 'server' }));
    await startAgent();
  });

  afterAll(async () => {
    const p = agent;
    agent = undefined;
    await lab?.stop(p, servers);
    pool.cleanup();
  });

  it('programs routes and writes endpoint status; with the allow-all profile everything passes', async () => {
    await waitFor('endpoint a programmed', () => programmed('a'));
    await waitFor('endpoint b programmed', () => programmed('b'));
    const w = await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: 'default', name: 'b' });
    expect(w?.status).toMatchObject({ programmed: true, programmedBy: 'host1' });
    expect(w?.status?.specHash).toMatch(/^[0-9a-f]{16}$/);
    expect(ipIn(host, ['route', 'show', `${b.ip}/32`])).toMatch(new RegExp(`^${b.ip.replace(/\./g, '\\.')} dev ${b.iface} proto 84 scope link`));
    expect(nsExec(host, ['cat', `/proc/sys/net/ipv4/conf/${b.iface}/proxy_arp`]).stdout.trim()).toBe('1');
    // The health endpoint, on the host namespace's loopback.
    let ready = nsExec(host, [process.execPath, '-e', probe]);
    await waitFor('readiness 200', () => (ready = nsExec(host, [process.execPath, '-e', probe])).code === 0);
    expect(JSON.parse(ready.stdout)).toMatchObject({ ready: true, inSync: true, localEndpoints: 2, programmedEndpoints: 2 });
    expect(ping(a, b.ip)).toBe(true);
    expect(tcp(a, b.ip, 8080)).toBe(true);
    expect(tcp(a, b.ip, 9090)).toBe(true);
    expect(udp(a, b.ip, 5353)).toBe(true);
    expect(udp(a, b.ip, 5354)).toBe(true);
  });

  it('fails closed: an interface with no endpoint carries nothing, until its endpoint is known', async () => {
    expect(ping(d, b.ip)).toBe(false);
    expect(ping(a, d.ip)).toBe(false);
    expect(tcp(a, d.ip, 8080)).toBe(false);
    await ds.create(wep('d', d, { role: 'late' }));
    await waitFor('endpoint d programmed', () => programmed('d'));
    await waitFor('a reaches d', () => tcp(a, d.ip, 8080));
    expect(ping(d, b.ip)).toBe(true);
  });

  it('a new policy allows only what it says (TCP, UDP, ping), both allowed and denied cases', async () => {
    const pol: NetworkPolicyResource = {
      apiVersion: 'twill.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name: 'server-in', namespace: 'default' },
      spec: {
        selector: "role == 'server'",
        types: ['Ingress'],
        ingress: [
          { action: 'Allow', protocol: 'TCP', source: { selector: "role == 'client'" }, destination: { ports: [8080] } },
          { action: 'Allow', protocol: 'UDP', source: { selector: "role == 'client'" }, destination: { ports: [5353] } },
        ],
      },
    };
    await ds.create(pol);
    await waitFor('ping a→b denied', () => !ping(a, b.ip));
    expect(tcp(a, b.ip, 8080)).toBe(true);
    expect(tcp(a, b.ip, 9090)).toBe(false);
    expect(udp(a, b.ip, 5353)).toBe(true);
    expect(udp(a, b.ip, 5354)).toBe(false);
    // d is not a client: nothing gets through to b.
    expect(tcp(d, b.ip, 8080)).toBe(false);
    // b's egress is still open (policy is ingress only): b reaches a.
    expect(ping(b, a.ip)).toBe(true);
  });

  it('a label change takes effect both ways', async () => {
    const cur = await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: 'default', name: 'a' });
    await ds.update({ ...cur!, metadata: { ...cur!.metadata, labels: { role: 'other' } } });
    await waitFor('a→b:8080 denied after relabel', () => !tcp(a, b.ip, 8080));
    const cur2 = await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: 'default', name: 'd' });
    await ds.update({ ...cur2!, metadata: { ...cur2!.metadata, labels: { role: 'client' } } });
    await waitFor('d→b:8080 allowed after relabel', () => tcp(d, b.ip, 8080));
    expect(tcp(a, b.ip, 8080)).toBe(false);
  });

  it('a rule deleted by hand and a route flushed by hand come back', async () => {
    // The hook from FORWARD: without it, FORWARD's ACCEPT policy would let a→b:9090 through.
    const save = nsExec(host, ['iptables-save', '-t', 'filter']).stdout;
    const hook = save.split('\n').find((l) => l.startsWith('-A FORWARD ') && l.includes('tw:'));
    expect(hook).toBeDefined();
    expect(nsExec(host, ['iptables', '-D', ...hook!.slice(3).split(' ').map((t) => t.replace(/^"|"$/g, ''))]).code).toBe(0);
    await waitFor('FORWARD hook restored', () => nsExec(host, ['iptables-save', '-t', 'filter']).stdout.includes(hook!));
    expect(tcp(a, b.ip, 9090)).toBe(false);

    expect(nsExec(host, ['ip', 'route', 'del', `${b.ip}/32`]).code).toBe(0);
    await waitFor('route to b restored', () => ipIn(host, ['route', 'show', `${b.ip}/32`]).includes(b.iface));
    expect(tcp(d, b.ip, 8080)).toBe(true);
  });

  it('a deleted policy stops applying', async () => {
    await ds.delete({ kind: 'NetworkPolicy', namespace: 'default', name: 'server-in' });
    await waitFor('ping a→b allowed again', () => ping(a, b.ip));
    expect(tcp(a, b.ip, 9090)).toBe(true);
    expect(udp(a, b.ip, 5354)).toBe(true);
  });

  it('fails closed on a policy written straight into etcd: only its endpoint loses that direction, readiness names it', async () => {
    const raw = new Etcd3({ hosts: etcd.endpoint });
    const key = '/twill/v1/NetworkPolicy/default/raw-bad';
    const readiness = (): { code: number | null; body: { ready?: boolean; badObjects?: { object: string; message: string }[] } } => {
        const r = nsExec(host, [process.execPath, '-e', probe]);
      let body = {};
      try {
        body = JSON.parse(r.stdout) as object;
      } catch {
        // not answering yet
      }
      return { code: r.code, body };
    };
    const put = async (spec: unknown): Promise<void> => {
      await raw.put(key).value(JSON.stringify({ apiVersion: 'twill.io/v1', kind: 'NetworkPolicy', metadata: { name: 'raw-bad', namespace: 'default' }, spec }));
    };
    try {
      // (d's endpoint exists from an earlier case; create it when this case runs alone)
      if (!(await ds.get({ kind: 'WorkloadEndpoint', namespace: 'default', name: 'd' }))) await ds.create(wep('d', d, { role: 'client' }));
      await waitFor('a reaches b and d', () => tcp(a, b.ip, 8080) && tcp(a, d.ip, 8080));
      // 1. ingress as a map (calc used to throw for the whole batch and cut every workload off).
      await put({ selector: "role == 'server'", ingress: { action: 'Allow' } });
      await waitFor('a→b denied (b ingress fails closed)', () => !tcp(a, b.ip, 8080));
      expect(ping(a, b.ip)).toBe(false);
      expect(ping(b, a.ip)).toBe(true); // b's egress untouched
      expect(tcp(b, d.ip, 8080)).toBe(true); // other workloads keep working
      expect(ping(a, d.ip)).toBe(true);
      let r = readiness();
      expect(r.code).toBe(0);
      expect(r.body.badObjects?.map((p) => p.object)).toContain('NetworkPolicy default/raw-bad');
      // 2. a Deny whose selector does not parse, next to an Allow: never allow-all.
      await put({ selector: "role == 'server'", ingress: [{ action: 'Deny', source: { selector: "role = = 'client'" } }, { action: 'Allow' }] });
      await waitFor('readiness names the unparseable selector', () => JSON.stringify(readiness().body).includes('ingress[0]'));
      expect(tcp(a, b.ip, 8080)).toBe(false);
      expect(tcp(d, b.ip, 8080)).toBe(false);
      expect(ping(b, a.ip)).toBe(true);
      expect(tcp(a, d.ip, 8080)).toBe(true);
      // 3. a policy selector that does not parse: every endpoint of its namespace drops ingress.
      await put({ selector: "role ==", ingress: [{ action: 'Allow' }] });
      await waitFor('a→d denied (the whole namespace fails closed)', () => !tcp(a, d.ip, 8080));
      expect(tcp(d, b.ip, 8080)).toBe(false);
      r = readiness();
      expect(r.code).toBe(0);
      expect(JSON.stringify(r.body.badObjects)).toMatch(/every endpoint of namespace default/);
      // 4., 5. an unknown action, a CIDR that does not parse: b's ingress drops, d is open again.
      for (const [rule, text] of [
        [{ action: 'Reject' }, 'unknown action'],
        [{ action: 'Deny', source: { nets: ['10.65.0.300/32'] } }, '10.65.0.300'],
      ] as const) {
        await put({ selector: "role == 'server'", ingress: [rule, { action: 'Allow' }] });
        await waitFor(`readiness names ${text}`, () => JSON.stringify(readiness().body).includes(text));
        await waitFor('a→d open again', () => tcp(a, d.ip, 8080));
        expect(tcp(a, b.ip, 8080)).toBe(false);
        expect(ping(b, a.ip)).toBe(true);
      }
      // 6. a truncated JSON value over it: the last good version stays in force, reported by key.
      await raw.put(key).value('{"apiVersion": "twill.io/v1", "kind": "NetworkPol');
      await waitFor('readiness reports the value', () => /not JSON/.test(JSON.stringify(readiness().body)));
      expect(readiness().code).toBe(0);
      expect(tcp(a, b.ip, 8080)).toBe(false);
      expect(tcp(a, d.ip, 8080)).toBe(true);
    } finally {
      await raw.delete().key(key);
      raw.close();
    }
    await waitFor('traffic back once the bad policy is gone', () => tcp(a, d.ip, 8080) && tcp(a, b.ip, 9090));
    await waitFor('readiness clean again', () => (readiness().body.badObjects ?? ['x']).length === 0);
  });

  it('with etcd stopped: readiness 503 naming the datastore, traffic keeps flowing; ready again once etcd is back', { timeout: 90_000 }, async () => {
    await waitFor('ready before', () => nsExec(host, [process.execPath, '-e', probe]).code === 0);
    await etcd.stop();
    try {
      let r = nsExec(host, [process.execPath, '-e', probe]);
      await waitFor('readiness 503', () => (r = nsExec(host, [process.execPath, '-e', probe])).code === 1, 60_000);
      expect(JSON.parse(r.stdout)).toMatchObject({ ready: false, syncer: 'error', reasons: [expect.stringMatching(/datastore syncer/)] });
      expect(tcp(a, b.ip, 9090)).toBe(true);
      expect(ping(b, a.ip)).toBe(true);
    } finally {
      await etcd.start();
    }
    await waitFor('ready again', () => nsExec(host, [process.execPath, '-e', probe]).code === 0, 60_000);
  });

  it('SIGTERM exits 0 and leaves the dataplane; a restart drops no ping and no established connection', async () => {
    // A long-lived TCP connection a→d (socat echo server in d), and a steady ping a→b.
    const echo = spawn('ip', ['netns', 'exec', d.ns, 'socat', 'TCP-LISTEN:7070,reuseaddr', 'EXEC:cat'], { stdio: 'ignore', detached: true });
    await new Promise((r) => setTimeout(r, 300));
    const conn = spawn('ip', ['netns', 'exec', a.ns, 'socat', '-', `TCP:${d.ip}:7070`], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    let echoed = '';
    conn.stdout!.on('data', (x: Buffer) => (echoed += x.toString()));
    conn.stdin!.write('before\n');
    await waitFor('echo before', () => echoed.includes('before'), 5000);
    const pingProc = spawn('ip', ['netns', 'exec', a.ns, 'ping', '-n', '-i', '0.2', '-c', '40', '-W', '1', b.ip], { stdio: ['ignore', 'pipe', 'ignore'] });
    let pingOut = '';
    pingProc.stdout!.on('data', (x: Buffer) => (pingOut += x.toString()));
    try {
      expect(await stopAgent()).toBe(0);
      // The kernel keeps everything while the agent is down.
      expect(ipIn(host, ['route', 'show', `${b.ip}/32`])).toContain(b.iface);
      await startAgent();
      await new Promise((r) => setTimeout(r, 4000));
      conn.stdin!.write('after\n');
      await waitFor('echo after restart', () => echoed.includes('after'), 5000);
      await new Promise<void>((r) => pingProc.once('exit', () => r()));
      const m = /(\d+) packets transmitted, (\d+) received/.exec(pingOut);
      expect(m).not.toBeNull();
      expect(Number(m![2])).toBe(Number(m![1]));
    } finally {
      for (const p of [conn, echo]) if (p.pid !== undefined && p.exitCode === null) try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
      if (pingProc.exitCode === null) pingProc.kill('SIGKILL');
    }
  });
});
