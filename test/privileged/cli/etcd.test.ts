// twillctl against a real etcd: in-process (run()) for the apply/get round trip and the
// all-or-nothing writes, and the BUILT program (node dist/src/cli/main.js) as a real process.
// Needs the etcd binary; the binary tests need `npm run build` first (CI runs it before tests).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startEtcd, type EtcdServer } from '../../support/etcd.js';
import { isCI, missing } from '../../support/env.js';
import { makeCli, type Cli } from '../../unit/cli/harness.js';

const ROOT = join(import.meta.dirname, '../../..');
const EXAMPLES = join(ROOT, 'manifests/examples');
const MAIN = join(ROOT, 'dist/src/cli/main.js');

const noEtcd = missing({ tools: ['etcd'] });
function notBuilt(): string | undefined {
  if (existsSync(MAIN)) return undefined;
  if (isCI) throw new Error(`test requirements not met in CI: ${MAIN} missing (run npm run build)`);
  return 'needs npm run build';
}

const pool = (name: string, cidr: string, extra = ''): string =>
  `apiVersion: twill.io/v1\nkind: IPPool\nmetadata:\n  name: ${name}\nspec:\n  cidr: ${cidr}\n${extra}`;

describe.skipIf(noEtcd)('twillctl with real etcd', () => {
  let etcd: EtcdServer;
  let cli: Cli;

  beforeAll(async () => {
    etcd = await startEtcd();
    cli = makeCli({ datastore: etcd.url });
  });
  afterAll(async () => {
    cli?.cleanup();
    await etcd?.destroy();
  });

  test('get lists around a stored value that is not JSON, with a warning naming its key', async () => {
    const raw = new Etcd3({ hosts: etcd.endpoint });
    try {
      expect((await cli(['apply', '-f', '-'], pool('next-to-garbage', '10.77.0.0/16'))).code).toBe(0);
      await raw.put('/twill/v1/IPPool/zz-garbage').value('{"half": ');
      const r = await cli(['get', 'ippool', '-o', 'json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('next-to-garbage');
      expect(r.stderr).toMatch(/warning: IPPool zz-garbage skipped: .*not JSON/);
    } finally {
      await raw.delete().key('/twill/v1/IPPool/zz-garbage');
      await cli(['delete', 'ippool', 'next-to-garbage']);
      raw.close();
    }
  });

  test('apply the examples, read them back in every format, -o yaml round trip is a no-op', async () => {
    const applied = await cli(['apply', '-f', EXAMPLES]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Successfully applied 10 resource(s)');

    const table = await cli(['get', 'ippool']);
    expect(table.stdout).toMatch(/default-ipv4\s+10\.65\.0\.0\/16\s+true\s+false/);
    const wide = await cli(['get', 'np', '-A', '-o', 'wide']);
    expect(wide.stdout).toMatch(/zones\s+backend\s+100\s+zone == "backend"\s+Ingress\s+1\s+0/);

    for (const [kind, ns] of [['ippool', []], ['bgpconfig', []], ['bgppeer', []], ['profile', []], ['np', ['-n', 'zones']]] as const) {
      for (const format of ['yaml', 'json']) {
        const before = await cli(['get', kind, ...ns, '-o', format]);
        expect(before.code, before.stderr).toBe(0);
        const again = await cli(['apply', '-f', '-'], before.stdout);
        expect(again.code, again.stderr).toBe(0);
        expect(again.stdout).not.toMatch(/ (created|configured)$/m);
        const after = await cli(['get', kind, ...ns, '-o', format]);
        expect(after.stdout).toBe(before.stdout); // unchanged, resourceVersion included
      }
    }
  });

  test('create with one existing object writes nothing; label add/remove; delete by name', async () => {
    const r = await cli(['create', '-f', '-'], [pool('new-a', '10.200.0.0/16'), pool('default-ipv4', '10.65.0.0/16')].join('---\n'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('stdin#2: IPPool default-ipv4 already exists');
    expect((await cli(['get', 'ippool', 'new-a'])).code).toBe(1);

    expect((await cli(['label', 'bgppeer', 'tor-rack1', 'rack=rack1'])).code).toBe(0);
    expect((await cli(['get', 'bgpp', '-l', 'rack == "rack1"'])).stdout).toContain('tor-rack1');
    expect((await cli(['label', 'bgppeer', 'tor-rack1', 'rack-'])).code).toBe(0);
    expect((await cli(['get', 'bgpp', '-l', 'has(rack)'])).stdout).toBe('');

    const del = await cli(['delete', 'np', 'backend', '-n', 'zones']);
    expect(del.code, del.stderr).toBe(0);
    const gone = await cli(['get', 'np', 'backend', '-n', 'zones']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('NetworkPolicy zones/backend not found');
  });

  test('two applies racing on the same objects both succeed (CAS + re-plan), nothing lost', async () => {
    const a = makeCli({ datastore: etcd.url });
    const b = makeCli({ datastore: etcd.url });
    try {
      const docs = Array.from({ length: 20 }, (_, i) => pool(`race-${i}`, `10.${100 + i}.0.0/16`)).join('---\n');
      const [ra, rb] = await Promise.all([a(['apply', '-f', '-'], docs), b(['apply', '-f', '-'], docs.replaceAll('cidr', 'natOutgoing: true\n  cidr'))]);
      expect(ra.code, ra.stderr).toBe(0);
      expect(rb.code, rb.stderr).toBe(0);
      const got = JSON.parse((await cli(['get', 'ippool', '-o', 'json'])).stdout) as { items: { metadata: { name: string } }[] };
      expect(got.items.filter((i) => i.metadata.name.startsWith('race-'))).toHaveLength(20);
    } finally {
      a.cleanup();
      b.cleanup();
    }
  });

  test('etcd down: exit 3 (unreachable) naming the address; back up: works again', async () => {
    await etcd.stop();
    try {
      const r = await cli(['get', 'ippool']);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(etcd.url);
    } finally {
      await etcd.start();
    }
    expect((await cli(['get', 'ippool', 'default-ipv4'])).code).toBe(0);
  });
});

describe.skipIf(noEtcd ?? notBuilt())('the built twillctl program', () => {
  let etcd: EtcdServer;
  const twillctl = (args: string[], opts: { input?: string | Buffer; env?: Record<string, string> } = {}) =>
    execa('node', [MAIN, ...args], {
      reject: false,
      env: { TWILL_DATASTORE: etcd.url, ...opts.env },
      ...(opts.input !== undefined ? { input: opts.input } : {}),
      timeout: 60_000,
    });

  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  test('apply, get, pipe -o yaml back through stdin, exit codes 0 / 1 / 3', async () => {
    const applied = await twillctl(['apply', '-f', EXAMPLES]);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Successfully applied 10 resource(s)');

    const yaml = await twillctl(['get', 'networkpolicies', '-n', 'zones', '-o', 'yaml']);
    expect(yaml.exitCode).toBe(0);
    expect(yaml.stdout).toContain('name: dmz');
    const again = await twillctl(['apply', '-f', '-'], { input: yaml.stdout });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toContain('NetworkPolicy zones/dmz unchanged');

    const bad = await twillctl(['apply', '-f', '-'], { input: pool('p', '10.65.0.1/16') });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('stdin#1: IPPool p: spec.cidr');

    const garbage = await twillctl(['apply', '-f', '-'], { input: Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0xff]) });
    expect(garbage.exitCode).toBe(1);
    expect(garbage.stderr).toContain('does not look like YAML or JSON');

    const down = await twillctl(['get', 'ippool'], { env: { TWILL_DATASTORE: 'etcd://127.0.0.1:1' } });
    expect(down.exitCode).toBe(3);
    expect(down.stderr).toContain('etcd://127.0.0.1:1');

    const version = await twillctl(['version']);
    expect(version.exitCode).toBe(0);
    expect(version.stdout).toMatch(/Client Version:\s+\d+\.\d+\.\d+/);
    expect(version.stdout).toContain(etcd.url);

    const help = await twillctl(['--help']);
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain('Usage: twillctl');
  });
});
