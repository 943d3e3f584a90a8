// The lab end to end, driven as a user drives it: the built `twill-lab` CLI brings up the shipped
// examples (real etcd, twill-node per host, BIRD ToR, workloads through twill-cni), `verify` probes
// every pair with real TCP and UDP, and `down` leaves nothing behind.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import type { PlannedWorkload } from '../../src/lab/plan.js';
import type { LabState } from '../../src/lab/state.js';
import { cniConfig, cniEnv } from '../../src/lab/up.js';
import { ROOT } from '../support/bgp-peers.js';
import { lab, leftovers, type LabStatusJson as Status, type LabVerifyJson as Verify } from '../support/lab.js';

const reason = missing({ root: true, tools: ['etcd', 'bird', 'birdc', 'socat', 'iptables-restore', 'ipset', 'nsenter', 'ping'] });
const frrReason = reason ?? missing({ tools: ['vtysh', '/usr/lib/frr/zebra', '/usr/lib/frr/bgpd'] });

interface TorStatus {
  rack: string;
  router: string;
  daemon: string;
  sessions: { peer: string; peerAddress: string; state: string }[];
}

const suffix = `${process.pid % 1000}`;

/** The zone rules in full: DMZ from anywhere on 443; App only from the DMZ; Backend only from App. Returns the cells that break them. */
function zoneRuleBreaks(cells: Verify['cells']): string[] {
  const zone = (id: string): string => (id.startsWith('zones/web') ? 'dmz' : id.startsWith('zones/app') ? 'app' : id.startsWith('zones/db') ? 'backend' : 'outside');
  return cells
    .filter((c) => c.allowed !== (zone(c.to) === 'dmz' || (zone(c.to) === 'app' && zone(c.from) === 'dmz') || (zone(c.to) === 'backend' && zone(c.from) === 'app')))
    .map((c) => `${c.from}→${c.to}:${c.port} ${c.allowed ? 'answered' : 'no answer'}`);
}

describe.skipIf(reason)('twill-lab (e2e: the examples on a whole cluster, real traffic)', () => {
  const up: string[] = [];
  afterAll(() => {
    for (const n of up) lab(['down', '--name', n]);
  });

  it('zones: up, every expectation and prediction holds on live traffic, a workload added to the running lab is reachable from another host as soon as its ADD returns, down leaves nothing (faults: lab-faults.test.ts)', async () => {
    const name = `ez${suffix}`;
    up.push(name);
    const u = lab(['up', '--example', 'zones', '--name', name]);
    expect(u.code, `${u.out}\n${u.err}`).toBe(0);
    expect(u.out).toMatch(/is up in/);

    const st = JSON.parse(lab(['status', '--name', name, '-o', 'json']).out) as Status;
    expect(st.hosts).toHaveLength(3);
    expect(st.workloads.every((w) => w.ips.length === 1 && w.ips[0]!.startsWith('10.70.'))).toBe(true);
    for (const h of st.hosts) expect(h.sessions.every((s) => s.state === 'Established') && h.sessions.length === 3).toBe(true);
    // The datastore URL works from the machine's own namespace, with twillctl.
    const get = spawnSync(process.execPath, [join(ROOT, 'dist/src/cli/main.js'), '--datastore', st.datastore, 'get', 'workloadendpoints', '-A', '-o', 'json'], { encoding: 'utf8' });
    expect(get.status).toBe(0);

    const v = lab(['verify', '--name', name, '-o', 'json']);
    const rep = JSON.parse(v.out) as Verify;
    expect(rep.expectations.filter((e) => !e.ok)).toEqual([]);
    expect(rep.checks.filter((c) => !c.ok)).toEqual([]);
    expect(v.code).toBe(0);
    expect(zoneRuleBreaks(rep.cells)).toEqual([]);
    // The table a user reads.
    const table = lab(['verify', '--name', name]);
    expect(table.out).toMatch(/verified in/);

    // A workload added to the running lab (through twill-cni, as a runtime adds it) is reachable
    // from another host as soon as its ADD returns.
    const labState = JSON.parse(readFileSync(join(st.dir, 'state.json'), 'utf8')) as LabState;
    const h3 = labState.plan.hosts.find((h) => h.name === 'h3')!;
    const added: PlannedWorkload = {
      name: 'web3',
      namespace: 'zones',
      host: 'h3',
      labels: { zone: 'dmz' },
      ports: [{ port: 443, protocol: 'TCP' }],
      id: 'zones/web3',
      ns: `${name}-w-zones-web3`,
      containerId: `${name}-zones-web3`,
      hostNs: h3.ns,
    };
    spawnSync('ip', ['netns', 'add', added.ns]);
    try {
      const server = spawn('ip', ['netns', 'exec', added.ns, process.execPath, join(ROOT, 'dist/src/lab/serve.js'), 'zones/web3', 'tcp:443'], { stdio: 'ignore', detached: true });
      const add = spawnSync('nsenter', [`--net=/run/netns/${h3.ns}`, '--', process.execPath, join(ROOT, 'dist/src/cni/main.js')], {
        input: JSON.stringify(cniConfig(labState, added)),
        encoding: 'utf8',
        env: cniEnv('ADD', added),
        timeout: 60_000,
      });
      expect(add.status, add.stdout + add.stderr).toBe(0);
      const ip = (JSON.parse(add.stdout) as { ips: { address: string }[] }).ips[0]!.address.split('/')[0]!;
      const web1ns = st.workloads.find((w) => w.name === 'web1')!.netns;
      const first = spawnSync('ip', ['netns', 'exec', web1ns, 'socat', '-T', '2', '-', `TCP:${ip}:443,connect-timeout=2`], { input: '', encoding: 'utf8', timeout: 5000 });
      expect(first.stdout.trim()).toBe('zones/web3');
      if (server.pid) process.kill(-server.pid, 'SIGKILL');
      const del = spawnSync('nsenter', [`--net=/run/netns/${h3.ns}`, '--', process.execPath, join(ROOT, 'dist/src/cni/main.js')], {
        input: JSON.stringify(cniConfig(labState, added)),
        encoding: 'utf8',
        env: cniEnv('DEL', added),
        timeout: 60_000,
      });
      expect(del.status, del.stdout + del.stderr).toBe(0);
    } finally {
      spawnSync('ip', ['netns', 'del', added.ns]);
    }

    const d = lab(['down', '--name', name]);
    expect(d.code, d.err).toBe(0);
    expect(leftovers(name)).toEqual([]);
  });

  it('xyz: nine pods in three namespaces, everyone reaches everyone on TCP and UDP 80/81 before any policy', () => {
    const name = `ex${suffix}`;
    up.push(name);
    const u = lab(['up', '--example', 'xyz', '--name', name]);
    expect(u.code, `${u.out}\n${u.err}`).toBe(0);
    const rep = JSON.parse(lab(['verify', '--name', name, '-o', 'json']).out) as Verify;
    expect(rep.cells).toHaveLength(9 * 8 * 4);
    expect(rep.cells.filter((c) => !c.allowed).map((c) => `${c.from}→${c.to} ${c.protocol}/${c.port}`)).toEqual([]);
    expect(lab(['down', '--name', name]).code).toBe(0);
    expect(leftovers(name)).toEqual([]);
  });

  it('down also cleans a lab whose processes were killed', () => {
    const name = `ek${suffix}`;
    up.push(name);
    expect(lab(['up', '--example', 'zones', '--name', name]).code).toBe(0);
    const st = JSON.parse(lab(['status', '--name', name, '-o', 'json']).out) as Status;
    // Kill every process of the lab the hard way (by the PIDs in its state), then take it down.
    const state = JSON.parse(readFileSync(join(st.dir, 'state.json'), 'utf8')) as { procs: { pid: number }[] };
    for (const p of state.procs) spawnSync('kill', ['-KILL', String(p.pid)]);
    expect(lab(['down', '--name', name]).code).toBe(0);
    expect(leftovers(name)).toEqual([]);
  });
});

describe.skipIf(frrReason)('twill-lab with an FRR top-of-rack router (e2e: two racks, BIRD and FRR ToRs, real traffic)', () => {
  const name = `zf${suffix}`;
  afterAll(() => {
    lab(['down', '--name', name]);
  });

  it('zones-frr: both ToRs peer with their hosts and each other, the outside client behind the FRR ToR reaches only the DMZ, its routes outlive a killed bgpd (graceful restart), and down after the FRR daemons were killed leaves nothing', () => {
    const u = lab(['up', '-f', join(ROOT, 'manifests/lab/zones-frr.yaml'), '--name', name]);
    expect(u.code, `${u.out}\n${u.err}`).toBe(0);
    expect(u.out).toMatch(/tor-r1 \(BIRD\), tor-r2 \(FRR\)/);

    const st = JSON.parse(lab(['status', '--name', name, '-o', 'json']).out) as Omit<Status, 'tors'> & { tors: TorStatus[] };
    const tors = st.tors.map((t) => ({ rack: t.rack, router: t.router, daemon: t.daemon, sessions: t.sessions.map((x) => `${x.peer} ${x.state}`) }));
    expect(tors).toEqual([
      { rack: 'r1', router: 'bird', daemon: 'running', sessions: ['host h1 Established', 'host h2 Established', 'tor r2 Established'] },
      { rack: 'r2', router: 'frr', daemon: 'running', sessions: ['host h3 Established', 'tor r1 Established'] },
    ]);
    // The FRR ToR learned the blocks of every host (h3's from h3, h1's and h2's from the BIRD ToR) into its kernel.
    const torNs = `${name}-tor-r2`;
    const routes = spawnSync('ip', ['-n', torNs, 'route', 'show', 'proto', 'bgp'], { encoding: 'utf8' }).stdout;
    for (const w of st.workloads) expect(routes, `${w.name} ${w.ips[0]}`).toMatch(new RegExp(`^10\\.71\\.\\d+\\.\\d+/26 .*via ${w.host === 'h3' ? '198\\.18\\.2\\.1' : '198\\.19\\.0\\.1'}`, 'm'));

    const v = lab(['verify', '--name', name, '-o', 'json']);
    const rep = JSON.parse(v.out) as Verify;
    expect(rep.expectations.filter((e) => !e.ok)).toEqual([]);
    expect(rep.checks.filter((c) => !c.ok)).toEqual([]);
    expect(rep.checks.map((c) => c.what)).toEqual(expect.arrayContaining(['tor tor-r2 running', 'tor tor-r2-zebra running', 'tor-r2 BGP sessions']));
    expect(v.code).toBe(0);
    // The client sits behind the FRR ToR: it reaches the DMZ on both racks, nothing else.
    const fromClient = rep.cells.filter((c) => c.from === 'client').map((c) => `${c.to} ${c.allowed}`).sort();
    expect(fromClient).toEqual(['zones/app1 false', 'zones/app2 false', 'zones/db1 false', 'zones/db2 false', 'zones/web1 true', 'zones/web2 true']);
    expect(zoneRuleBreaks(rep.cells)).toEqual([]);

    // Kill the FRR daemons the hard way (bgpd, then zebra), then take the lab down: their
    // processes, namespaces, files (the lab's and FRR's scratch directories in /var/tmp/frr) are all gone.
    const state = JSON.parse(readFileSync(join(st.dir, 'state.json'), 'utf8')) as LabState;
    const frr = state.procs.filter((p) => p.role === 'tor' && p.argv[0]!.startsWith('/usr/lib/frr/'));
    expect(frr.map((p) => p.name)).toEqual(['tor-r2-zebra', 'tor-r2']);
    // Graceful restart: bgpd killed (no NOTIFICATION), zebra keeps the routes it learned, so the
    // client behind this ToR still reaches the DMZ on the other rack.
    const [zebra, bgpd] = frr as [LabState['procs'][number], LabState['procs'][number]];
    const before = spawnSync('ip', ['-n', torNs, 'route', 'show', 'proto', 'bgp'], { encoding: 'utf8' }).stdout;
    spawnSync('kill', ['-KILL', String(bgpd.pid)]);
    const clientNs = `${name}-out-client`;
    const web1 = st.workloads.find((w) => w.name === 'web1')!;
    const viaHeldRoutes = spawnSync('ip', ['netns', 'exec', clientNs, 'socat', '-T', '2', '-', `TCP:${web1.ips[0]}:443,connect-timeout=2`], { input: '', encoding: 'utf8', timeout: 5000 });
    expect(viaHeldRoutes.stdout.trim()).toBe('zones/web1');
    expect(spawnSync('ip', ['-n', torNs, 'route', 'show', 'proto', 'bgp'], { encoding: 'utf8' }).stdout).toBe(before);
    spawnSync('kill', ['-KILL', String(zebra.pid)]);
    const scratch = frr.map((p) => `/var/tmp/frr/${p.argv[0]!.split('/').pop()}.${p.pid}`);
    expect(scratch.filter((d) => existsSync(d))).toEqual(scratch);
    const d = lab(['down', '--name', name]);
    expect(d.code, d.err).toBe(0);
    expect(leftovers(name)).toEqual([]);
    expect(scratch.filter((x) => existsSync(x))).toEqual([]);
    expect(state.procs.filter((p) => existsSync(`/proc/${p.pid}`) && readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes(state.dir))).toEqual([]);
  });
});

describe.skipIf(reason)('twill-lab: a full node-to-node mesh across racks (e2e: next hops resolved through the ToR)', () => {
  const name = `nr${suffix}`;
  afterAll(() => {
    lab(['down', '--name', name]);
  });

  it('two racks, default mesh: each host installs the other rack\'s block via its ToR, verify is clean, traffic flows', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twill-lab-mesh-'));
    const model = join(dir, 'mesh.yaml');
    writeFileSync(
      model,
      `name: mesh
hosts:
  - { name: h1, rack: r1 }
  - { name: h2, rack: r2 }
racks:
  - { name: r1, asn: 65001 }
  - { name: r2, asn: 65002 }
bgp: { asn: 64512 }
pools:
  - { cidr: 10.72.0.0/16, blockSize: 26 }
namespaces:
  - { name: m }
workloads:
  - { name: a, namespace: m, host: h1, ports: [80] }
  - { name: b, namespace: m, host: h2, ports: [80] }
`,
    );
    try {
      const u = lab(['up', '-f', model, '--name', name]);
      expect(u.code, `${u.out}\n${u.err}`).toBe(0);
      const st = JSON.parse(lab(['status', '--name', name, '-o', 'json']).out) as Status;
      // h1 ⇄ h2 is an iBGP session across racks; h2's block comes with next hop h2 (198.18.2.1),
      // not on h1's LAN: installed via h1's ToR (198.18.1.254), and the other way round.
      expect(st.hosts.map((h) => `${h.name} ${h.sessions.map((x) => `${x.peerAddress} ${x.state}`).join(', ')}`)).toEqual(
        expect.arrayContaining([expect.stringContaining('198.18.2.1 Established'), expect.stringContaining('198.18.1.1 Established')]),
      );
      for (const [host, other, tor] of [['h1', 'h2', '198.18.1.254'], ['h2', 'h1', '198.18.2.254']] as const) {
        const block = st.workloads.find((w) => w.host === other)!.ips[0]!;
        const routes = spawnSync('ip', ['-n', `${name}-${host}`, 'route', 'show', 'proto', '85'], { encoding: 'utf8' }).stdout;
        expect(routes, `${host}: route to ${other}'s block ${block}`).toMatch(new RegExp(`^10\\.72\\.\\d+\\.\\d+/26 via ${tor.replace(/\./g, '\\.')} `, 'm'));
      }
      const v = lab(['verify', '--name', name, '-o', 'json']);
      const rep = JSON.parse(v.out) as Verify;
      expect(rep.checks.filter((c) => !c.ok)).toEqual([]);
      expect(rep.checks.filter((c) => c.what.endsWith('kernel as its agent wants it')).map((c) => c.detail)).toEqual(['no differences (twillctl verify)', 'no differences (twillctl verify)']);
      expect(rep.cells.filter((c) => !c.allowed)).toEqual([]);
      expect(v.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
