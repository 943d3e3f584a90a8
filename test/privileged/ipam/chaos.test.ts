// IPAM under SIGKILL from 10 concurrent hosts across an etcd leader kill (issue 15, point 3).
// A real 3-member etcd cluster over TLS; 10 "hosts", each two child processes at once (as
// concurrent CNI calls of one host are) running the built IPAM library in an allocation/release
// loop, each SIGKILLed shortly after it starts an allocation or a release and started again (the
// new process releases its slot's older workloads, as a runtime's later DELs would). After 25
// allocations the etcd leader is SIGKILLed, after 25 more restarted. Every line a child prints carries CLOCK_MONOTONIC (shared by all
// processes), so the record orders events across hosts: an address is live from its ALLOC line
// until its holder's BEGIN-REL line. Then GC (gcPass, what twill-node and
// twill-kube-controllers run) with the survivors' WorkloadEndpoints as the live set, and:
// `twillctl ipam check` clean, no address ever held by two live workloads, every survivor still
// holds its address, and the allocated count equals the survivors'.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, type IPAMBlockResource, type WorkloadEndpointResource } from '../../../src/api/types.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';
import { gcPass, Ipam, newGcState } from '../../../ipam/index.js';
import { missing } from '../../support/env.js';
import { startEtcdCluster, type EtcdCluster } from '../../support/etcd-cluster.js';
import { makePki } from '../../support/pki.js';

const ROOT = resolve(__dirname, '../../..');
const CTL = join(ROOT, 'dist/src/cli/main.js');
const reason = missing({ tools: ['etcd', 'openssl'] });

const HOSTS = Array.from({ length: 10 }, (_, i) => `chaos${i}`);
/** IPAM processes per host at any time. */
const SLOTS = 2;
/** Allocations before the leader is killed, while it is dead, and after it is back (phases follow
 * progress, not the clock, so a loaded machine only makes the run longer). */
const PHASE_ALLOCS = 25;
/** A phase that makes no progress for this long ends the run (and the test fails on the counts). */
const PHASE_CAP_MS = 40_000;
const POOL = { cidr: '10.80.0.0/24', blockSize: 29 };

/** One IPAM process of a host: allocates and releases in a loop; prints `<monotonic ns> WORD handle [ips]`. */
const WORKER = `
import { openDatastore } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/datastore/index.js')).href)};
import { Ipam } from ${JSON.stringify(pathToFileURL(join(ROOT, 'dist/ipam/index.js')).href)};
const env = process.env;
const node = env.W_NODE;
const say = (...w) => process.stdout.write(process.hrtime.bigint() + ' ' + w.join(' ') + '\\n');
const ds = await openDatastore(env.W_URL, { etcdCa: env.W_CA, etcdCert: env.W_CERT, etcdKey: env.W_KEY, timeoutMs: 3000 });
const ipam = new Ipam(ds);
const live = env.W_LIVE ? env.W_LIVE.split(',') : [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let n = 0;
// As a runtime's DEL: retried while the datastore is unavailable; given up after ~6 s (GC's job then).
async function release(h) {
  for (let i = 0; ; i++) {
    try { await ipam.releaseHandleIfExists(h); return true; }
    catch (e) { if (i >= 30) { say('FAIL-REL', h, JSON.stringify(String(e && e.message))); return false; } await sleep(200); }
  }
}
async function lane() {
  for (;;) {
    if (live.length < 4 && (live.length === 0 || Math.random() < 0.6)) {
      const h = 'chaos.' + node + '-' + env.W_SLOT + '-' + env.W_GEN + '-' + n++;
      say('BEGIN-ALLOC', h);
      try {
        const { ips } = await ipam.autoAssign({ node, handleID: h, num4: 1 });
        say('ALLOC', h, ips.map((a) => a.ip).join(','));
        live.push(h);
      } catch (e) {
        say('FAIL-ALLOC', h, JSON.stringify(String(e && e.message)));
        await release(h); // a failed ADD is followed by a DEL
      }
    } else {
      const h = live.splice(Math.floor(Math.random() * live.length), 1)[0];
      say('BEGIN-REL', h);
      if (await release(h)) say('REL', h);
    }
  }
}
say('START', node);
await lane();
`;

interface Event {
  t: bigint;
  host: string;
  slot: number;
  word: string;
  handle: string;
  ips: string[];
}

interface RunRecord {
  events: Event[];
  /** Kills that landed after a BEGIN-ALLOC / BEGIN-REL of that process with no end line for it. */
  midAlloc: number;
  midRelease: number;
  kills: number;
  /** CLOCK_MONOTONIC when the leader was killed and when it answered again. */
  leaderDown: [bigint, bigint];
  /** Host processes that ended by themselves (a crash of the IPAM code). */
  unexpected: string[];
}

/** Replays the record in time order: duplicates (an ALLOC of an address a live workload holds) and the survivors. */
function replay(events: Event[]): { duplicates: string[]; survivors: Map<string, { host: string; ips: string[] }> } {
  const holder = new Map<string, string>();
  const live = new Map<string, { host: string; ips: string[] }>();
  const duplicates: string[] = [];
  for (const e of [...events].sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0))) {
    if (e.word === 'ALLOC') {
      for (const ip of e.ips) {
        const prev = holder.get(ip);
        if (prev !== undefined && prev !== e.handle) duplicates.push(`${ip} handed to ${e.handle} while ${prev} still held it`);
        holder.set(ip, e.handle);
      }
      live.set(e.handle, { host: e.host, ips: e.ips });
    } else if (e.word === 'BEGIN-REL') {
      for (const ip of live.get(e.handle)?.ips ?? []) if (holder.get(ip) === e.handle) holder.delete(ip);
      live.delete(e.handle);
    }
  }
  return { duplicates, survivors: live };
}

describe.skipIf(reason)('IPAM under SIGKILL from 10 hosts across an etcd leader kill (privileged tier: real TLS cluster)', () => {
  let dir: string;
  let cluster: EtcdCluster;
  let ds: Datastore;
  const children = new Set<ChildProcess>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'twill-ipam-chaos-'));
    cluster = await startEtcdCluster(makePki(dir), dir);
    ds = await openDatastore(cluster.url, { ...cluster.tls, timeoutMs: 5000 });
    await ds.create({ apiVersion: API_VERSION, kind: 'IPPool', metadata: { name: 'chaos' }, spec: POOL });
    for (const h of HOSTS) await ds.create({ apiVersion: API_VERSION, kind: 'Node', metadata: { name: h }, spec: {} });
  }, 60_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await ds?.close();
    await cluster?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the hosts, killing and restarting their processes; the leader dies and returns meanwhile. */
  async function run(): Promise<RunRecord> {
    const rec: RunRecord = { events: [], midAlloc: 0, midRelease: 0, kills: 0, unexpected: [], leaderDown: [0n, 0n] };
    const liveOf = (host: string, slot: number): string[] => [...replay(rec.events.filter((e) => e.host === host && e.slot === slot)).survivors.keys()];
    let stopping = false;

    const startHost = (host: string, slot: number, gen: number): Promise<void> =>
      new Promise((done) => {
        const env: NodeJS.ProcessEnv = {
          PATH: process.env.PATH ?? '',
          W_NODE: host,
          W_SLOT: String(slot),
          W_GEN: String(gen),
          W_URL: cluster.url,
          W_CA: cluster.tls.etcdCa,
          W_CERT: cluster.tls.etcdCert,
          W_KEY: cluster.tls.etcdKey,
          W_LIVE: liveOf(host, slot).join(','),
        };
        const child = spawn(process.execPath, ['--no-deprecation', '--input-type=module', '-e', WORKER], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        children.add(child);
        // Killed shortly after one of its next starts of an operation, alternately an allocation and a release.
        let countdown = 1 + Math.floor(Math.random() * 4);
        const target = (gen + slot) % 2 === 0 ? 'BEGIN-ALLOC' : 'BEGIN-REL';
        let open = new Map<string, string>();
        let killed = false;
        let buf = '';
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-2000)));
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          const lines = buf.split('\n');
          buf = lines.pop() ?? ''; // a line cut by the kill is not an event
          for (const line of lines) {
            const [t, word, handle = '', ips = ''] = line.split(' ');
            if (word === 'START' || word === undefined || t === undefined) continue;
            rec.events.push({ t: BigInt(t), host, slot, word, handle, ips: ips ? ips.split(',') : [] });
            if (word.startsWith('BEGIN-')) open.set(handle, word);
            else open.delete(handle);
            if (!killed && word === target && --countdown <= 0) {
              killed = true;
              setTimeout(() => {
                const mid = [...open.values()];
                if (mid.includes('BEGIN-ALLOC')) rec.midAlloc++;
                if (mid.includes('BEGIN-REL')) rec.midRelease++;
                rec.kills++;
                child.kill('SIGKILL');
              }, Math.random() * 15);
            }
          }
        });
        child.on('close', (code, signal) => {
          children.delete(child);
          open = new Map();
          if (signal !== 'SIGKILL') rec.unexpected.push(`host ${host} process ended by itself (${code}): ${stderr}`);
          if (stopping) return done();
          setTimeout(() => void startHost(host, slot, gen + 1).then(done), 50 + Math.random() * 150);
        });
      });

    const hosts = Promise.all(HOSTS.flatMap((h) => Array.from({ length: SLOTS }, (_, slot) => startHost(h, slot, 0))));
    const allocs = (): number => rec.events.filter((e) => e.word === 'ALLOC').length;
    /** Until PHASE_ALLOCS more allocations were recorded (or PHASE_CAP_MS passed). */
    const phase = async (): Promise<void> => {
      const target = allocs() + PHASE_ALLOCS;
      const deadline = Date.now() + PHASE_CAP_MS;
      while (allocs() < target && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    };
    await phase();
    const leader = await cluster.leader();
    await leader.kill();
    const down = process.hrtime.bigint();
    await phase();
    await leader.start();
    rec.leaderDown = [down, process.hrtime.bigint()];
    await phase();
    stopping = true;
    for (const c of children) c.kill('SIGKILL');
    await hosts;
    return rec;
  }

  it('no address is held by two live workloads; after GC the check is clean and only the survivors hold addresses', async () => {
    const rec = await run();
    const { duplicates, survivors } = replay(rec.events);
    const count = (w: string): number => rec.events.filter((e) => e.word === w).length;
    const [down, up] = rec.leaderDown;
    const whileDown = rec.events.filter((e) => e.word === 'ALLOC' && e.t > down && e.t < up).length;
    process.stdout.write(
      `ipam chaos: ${count('ALLOC')} allocations, ${count('REL')} releases, ${count('FAIL-ALLOC')} failed allocations, ` +
        `${rec.kills} + ${HOSTS.length * SLOTS} kills (${rec.midAlloc} mid-allocation, ${rec.midRelease} mid-release), ${survivors.size} survivors, ${whileDown} allocations while the leader was dead\n`,
    );
    expect(rec.unexpected).toEqual([]);
    expect(duplicates).toEqual([]);
    // The run did what it claims: hosts died in the middle of both kinds of operation.
    expect(rec.midAlloc).toBeGreaterThan(0);
    expect(rec.midRelease).toBeGreaterThan(0);
    expect(survivors.size).toBeGreaterThan(0);
    // Allocation went on with two members of three.
    expect(whileDown).toBeGreaterThanOrEqual(PHASE_ALLOCS);

    // The survivors' endpoints exist (as their CNI ADD would have written them); GC sees the rest unused.
    for (const [handle, s] of survivors) {
      const cid = handle.slice('chaos.'.length);
      const wep: WorkloadEndpointResource = {
        apiVersion: API_VERSION,
        kind: 'WorkloadEndpoint',
        metadata: { name: cid, namespace: 'default' },
        spec: { node: s.host, containerID: cid, interfaceName: `tw${cid.replace(/[^a-z0-9]/g, '').slice(-12)}`, ipNetworks: s.ips.map((ip) => `${ip}/32`) },
      };
      await ds.create(wep);
    }
    const gc = newGcState();
    const now = Date.now();
    await gcPass(ds, gc, now, { graceMs: 60_000 });
    await gcPass(ds, gc, now + 60_000, { graceMs: 60_000 });

    const check = spawnSync(
      process.execPath,
      [CTL, '--datastore', cluster.url, '--etcd-ca', cluster.tls.etcdCa, '--etcd-cert', cluster.tls.etcdCert, '--etcd-key', cluster.tls.etcdKey, 'ipam', 'check', '--grace', '0s'],
      { encoding: 'utf8' },
    );
    expect(check.stdout + check.stderr).toContain('No problems found.');
    expect(check.status).toBe(0);

    const ipam = new Ipam(ds);
    for (const [handle, s] of survivors) expect((await ipam.handleAssignments(handle)).map((a) => a.ip), handle).toEqual(s.ips);
    const blocks = (await ds.list<IPAMBlockResource>({ kind: 'IPAMBlock' })).items;
    const allocated = blocks.reduce((n, b) => n + b.spec.allocations.filter((a) => a !== null).length, 0);
    expect(allocated).toBe([...survivors.values()].reduce((n, s) => n + s.ips.length, 0));
  }, 240_000);
});
