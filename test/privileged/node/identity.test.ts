// twill-node's address at start, with the built program in a host namespace that has two
// interfaces with global addresses: without a flag it refuses to guess (naming both and the
// flags), programming nothing; --node-ip picks one, --ip-autodetection can-reach=… the other
// (a real route lookup). The chosen address is registered in the Node resource and served on the
// local API, read back with the built twillctl.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeResource } from '../../../src/api/types.js';
import { openDatastore } from '../../../src/datastore/index.js';
import { missing, uniquePrefix } from '../../support/env.js';
import { NetnsPool, ipIn, nsExec } from '../../support/netns.js';
import { TWILL_NODE_MAIN, waitFor } from '../felix/harness.js';

const TWILLCTL_MAIN = resolve(__dirname, '../../../dist/src/cli/main.js');
const reason = missing({ root: true, tools: ['ip', 'iptables-restore', 'ipset'] });

describe.skipIf(reason)('twill-node address at start (privileged: netns, the built programs)', () => {
  const prefix = uniquePrefix('id');
  const pool = new NetnsPool(prefix);
  let host: string;
  let dir: string;
  const e0 = `${prefix}e0`;
  const e1 = `${prefix}e1`;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'twill-node-id-'));
    chmodSync(dir, 0o755); // so that what keeps others out is the API's own directory and socket
    host = pool.create('h');
    const far = pool.create('f');
    ipIn(host, ['link', 'set', 'lo', 'up']);
    for (const [i, name] of [e0, e1].entries()) {
      ipIn(host, ['link', 'add', name, 'type', 'veth', 'peer', 'name', `${prefix}p${i}`, 'netns', far]);
      ipIn(host, ['addr', 'add', `198.18.${10 + i}.1/24`, 'dev', name]);
      ipIn(host, ['link', 'set', name, 'up']);
      ipIn(far, ['link', 'set', `${prefix}p${i}`, 'up']);
    }
  });

  afterAll(() => {
    pool.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const nodeArgs = (name: string, extra: string[], store = name): string[] => [
    'netns', 'exec', host, process.execPath, TWILL_NODE_MAIN,
    '--node-name', name, '--datastore', `file:${join(dir, `${store}.json`)}`, '--health-port', '0',
    '--api-socket', join(dir, 'run', `${name}.sock`), '--cni-socket', '', ...extra,
  ];

  it('with two candidates and no flag, it fails at start naming both and the flags, and programs nothing', () => {
    const r = spawnSync('ip', nodeArgs('amb', []), { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`twill-node: cannot start: cannot choose this node's IPv4 address: 2 candidates (${e0} 198.18.10.1/24, ${e1} 198.18.11.1/24), and twill-node does not guess`);
    expect(r.stderr).toContain(`hint: pick one with --node-ip 198.18.10.1/24, or a rule: --ip-autodetection interface=${e0}`);
    const rules = nsExec(host, ['iptables-save']).stdout;
    expect(rules).not.toMatch(/tw-/);
  });

  /** Runs the agent until its API answers; returns `twillctl node status -o json` and the stored Node. */
  async function runAndAsk(name: string, extra: string[]): Promise<{ status: { nodeName: string; ipv4Address?: string }; node: NodeResource | undefined; socketMode: number; code: number | null }> {
    const sock = join(dir, 'run', `${name}.sock`);
    const p = spawn('ip', nodeArgs(name, extra), { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    p.stdout.on('data', (b: Buffer) => (log += b.toString()));
    p.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((res) => p.once('exit', (code) => res(code)));
    try {
      let out = '';
      await waitFor(`twillctl node status reaches ${name}`, () => {
        if (p.exitCode !== null) throw new Error(`twill-node exited ${p.exitCode}:\n${log}`);
        const r = spawnSync(process.execPath, [TWILLCTL_MAIN, 'node', 'status', '--api-socket', sock, '-o', 'json'], { encoding: 'utf8', timeout: 20_000 });
        out = r.stdout;
        return r.status === 0;
      }, 60_000);
      const socketMode = statSync(sock).mode & 0o777;
      expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);
      // Not root: the 0600 socket in its 0700 directory is out of reach, and twillctl says why.
      const asNobody = spawnSync(process.execPath, [TWILLCTL_MAIN, 'node', 'status', '--api-socket', sock], { encoding: 'utf8', timeout: 20_000, uid: 65534, gid: 65534 });
      expect(asNobody.status).toBe(1);
      expect(asNobody.stderr).toContain(`error: no permission to use ${sock}`);
      p.kill('SIGTERM');
      const code = await exited;
      const ds = await openDatastore(`file:${join(dir, `${name}.json`)}`);
      const node = await ds.get<NodeResource>({ kind: 'Node', name });
      await ds.close();
      return { status: (JSON.parse(out) as { status: { nodeName: string; ipv4Address?: string } }).status, node, socketMode, code };
    } finally {
      if (p.exitCode === null) p.kill('SIGKILL');
    }
  }

  it('--node-ip picks one: registered in the Node resource and served on the 0600 API socket', async () => {
    const r = await runAndAsk('pick', ['--node-ip', '198.18.11.1/24']);
    expect(r.code).toBe(0);
    expect(r.status).toMatchObject({ nodeName: 'pick', ipv4Address: '198.18.11.1/24' });
    expect(r.socketMode).toBe(0o600);
    expect(r.node?.spec.bgp?.ipv4Address).toBe('198.18.11.1/24');
    expect(r.node?.status?.agentVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(Date.parse(r.node?.status?.lastHeartbeat ?? '')).not.toBeNaN();
  });

  it('a second node with the address of a registered one refuses to start, naming it', () => {
    const r = spawnSync('ip', nodeArgs('other', ['--node-ip', '198.18.11.1/24'], 'pick'), { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("this node's address 198.18.11.1/24 (from --node-ip) is already the address of Node pick");
  });

  it('--ip-autodetection can-reach= takes the source address of the kernel route to the target', async () => {
    const r = await runAndAsk('reach', ['--ip-autodetection', 'can-reach=198.18.10.77']);
    expect(r.status.ipv4Address).toBe('198.18.10.1/24');
    expect(r.node?.spec.bgp?.ipv4Address).toBe('198.18.10.1/24');
  });
});
