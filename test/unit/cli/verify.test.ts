// `twillctl verify` against local APIs served with a fake backend (the real comparison is tested in
// test/unit/felix/dataplane/verify.test.ts and, with a real twill-node, test/privileged/node/verify.test.ts).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeApiServer, type NodeApiServer } from '../../../src/nodeapi/index.js';
import { FAKE_VERIFY, FakeNodeBackend } from '../../support/node-api-fake.js';
import { makeCli, type Cli } from './harness.js';

describe('twillctl verify', () => {
  let cli: Cli;
  const servers: NodeApiServer[] = [];
  let sockDir: string;
  let differing: string;
  let healthy: string;
  beforeAll(async () => {
    cli = makeCli();
    sockDir = join(cli.dir, 'run');
    mkdirSync(sockDir);
    differing = join(sockDir, 'host1.sock');
    healthy = join(sockDir, 'host2.sock');
    servers.push(await startNodeApiServer(differing, new FakeNodeBackend()));
    const ok = new FakeNodeBackend();
    ok.verifyReport = { ...FAKE_VERIFY, nodeName: 'host2', differences: [] };
    servers.push(await startNodeApiServer(healthy, ok));
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    cli.cleanup();
  });

  it('prints every difference by kind, object, expected and actual, and exits 1', async () => {
    const r = await cli(['verify', '--api-socket', differing]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe("node host1: 4 differences between the kernel and the agent's desired state:");
    expect(lines[1]).toMatch(/^KIND\s+OBJECT\s+EXPECTED\s+ACTUAL$/);
    expect(lines[2]).toMatch(/^route\s+10\.65\.0\.2\/32\s+dev twb scope link\s+absent$/);
    expect(lines[3]).toMatch(/^ipset-member\s+tw4-0123456789abcdef0123 10\.65\.0\.1\s+member\s+absent$/);
    expect(lines[4]).toMatch(/^sysctl\s+net\/ipv4\/conf\/twc\/proxy_arp\s+1\s+0$/);
    // A change the agent saw and undid says when it was seen.
    expect(lines[5]).toMatch(/^route\s+10\.65\.0\.3\/32\s+dev twc scope link\s+deleted outside the agent \(netlink event\); put back \(seen at \d\d:\d\d:\d\d\)$/);
  });

  it('a healthy node: "no differences" with what was compared, exit 0', async () => {
    const r = await cli(['verify', '--api-socket', healthy]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('node host2: no differences (checked 4 routes, 16 chains, 3 ipsets (2 members), 3 interfaces (25 sysctls), 2 BGP sessions, 1 BGP routes).\n');
  });

  it('-o json has every difference and the counts', async () => {
    const r = await cli(['verify', '--api-socket', differing, '-o', 'json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { nodes: { node: string; nodeName: string; differences: unknown[]; checked: { routes: number } }[] };
    expect(j.nodes).toHaveLength(1);
    expect(j.nodes[0]).toMatchObject({ nodeName: 'host1', checked: { routes: 4 } });
    expect(j.nodes[0]!.differences).toEqual(JSON.parse(JSON.stringify(FAKE_VERIFY.differences)));
  });

  it('an agent that does not answer: a clear error naming the socket, exit 3', async () => {
    const missing = join(cli.dir, 'nobody.sock');
    const r = await cli(['verify', '--api-socket', missing]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`error: node `);
    expect(r.stderr).toContain(`NOT checked: no twill-node agent answers on ${missing}`);
  });

  it('--all asks every Node of the datastore at <dir>/<name>.sock; one that does not answer makes it exit 3, the others still print', async () => {
    const nodes = ['host1', 'host2', 'host3']
      .map((n, i) => `apiVersion: twill.io/v1\nkind: Node\nmetadata:\n  name: ${n}\nspec:\n  bgp:\n    ipv4Address: 198.18.0.${10 + i}/24\n`)
      .join('---\n');
    expect((await cli(['apply', '-f', '-'], nodes)).code).toBe(0);
    const r = await cli(['verify', '--all', '--api-socket-dir', sockDir]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("node host1: 4 differences between the kernel and the agent's desired state:");
    expect(r.stdout).toContain('node host2: no differences');
    expect(r.stderr).toContain(`error: node host3 NOT checked: no twill-node agent answers on ${join(sockDir, 'host3.sock')}`);
    const bad = await cli(['verify', '--all', '--node', 'host1']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--all asks every node: it does not go with --node or --api-socket');
  });
});
