// Faults on a running zones lab (3 hosts, one BIRD ToR, an outside client, real etcd), each with
// live traffic from inside workload namespaces counted (a ping every 50 ms: every sequence number
// answered; long-lived TCP connections: none broken, every line echoed; a new TCP connection every
// 200 ms: none failed or needing a SYN retransmission), driven with the built `twill-lab` as a user
// would (`stop`, `start`, `status`, `verify`) and `twillctl`:
//
// 1. one twill-node SIGKILLed and started again: nothing lost between the other hosts, nor to the
//    killed host's workloads (its kernel state stays; its peers hold its routes by graceful
//    restart); once started it is ready, its sessions Established, its workloads answering.
// 2. the ToR's BIRD restarted (birdc graceful restart, then bird -R): traffic from the outside
//    client through the ToR to the DMZ loses nothing — BIRD keeps its kernel routes across the
//    restart and the hosts re-send theirs (graceful restart on both sides), so no loss is allowed.
// 3. etcd stopped for 30 s and started again: forwarding and policy hold throughout (an allowed
//    flow passes, a denied one stays denied), every node reports not ready naming the datastore,
//    and policy changes made with twillctl after the restart take effect.
// Then `verify` is clean: every pair as predicted, every expectation, every host ready.
import { writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { ROOT, startPing, type PingResult } from '../support/bgp-peers.js';
import { lab, labAsync, leftovers, type LabStatusJson, type LabVerifyJson } from '../support/lab.js';
import { startEchoServer, startTcpStream, type TcpCounts } from '../support/traffic.js';

const reason = missing({ root: true, tools: ['etcd', 'bird', 'birdc', 'socat', 'iptables-restore', 'ipset', 'nsenter', 'ping'] });
const TWILLCTL = join(ROOT, 'dist/src/cli/main.js');
const ECHO = 7000;
const ETCD_OUTAGE_S = 30;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** ICMP and the echo port reach every workload (the zones' own policies are left as they are). */
const PROBES_POLICY = `apiVersion: twill.io/v1
kind: GlobalNetworkPolicy
metadata:
  name: fault-probes
spec:
  order: 10
  selector: all()
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: ICMP
    - action: Allow
      protocol: TCP
      destination:
        ports: [${ECHO}]
`;

/** Opens the backend to the DMZ on 5432: applied after etcd is back, then deleted again. */
const BACKEND_FROM_DMZ = `apiVersion: twill.io/v1
kind: NetworkPolicy
metadata:
  name: backend-from-dmz
  namespace: zones
spec:
  order: 50
  selector: zone == "backend"
  types: [Ingress]
  ingress:
    - action: Allow
      protocol: TCP
      source:
        selector: zone == "dmz"
      destination:
        ports: [5432]
`;

interface Measured {
  what: string;
  ping: PingResult;
  sent: number;
}

/** Pings and TCP streams running while a fault happens; finish() returns what each counted. */
function measure(flows: { what: string; ns: string; to: string; tcp?: boolean }[]) {
  const running = flows.map((f) => ({ f, ping: startPing(f.ns, f.to, 0.05), tcp: f.tcp ? startTcpStream(f.ns, f.to, ECHO) : undefined }));
  return {
    async finish(): Promise<{ pings: Measured[]; tcp: { what: string; counts: TcpCounts }[] }> {
      const pings = await Promise.all(
        running.map(async (r) => {
          const ping = await r.ping.finish();
          const sent = Number(/(\d+) packets transmitted/.exec(ping.output)?.[1] ?? 0);
          return { what: r.f.what, ping, sent };
        }),
      );
      const tcp = await Promise.all(running.filter((r) => r.tcp).map(async (r) => ({ what: r.f.what, counts: await r.tcp!.finish() })));
      return { pings, tcp };
    },
  };
}

/** Nothing lost: every ping answered (but one possibly in flight at the end), every TCP count clean. */
function expectNoLoss(m: { pings: Measured[]; tcp: { what: string; counts: TcpCounts }[] }): void {
  for (const p of m.pings) {
    expect(p.ping.lost, `${p.what}: ping sequence numbers lost`).toEqual([]);
    expect(p.ping.lastReplied, `${p.what}: pings answered of ${p.sent} sent`).toBeGreaterThanOrEqual(p.sent - 1);
    expect(p.sent, `${p.what}: pings sent (ping said: ${p.ping.output.slice(-300)})`).toBeGreaterThan(40);
  }
  for (const t of m.tcp) {
    const c = t.counts;
    expect({ what: t.what, longOpened: c.longOpened, longBroken: c.longBroken, unechoed: c.sent - c.echoed, shortFailed: c.shortFailed, errors: c.errors }).toEqual({
      what: t.what,
      longOpened: 3,
      longBroken: 0,
      unechoed: 0,
      shortFailed: 0,
      errors: [],
    });
    expect(c.shortOk, `${t.what}: short connections`).toBeGreaterThan(10);
  }
}

/** A TCP connection from a namespace: the server's answer (its workload name), or '' when none. */
function tcpAnswer(ns: string, ip: string, port: number): string {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'socat', '-T', '1', '-', `TCP:${ip}:${port},connect-timeout=1`], { input: '', encoding: 'utf8', timeout: 5000 });
  return r.stdout.trim();
}

describe.skipIf(reason)('twill-lab faults (e2e: live traffic counted while a node, the ToR and etcd fail)', () => {
  const name = `ef${process.pid % 1000}`;
  let st: LabStatusJson;
  const echo: { stop(): void }[] = [];
  const ns = (w: string): string => st.workloads.find((x) => x.name === w)!.netns;
  const ipOf = (w: string): string => st.workloads.find((x) => x.name === w)!.ips[0]!;
  const status = async (): Promise<LabStatusJson> => JSON.parse((await labAsync(['status', '--name', name, '-o', 'json'])).out) as LabStatusJson;
  const twillctl = (args: string[], input?: string): string => {
    const r = spawnSync(process.execPath, [TWILLCTL, '--datastore', st.datastore, ...args], { encoding: 'utf8', input: input ?? '', timeout: 30_000 });
    expect(r.status, `twillctl ${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    const u = await labAsync(['up', '--example', 'zones', '--name', name]);
    expect(u.code, `${u.out}\n${u.err}`).toBe(0);
    st = JSON.parse(lab(['status', '--name', name, '-o', 'json']).out) as LabStatusJson;
    const file = join(st.dir, 'fault-probes.yaml');
    writeFileSync(file, PROBES_POLICY);
    twillctl(['apply', '-f', file]);
    for (const w of ['web1', 'web2', 'app2']) echo.push(startEchoServer(ns(w), ECHO));
    // ICMP is allowed once the probes policy is programmed everywhere.
    for (let i = 0; i < 100 && spawnSync('ip', ['netns', 'exec', ns('web1'), 'ping', '-c1', '-W1', ipOf('app2')]).status !== 0; i++) await sleep(100);
  });

  afterAll(async () => {
    for (const e of echo) e.stop();
    const d = lab(['down', '--name', name]);
    expect(d.code, d.err).toBe(0);
    expect(leftovers(name)).toEqual([]);
  });

  it('a twill-node SIGKILLed and started again: no loss between the other hosts nor to its workloads; it comes back ready, sessions up', async () => {
    const m = measure([
      { what: 'web1 (h1) → web2 (h2)', ns: ns('web1'), to: ipOf('web2'), tcp: true },
      { what: 'web2 (h2) → db2 (h1)', ns: ns('web2'), to: ipOf('db2') },
      { what: 'web1 (h1) → app2 (h3, the killed host)', ns: ns('web1'), to: ipOf('app2'), tcp: true },
    ]);
    await sleep(1000);
    const k = await labAsync(['stop', 'h3', '--kill', '--name', name]);
    expect(k.out, k.err).toMatch(/h3: killed/);
    await sleep(1000);
    const down = await status();
    expect(down.hosts.find((h) => h.name === 'h3')).toMatchObject({ agent: 'stopped', ready: false });
    // h1 sees its session to h3 gone (and holds h3's routes: graceful restart).
    expect(down.hosts.find((h) => h.name === 'h1')!.sessions.find((s) => s.peerAddress === '198.18.1.3')?.state).not.toBe('Established');
    await sleep(1000);
    const s = await labAsync(['start', 'h3', '--name', name]);
    expect(s.code, `${s.out}${s.err}`).toBe(0);
    expect(s.out).toMatch(/h3: started/);
    await sleep(1000);
    expectNoLoss(await m.finish());
    const back = await status();
    expect(back.hosts.find((h) => h.name === 'h3')).toMatchObject({ agent: 'running', ready: true, reasons: [] });
    for (const h of back.hosts) expect(h.sessions.map((x) => x.state), h.name).toEqual(['Established', 'Established', 'Established']);
    // h3's workloads answer again on their own ports (verify, at the end, probes every pair).
    expect(tcpAnswer(ns('web1'), ipOf('app2'), 8080)).toBe('zones/app2');
  });

  it('the ToR BIRD restarted (graceful restart): traffic from the outside client through the ToR loses nothing', async () => {
    const client = st.outside.find((o) => o.name === 'client')!;
    const m = measure([{ what: 'client (outside) → web1 via the ToR', ns: client.netns, to: ipOf('web1'), tcp: true }]);
    await sleep(1000);
    const stop = await labAsync(['stop', 'tor-r1', '--name', name]);
    expect(stop.out, stop.err).toMatch(/tor-r1: stopped/);
    await sleep(1000);
    // While BIRD is away, its routes to the hosts' blocks are still in the ToR's kernel.
    const routes = spawnSync('ip', ['-n', st.tors[0]!.netns, 'route', 'show', 'proto', 'bird'], { encoding: 'utf8' }).stdout;
    expect(routes.trim().split('\n')).toHaveLength(3);
    expect((await status()).tors[0]!.daemon).toBe('stopped');
    await sleep(1000);
    const start = await labAsync(['start', 'tor-r1', '--name', name]);
    expect(start.code, `${start.out}${start.err}`).toBe(0);
    await sleep(1000);
    expectNoLoss(await m.finish());
    const back = await status();
    expect(back.tors[0]!.daemon).toBe('running');
    for (const h of back.hosts) expect(h.sessions.every((x) => x.state === 'Established'), h.name).toBe(true);
  });

  it(`etcd stopped for ${ETCD_OUTAGE_S} s and started again: forwarding and policy hold, nodes say not ready and why, changes after the restart take effect`, async () => {
    const m = measure([
      { what: 'web1 (h1) → web2 (h2)', ns: ns('web1'), to: ipOf('web2'), tcp: true },
      { what: 'web1 (h1) → app2 (h3)', ns: ns('web1'), to: ipOf('app2') },
    ]);
    const stop = await labAsync(['stop', 'etcd', '--name', name]);
    expect(stop.out, stop.err).toMatch(/etcd: stopped/);
    const t0 = Date.now();
    let rounds = 0;
    let sawNotReady = false;
    while (Date.now() - t0 < ETCD_OUTAGE_S * 1000) {
      // An allowed flow passes (DMZ on 443), a denied one stays denied (DMZ → backend).
      expect(tcpAnswer(ns('web1'), ipOf('web2'), 443), 'web1 → web2:443 during the outage').toBe('zones/web2');
      expect(tcpAnswer(ns('web1'), ipOf('db1'), 5432), 'web1 → db1:5432 during the outage').toBe('');
      if (!sawNotReady && Date.now() - t0 > 3000) {
        const s = await status();
        for (const h of s.hosts) {
          expect(h.ready, `${h.name} ready while etcd is down`).toBe(false);
          expect(h.reasons.join('\n'), h.name).toMatch(/datastore/);
        }
        sawNotReady = true;
      }
      rounds++;
      await sleep(1000);
    }
    expect(sawNotReady).toBe(true);
    expect(rounds).toBeGreaterThan(5);
    const start = await labAsync(['start', 'etcd', '--name', name]);
    expect(start.code, `${start.out}${start.err}`).toBe(0);
    expectNoLoss(await m.finish());

    // Every node ready again once etcd is back, before any change is made (its watches reconnected).
    let s = await status();
    for (let i = 0; i < 20 && !s.hosts.every((h) => h.ready); i++) {
      await sleep(500);
      s = await status();
    }
    expect(s.hosts.map((h) => [h.name, h.ready, h.reasons])).toEqual(s.hosts.map((h) => [h.name, true, []]));
    // A change made after the restart takes effect: the DMZ may now reach the backend …
    const file = join(st.dir, 'backend-from-dmz.yaml');
    writeFileSync(file, BACKEND_FROM_DMZ);
    twillctl(['apply', '-f', file]);
    let answer = '';
    for (let i = 0; i < 60 && answer !== 'zones/db1'; i++) {
      answer = tcpAnswer(ns('web1'), ipOf('db1'), 5432);
      if (answer !== 'zones/db1') await sleep(500);
    }
    expect(answer, 'web1 → db1:5432 after the policy allowing it').toBe('zones/db1');
    // … and, the policy deleted, no longer.
    twillctl(['delete', 'networkpolicy', 'backend-from-dmz', '-n', 'zones']);
    for (let i = 0; i < 60 && answer !== ''; i++) {
      answer = tcpAnswer(ns('web1'), ipOf('db1'), 5432);
      if (answer !== '') await sleep(500);
    }
    expect(answer, 'web1 → db1:5432 after that policy was deleted').toBe('');
  });

  it('after all three faults the whole lab verifies: every pair as the policy model predicts, every expectation, every host ready with its sessions up', async () => {
    const v = await labAsync(['verify', '--name', name, '-o', 'json']);
    const rep = JSON.parse(v.out) as LabVerifyJson;
    expect(rep.checks.filter((c) => !c.ok)).toEqual([]);
    expect(rep.expectations.filter((e) => !e.ok)).toEqual([]);
    expect(rep.cells.filter((c) => c.predicted !== undefined && c.predicted !== c.allowed)).toEqual([]);
    expect(v.code).toBe(0);
  });
});
