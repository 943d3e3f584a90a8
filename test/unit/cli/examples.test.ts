// The example manifests through twillctl, as a new user would try them: validate, apply, read
// back in every format, feed the YAML back, and see nothing change.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { makeCli, type Cli } from './harness.js';

const EXAMPLES = join(import.meta.dirname, '../../../manifests/examples');
const exampleFiles = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml')).sort();

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  spec: Record<string, unknown>;
}

/** Every document of every example file, as written. */
function exampleDocs(): Doc[] {
  return exampleFiles.flatMap((f) =>
    parseAllDocuments(readFileSync(join(EXAMPLES, f), 'utf8')).map((d) => d.toJS() as Doc),
  );
}

const KIND_ARGS: Record<string, string> = {
  IPPool: 'ippool',
  BGPConfiguration: 'bgpconfig',
  BGPPeer: 'bgppeer',
  Profile: 'profile',
  NetworkPolicy: 'networkpolicy',
};

let cli: Cli;
beforeEach(() => {
  cli = makeCli();
});
afterEach(() => cli.cleanup());

describe('manifests/examples', () => {
  test('has the pools, the BGP setup and the three zones, in documentation/test ranges', () => {
    const docs = exampleDocs();
    const pools = docs.filter((d) => d.kind === 'IPPool').map((d) => d.spec.cidr);
    expect(pools).toEqual(['10.65.0.0/16', 'fd5e:7a11::/48']);
    const peer = docs.find((d) => d.kind === 'BGPPeer');
    expect(peer?.spec).toMatchObject({ asNumber: 65000, nodeSelector: expect.any(String) });
    // 198.18.0.0/15 (RFC 2544 benchmarking)
    expect(String(peer?.spec.peerIP)).toMatch(/^198\.1[89]\./);
    const policies = docs.filter((d) => d.kind === 'NetworkPolicy');
    expect(policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort()).toEqual(['zones/app', 'zones/backend', 'zones/dmz']);
    expect(docs.filter((d) => d.kind === 'Profile')).toHaveLength(3);
  });

  test('validate offline: every document is valid', async () => {
    const r = await cli(['validate', '-f', EXAMPLES]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${exampleDocs().length} resource(s) valid`);
  });

  test('apply creates everything, one line per resource', async () => {
    const r = await cli(['apply', '-f', EXAMPLES]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const docs = exampleDocs();
    expect(r.stdout).toContain(`Successfully applied ${docs.length} resource(s)`);
    for (const d of docs) {
      const id = d.metadata.namespace ? `${d.metadata.namespace}/${d.metadata.name}` : d.metadata.name;
      expect(r.stdout).toContain(`${d.kind} ${id} created`);
    }
  });

  test('every kind reads back in table, wide, yaml and json', async () => {
    expect((await cli(['apply', '-f', EXAMPLES])).code).toBe(0);
    const docs = exampleDocs();
    for (const [kind, arg] of Object.entries(KIND_ARGS)) {
      const want = docs.filter((d) => d.kind === kind);
      const ns = kind === 'NetworkPolicy' ? ['-n', 'zones'] : [];
      for (const format of ['table', 'wide', 'yaml', 'json']) {
        const r = await cli(['get', arg, ...ns, '-o', format]);
        expect(r.code, `${arg} -o ${format}: ${r.stderr}`).toBe(0);
        if (format === 'yaml') {
          const got = parseAllDocuments(r.stdout).map((d) => d.toJS() as Doc);
          expect(got.map((g) => g.metadata.name).sort()).toEqual(want.map((w) => w.metadata.name).sort());
          for (const w of want) expect(got.find((g) => g.metadata.name === w.metadata.name)?.spec).toMatchObject(w.spec);
        } else if (format === 'json') {
          const got = JSON.parse(r.stdout) as { kind: string; items: Doc[] };
          expect(got.kind).toBe('List');
          expect(got.items.map((g) => g.metadata.name).sort()).toEqual(want.map((w) => w.metadata.name).sort());
        } else {
          const lines = r.stdout.trimEnd().split('\n');
          expect(lines[0]).toMatch(/^NAME(\s|$)/);
          expect(lines).toHaveLength(want.length + 1);
          for (const w of want) expect(lines.some((l) => l.split(/\s+/)[0] === w.metadata.name)).toBe(true);
        }
      }
    }
  });

  test('table columns show what a calicoctl user looks for', async () => {
    expect((await cli(['apply', '-f', EXAMPLES])).code).toBe(0);
    const pools = (await cli(['get', 'ippools'])).stdout;
    expect(pools.split('\n')[0]!.split(/\s+/)).toEqual(['NAME', 'CIDR', 'NAT', 'DISABLED']);
    expect(pools).toMatch(/default-ipv4\s+10\.65\.0\.0\/16\s+true\s+false/);
    const wide = (await cli(['get', 'ipp', '-o', 'wide'])).stdout;
    expect(wide).toMatch(/default-ipv6\s+fd5e:7a11::\/48\s+122\s+false\s+false\s+all\(\)/);
    const peers = (await cli(['get', 'bgpp'])).stdout;
    expect(peers.split('\n')[0]!.split(/\s+/)).toEqual(['NAME', 'PEERIP', 'NODE', 'ASN']);
    expect(peers).toMatch(/tor-rack1\s+198\.18\.0\.1\s+rack == "rack1"\s+65000/);
    const all = (await cli(['get', 'np', '-A'])).stdout;
    expect(all.split('\n')[0]!.split(/\s+/)).toEqual(['NAMESPACE', 'NAME', 'ORDER', 'SELECTOR']);
    expect(all).toMatch(/zones\s+dmz\s+100\s+zone == "dmz"/);
    const bgp = (await cli(['get', 'bgpconfiguration'])).stdout;
    expect(bgp).toMatch(/default\s+Info\s+true\s+64512/);
  });

  test('get -o yaml fed back to apply changes nothing (also -o json)', async () => {
    expect((await cli(['apply', '-f', EXAMPLES])).code).toBe(0);
    for (const format of ['yaml', 'json']) {
      for (const [kind, arg] of Object.entries(KIND_ARGS)) {
        const ns = kind === 'NetworkPolicy' ? ['-n', 'zones'] : [];
        const before = await cli(['get', arg, ...ns, '-o', format]);
        const again = await cli(['apply', '-f', '-'], before.stdout);
        expect(again.code, again.stderr).toBe(0);
        expect(again.stdout).not.toMatch(/ (created|configured)$/m);
        expect(again.stdout).toMatch(/ unchanged$/m);
        const after = await cli(['get', arg, ...ns, '-o', format]);
        expect(after.stdout).toBe(before.stdout); // same content, same resourceVersion
      }
    }
  });

  test('a changed document is configured (stored revision advances), the rest stay unchanged', async () => {
    expect((await cli(['apply', '-f', EXAMPLES])).code).toBe(0);
    const before = JSON.parse((await cli(['get', 'ippool', 'default-ipv4', '-o', 'json'])).stdout) as Doc & { metadata: { uid: string } };
    const text = readFileSync(join(EXAMPLES, '00-ippools.yaml'), 'utf8').replace('natOutgoing: true', 'natOutgoing: false');
    const r = await cli(['apply', '-f', '-'], text);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('IPPool default-ipv4 configured');
    expect(r.stdout).toContain('IPPool default-ipv6 unchanged');
    const after = JSON.parse((await cli(['get', 'ippool', 'default-ipv4', '-o', 'json'])).stdout) as typeof before;
    expect(after.spec.natOutgoing).toBe(false);
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.metadata.resourceVersion).not.toBe(before.metadata.resourceVersion);
  });
});
