// apply / create / replace / delete / label / get semantics, each invocation a separate run()
// against a file datastore (as separate twillctl processes would be).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { NodeResource } from '../../../src/api/types.js';
import { openDatastore } from '../../../src/datastore/index.js';
import type { Datastore, TxnOp } from '../../../src/datastore/types.js';
import { makeCli, type Cli } from './harness.js';

const EXAMPLES = join(import.meta.dirname, '../../../manifests/examples');
const ZONES = join(EXAMPLES, '20-zones.yaml');

const pool = (name: string, cidr: string, extra = ''): string =>
  `apiVersion: twill.io/v1\nkind: IPPool\nmetadata:\n  name: ${name}\nspec:\n  cidr: ${cidr}\n${extra}`;
const docs = (...d: string[]): string => d.join('---\n');

interface Obj {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; resourceVersion?: string; uid?: string };
  spec: Record<string, unknown>;
}

let cli: Cli;
beforeEach(() => {
  cli = makeCli();
});
afterEach(() => cli.cleanup());

async function getJson(...argv: string[]): Promise<Obj> {
  const r = await cli(['get', ...argv, '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Obj;
}
async function names(kind: string, ...extra: string[]): Promise<string[]> {
  const r = await cli(['get', kind, ...extra, '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { items: Obj[] }).items.map((o) => o.metadata.name);
}

describe('create', () => {
  test('creates all when none exists', async () => {
    const r = await cli(['create', '-f', '-'], docs(pool('a', '10.1.0.0/16'), pool('b', '10.2.0.0/16')));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('IPPool a created');
    expect(r.stdout).toContain('Successfully created 2 resource(s)');
    expect(await names('ippool')).toEqual(['a', 'b']);
  });

  test('fails, creating nothing, when any one exists', async () => {
    expect((await cli(['create', '-f', '-'], pool('b', '10.2.0.0/16'))).code).toBe(0);
    const r = await cli(['create', '-f', '-'], docs(pool('a', '10.1.0.0/16'), pool('b', '10.2.0.0/16'), pool('c', '10.3.0.0/16')));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('stdin#2: IPPool b already exists');
    expect(r.stderr).toContain('apply');
    expect(await names('ippool')).toEqual(['b']);
  });
});

describe('replace', () => {
  test('fails, replacing nothing, when any one is missing', async () => {
    expect((await cli(['apply', '-f', '-'], pool('a', '10.1.0.0/16'))).code).toBe(0);
    const r = await cli(['replace', '-f', '-'], docs(pool('a', '10.1.0.0/16', '  natOutgoing: true\n'), pool('ghost', '10.9.0.0/16')));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('stdin#2: IPPool ghost not found');
    expect((await getJson('ippool', 'a')).spec.natOutgoing).toBe(false);
    expect(await names('ippool')).toEqual(['a']);
  });

  test('replaces existing objects, keeping uid', async () => {
    expect((await cli(['apply', '-f', '-'], pool('a', '10.1.0.0/16'))).code).toBe(0);
    const before = await getJson('ippool', 'a');
    const r = await cli(['replace', '-f', '-'], pool('a', '10.1.0.0/16', '  disabled: true\n'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('IPPool a replaced');
    const after = await getJson('ippool', 'a');
    expect(after.spec.disabled).toBe(true);
    expect(after.metadata.uid).toBe(before.metadata.uid);
  });

  test('a stale resourceVersion from get -o yaml is refused, nothing changed', async () => {
    expect((await cli(['apply', '-f', '-'], pool('a', '10.1.0.0/16'))).code).toBe(0);
    const stale = (await cli(['get', 'ippool', 'a', '-o', 'yaml'])).stdout;
    expect(stale).toContain('resourceVersion');
    expect((await cli(['label', 'ippool', 'a', 'owner=net'])).code).toBe(0); // someone else's change
    const r = await cli(['replace', '-f', '-'], stale.replace('natOutgoing: false', 'natOutgoing: true'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/IPPool a was modified concurrently/);
    const now = await getJson('ippool', 'a');
    expect(now.spec.natOutgoing).toBe(false);
    expect(now.metadata.labels).toEqual({ owner: 'net' });
  });
});

describe('apply', () => {
  test('--dry-run reports without writing', async () => {
    const r = await cli(['apply', '--dry-run', '-f', EXAMPLES]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('IPPool default-ipv4 created (dry run)');
    expect(r.stdout).toContain('nothing was written');
    expect(await names('ippool')).toEqual([]);
  });

  test('moving pools within one batch is judged on the result, not object by object', async () => {
    expect((await cli(['apply', '-f', '-'], docs(pool('a', '10.1.0.0/16'), pool('b', '10.2.0.0/16')))).code).toBe(0);
    // Swap the two CIDRs in one apply: each new CIDR overlaps the other pool's OLD one.
    const r = await cli(['apply', '-f', '-'], docs(pool('a', '10.2.0.0/16'), pool('b', '10.1.0.0/16')));
    expect(r.code, r.stderr).toBe(0);
    expect((await getJson('ippool', 'a')).spec.cidr).toBe('10.2.0.0/16');
  });

  test("a pool's CIDR cannot change while blocks of it are in use (IPAM's rule), nothing written", async () => {
    expect((await cli(['apply', '-f', '-'], pool('a', '10.1.0.0/16'))).code).toBe(0);
    const ds = await openDatastore(cli.datastore);
    try {
      await ds.create({
        apiVersion: 'twill.io/v1',
        kind: 'IPAMBlock',
        metadata: { name: '10-1-0-0-26' },
        spec: { cidr: '10.1.0.0/26', affinity: 'host:host1', allocations: [], unallocated: [], attributes: [], sequenceNumbers: [] },
      });
    } finally {
      await ds.close();
    }
    const r = await cli(['apply', '-f', '-'], pool('a', '10.9.0.0/16'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('stdin#1: IPPool a: cannot change spec.cidr');
    expect((await getJson('ippool', 'a')).spec.cidr).toBe('10.1.0.0/16');
    // Other changes to the pool are still fine.
    const ok = await cli(['apply', '-f', '-'], pool('a', '10.1.0.0/16', '  natOutgoing: true\n'));
    expect(ok.code, ok.stderr).toBe(0);
  });

  test('a concurrent write between read and write is detected (CAS) and apply plans again', async () => {
    expect((await cli(['apply', '-f', '-'], pool('a', '10.1.0.0/16'))).code).toBe(0);
    let txns = 0;
    const racing = makeCli({
      datastore: cli.datastore,
      openDatastore: async (url, o) => {
        const ds = await openDatastore(url, o);
        return new Proxy(ds, {
          get(target, prop) {
            if (prop === 'txn') {
              return async (ops: TxnOp[]) => {
                if (txns++ === 0) {
                  // Another writer changes the pool after apply read it.
                  const cur = await target.get({ kind: 'IPPool', name: 'a' });
                  await target.update({ ...cur!, metadata: { ...cur!.metadata, labels: { sneaky: 'yes' } } });
                }
                return target.txn(ops);
              };
            }
            const v = Reflect.get(target, prop) as unknown;
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        }) as Datastore;
      },
    });
    try {
      const r = await racing(['apply', '-f', '-'], pool('a', '10.1.0.0/16', '  natOutgoing: true\n'));
      expect(r.code, r.stderr).toBe(0);
      expect(txns).toBe(2); // the first transaction failed its compare-and-swap
      const a = await getJson('ippool', 'a');
      expect(a.spec.natOutgoing).toBe(true);
      expect(a.metadata.labels).toBeUndefined(); // apply sets the object as written
    } finally {
      racing.cleanup();
    }
  });

  test('-f DIR reads .yaml/.yml/.json in name order; subdirectories only with -R', async () => {
    const dir = join(cli.dir, 'manifests');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'b.yaml'), pool('from-b', '10.2.0.0/16'));
    writeFileSync(join(dir, 'a.yml'), pool('from-a', '10.1.0.0/16'));
    writeFileSync(
      join(dir, 'c.json'),
      JSON.stringify({ apiVersion: 'twill.io/v1', kind: 'IPPool', metadata: { name: 'from-c' }, spec: { cidr: '10.3.0.0/16' } }),
    );
    writeFileSync(join(dir, 'notes.txt'), 'not a manifest');
    writeFileSync(join(dir, 'sub', 'd.yaml'), pool('from-d', '10.4.0.0/16'));
    const flat = await cli(['apply', '--dry-run', '-f', dir]);
    expect(flat.code, flat.stderr).toBe(0);
    expect(flat.stdout.split('\n').filter((l) => l.startsWith('IPPool'))).toEqual([
      'IPPool from-a created (dry run)',
      'IPPool from-b created (dry run)',
      'IPPool from-c created (dry run)',
    ]);
    const deep = await cli(['apply', '-R', '-f', dir]);
    expect(deep.code, deep.stderr).toBe(0);
    expect(await names('ippool')).toEqual(['from-a', 'from-b', 'from-c', 'from-d']);
    expect(deep.stdout).toContain('IPPool from-d created');
  });

  test('several -f, and a JSON List on stdin', async () => {
    const list = JSON.stringify({
      apiVersion: 'twill.io/v1',
      kind: 'List',
      items: [{ apiVersion: 'twill.io/v1', kind: 'GlobalNetworkSet', metadata: { name: 'docs' }, spec: { nets: ['192.0.2.0/24'] } }],
    });
    const r = await cli(['apply', '-f', join(EXAMPLES, '00-ippools.yaml'), '-f', '-'], list);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Successfully applied 3 resource(s)');
    expect(await names('gns')).toEqual(['docs']);
  });

  test('a namespaced object without a namespace goes to "default"', async () => {
    const np = 'apiVersion: twill.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: web\nspec:\n  selector: app == "web"\n';
    expect((await cli(['apply', '-f', '-'], np)).code).toBe(0);
    expect(await names('np')).toEqual(['web']);
    expect(await names('np', '-n', 'zones')).toEqual([]);
    expect((await getJson('np', 'web')).metadata.namespace).toBe('default');
  });
});

describe('delete', () => {
  test('by name, with -n', async () => {
    expect((await cli(['apply', '-f', EXAMPLES])).code).toBe(0);
    const r = await cli(['delete', 'networkpolicy', 'dmz', '-n', 'zones']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('NetworkPolicy zones/dmz deleted');
    const gone = await cli(['get', 'np', 'dmz', '-n', 'zones']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('NetworkPolicy zones/dmz not found');
    expect(await names('np', '-n', 'zones')).toEqual(['app', 'backend']);
  });

  test('by name without -n looks in "default"', async () => {
    expect((await cli(['apply', '-f', EXAMPLES])).code).toBe(0);
    const r = await cli(['delete', 'np', 'dmz']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('NetworkPolicy default/dmz not found');
    expect(await names('np', '-n', 'zones')).toEqual(['app', 'backend', 'dmz']);
  });

  test('by file deletes exactly the objects in it', async () => {
    expect((await cli(['apply', '-f', EXAMPLES])).code).toBe(0);
    const r = await cli(['delete', '-f', ZONES]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Successfully deleted 6 resource(s)');
    expect(await names('np', '-A')).toEqual([]);
    expect(await names('profile')).toEqual([]);
    expect(await names('ippool')).toEqual(['default-ipv4', 'default-ipv6']);
  });

  test('a missing object fails the whole delete; --skip-not-exists deletes the rest', async () => {
    expect((await cli(['apply', '-f', EXAMPLES])).code).toBe(0);
    expect((await cli(['delete', 'profile', 'zone-dmz'])).code).toBe(0);
    const r = await cli(['delete', '-f', ZONES]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${ZONES}#1: Profile zone-dmz not found`);
    expect(await names('np', '-A')).toEqual(['app', 'backend', 'dmz']);
    const skip = await cli(['delete', '--skip-not-exists', '-f', ZONES]);
    expect(skip.code, skip.stderr).toBe(0);
    expect(skip.stdout).toContain('Successfully deleted 5 resource(s)');
    expect(await names('np', '-A')).toEqual([]);
  });

  test('delete -f needs only identity: a document invalid for apply can still be deleted', async () => {
    expect((await cli(['apply', '-f', '-'], pool('a', '10.1.0.0/16'))).code).toBe(0);
    const r = await cli(['delete', '-f', '-'], 'apiVersion: twill.io/v1\nkind: IPPool\nmetadata:\n  name: a\nspec:\n  cidr: nonsense\n');
    expect(r.code, r.stderr).toBe(0);
    expect(await names('ippool')).toEqual([]);
  });
});

describe('label', () => {
  beforeEach(async () => {
    expect((await cli(['apply', '-f', EXAMPLES])).code).toBe(0);
  });

  test('add, then remove', async () => {
    const add = await cli(['label', 'np', 'dmz', '-n', 'zones', 'tier=edge', 'owner=sec']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toContain('Successfully set label tier=edge on NetworkPolicy zones/dmz');
    expect((await getJson('np', 'dmz', '-n', 'zones')).metadata.labels).toEqual({ tier: 'edge', owner: 'sec' });
    const rm = await cli(['label', 'np', 'dmz', '-n', 'zones', 'tier-']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.stdout).toContain('Successfully removed label tier from NetworkPolicy zones/dmz');
    expect((await getJson('np', 'dmz', '-n', 'zones')).metadata.labels).toEqual({ owner: 'sec' });
  });

  test('changing a value needs --overwrite', async () => {
    expect((await cli(['label', 'ippool', 'default-ipv4', 'rack=r1'])).code).toBe(0);
    const r = await cli(['label', 'ippool', 'default-ipv4', 'rack=r2']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('IPPool default-ipv4 already has label rack=r1');
    expect(r.stderr).toContain('--overwrite');
    expect((await getJson('ippool', 'default-ipv4')).metadata.labels).toEqual({ rack: 'r1' });
    expect((await cli(['label', 'ippool', 'default-ipv4', 'rack=r2', '--overwrite'])).code).toBe(0);
    expect((await getJson('ippool', 'default-ipv4')).metadata.labels).toEqual({ rack: 'r2' });
  });

  test('setting the same value again changes nothing', async () => {
    expect((await cli(['label', 'ippool', 'default-ipv4', 'rack=r1'])).code).toBe(0);
    const before = await getJson('ippool', 'default-ipv4');
    const r = await cli(['label', 'ippool', 'default-ipv4', 'rack=r1']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('already has label rack=r1');
    expect((await getJson('ippool', 'default-ipv4')).metadata.resourceVersion).toBe(before.metadata.resourceVersion);
  });

  test('mistakes: missing label, invalid key, missing object — exit 1, nothing changed', async () => {
    const before = await getJson('ippool', 'default-ipv4');
    const missing = await cli(['label', 'ippool', 'default-ipv4', 'nope-']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('IPPool default-ipv4 has no label nope');
    const badKey = await cli(['label', 'ippool', 'default-ipv4', 'bad key!=x']);
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain('metadata.labels');
    const noObj = await cli(['label', 'ippool', 'ghost', 'a=b']);
    expect(noObj.code).toBe(1);
    expect(noObj.stderr).toContain('IPPool ghost not found');
    expect(await getJson('ippool', 'default-ipv4')).toEqual(before);
  });
});

describe('get', () => {
  test('a BGP password is printed <redacted> in every format unless --show-secrets', async () => {
    const f = join(cli.dir, 'peer.yaml');
    writeFileSync(
      f,
      'apiVersion: twill.io/v1\nkind: BGPPeer\nmetadata:\n  name: secret-peer\nspec:\n  peerIP: 198.18.0.9\n  asNumber: 65009\n  password:\n    value: hunter2-md5\n',
    );
    expect((await cli(['apply', '-f', f])).code).toBe(0);
    for (const args of [['-o', 'yaml'], ['-o', 'json'], ['-o', 'wide'], ['secret-peer', '-o', 'yaml']]) {
      const r = await cli(['get', 'bgppeer', ...args]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).not.toContain('hunter2-md5');
    }
    const y = await cli(['get', 'bgppeer', 'secret-peer', '-o', 'yaml']);
    expect(y.stdout).toMatch(/password:\s+value: .?<redacted>.?/);
    const shown = await cli(['get', 'bgppeer', 'secret-peer', '-o', 'yaml', '--show-secrets']);
    expect(shown.stdout).toContain('hunter2-md5');
    // Applying the redacted output back is refused: it would replace the password with <redacted>.
    writeFileSync(f, y.stdout);
    const back = await cli(['apply', '-f', f]);
    expect(back.code).not.toBe(0);
    expect(back.stderr).toMatch(/password\.value: <redacted> is what twillctl get prints/);
    expect((await cli(['get', 'bgppeer', 'secret-peer', '-o', 'yaml', '--show-secrets'])).stdout).toContain('hunter2-md5');
  });

  beforeEach(async () => {
    expect((await cli(['apply', '-f', EXAMPLES])).code).toBe(0);
  });

  test('several names: prints those found, reports the missing one, exits 1', async () => {
    const r = await cli(['get', 'ippool', 'default-ipv4', 'ghost']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('default-ipv4');
    expect(r.stderr).toContain('IPPool ghost not found');
  });

  test('one name in json is the object itself, not a List', async () => {
    const o = await getJson('bgppeer', 'tor-rack1');
    expect(o.metadata.name).toBe('tor-rack1');
    expect(o.spec.asNumber).toBe(65000);
  });

  test('nothing to show: empty stdout, a note on stderr, exit 0', async () => {
    const r = await cli(['get', 'hostendpoints']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('No HostEndpoint resources found');
  });

  test('-l filters by label selector', async () => {
    expect((await cli(['label', 'profile', 'zone-app', 'tier=middle'])).code).toBe(0);
    expect(await names('profile', '-l', 'tier == "middle"')).toEqual(['zone-app']);
    expect(await names('profile', '-l', '!has(tier)')).toEqual(['zone-backend', 'zone-dmz']);
  });

  test('kinds by plural and short names, any case', async () => {
    for (const k of ['ippools', 'IPP', 'IPPool', 'pools']) expect(await names(k)).toEqual(['default-ipv4', 'default-ipv6']);
  });
});

describe('version and help', () => {
  test('version prints the package version and the datastore location', async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8')) as { version: string };
    const r = await cli(['version']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`Client Version:    ${pkg.version}`);
    expect(r.stdout).toContain(`Datastore:         ${cli.datastore}`);
  });

  test('version warns when node agents run another version', async () => {
    const node =
      'apiVersion: twill.io/v1\nkind: Node\nmetadata:\n  name: host1\nspec:\n  bgp:\n    ipv4Address: 192.0.2.10/24\n';
    expect((await cli(['apply', '-f', '-'], node)).code).toBe(0);
    const ds = await openDatastore(cli.datastore);
    try {
      const n = await ds.get({ kind: 'Node', name: 'host1' });
      await ds.update({ ...(n as NodeResource), status: { agentVersion: '9.9.9' } });
    } finally {
      await ds.close();
    }
    const r = await cli(['version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('9.9.9 (1 node)');
    expect(r.stderr).toContain('differs from node agent version(s) 9.9.9');
  });

  test('--version prints the client version and exits 0', async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '../../../package.json'), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  test('--help exits 0 and lists the commands', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['apply', 'create', 'replace', 'delete', 'get', 'label', 'validate', 'version']) expect(r.stdout).toContain(c);
  });
});
