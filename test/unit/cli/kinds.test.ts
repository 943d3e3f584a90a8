// One object of every remaining kind through apply → get (table, wide, yaml) → apply (no-op).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { WorkloadEndpointResource } from '../../../src/api/types.js';
import { makeCli, type Cli } from './harness.js';

const OBJECTS: { kind: string; arg: string; ns?: string; yaml: string; table: RegExp; wide: RegExp }[] = [
  {
    kind: 'Node',
    arg: 'node',
    yaml: 'kind: Node\nmetadata:\n  name: host1\nspec:\n  bgp:\n    ipv4Address: 192.0.2.10/24\n    asNumber: 64513\n',
    table: /^host1$/m,
    wide: /host1\s+64513\s+192\.0\.2\.10\/24/,
  },
  {
    kind: 'WorkloadEndpoint',
    arg: 'wep',
    ns: 'zones',
    yaml:
      'kind: WorkloadEndpoint\nmetadata:\n  name: host1-web-eth0\n  namespace: zones\nspec:\n  node: host1\n  workload: web\n  interfaceName: tw0123456789a\n  ipNetworks: [10.65.0.5/32]\n  profiles: [zone-dmz]\n',
    table: /host1-web-eth0\s+host1\s+10\.65\.0\.5\/32\s+tw0123456789a/,
    wide: /host1-web-eth0\s+web\s+host1\s+10\.65\.0\.5\/32\s+tw0123456789a\s+zone-dmz\s+false/,
  },
  {
    kind: 'HostEndpoint',
    arg: 'hep',
    yaml: 'kind: HostEndpoint\nmetadata:\n  name: host1-eth0\nspec:\n  node: host1\n  interfaceName: eth0\n  expectedIPs: [192.0.2.10]\n',
    table: /host1-eth0\s+host1$/m,
    wide: /host1-eth0\s+host1\s+eth0\s+192\.0\.2\.10/,
  },
  {
    kind: 'NetworkSet',
    arg: 'netset',
    ns: 'zones',
    yaml: 'kind: NetworkSet\nmetadata:\n  name: partners\n  namespace: zones\n  labels: {role: partner}\nspec:\n  nets: [198.51.100.0/24, 203.0.113.0/24]\n',
    table: /partners\s+198\.51\.100\.0\/24,203\.0\.113\.0\/24/,
    wide: /partners\s+198\.51\.100\.0\/24,203\.0\.113\.0\/24\s+role=partner/,
  },
  {
    kind: 'GlobalNetworkSet',
    arg: 'gns',
    yaml: 'kind: GlobalNetworkSet\nmetadata:\n  name: docs\nspec:\n  nets: [2001:db8::/32]\n',
    table: /docs\s+2001:db8::\/32/,
    wide: /docs\s+2001:db8::\/32/,
  },
  {
    kind: 'GlobalNetworkPolicy',
    arg: 'gnp',
    yaml:
      'kind: GlobalNetworkPolicy\nmetadata:\n  name: deny-telnet\nspec:\n  order: 10\n  selector: all()\n  ingress:\n    - action: Deny\n      protocol: TCP\n      destination:\n        ports: [23]\n',
    table: /deny-telnet\s+10\s+all\(\)/,
    wide: /deny-telnet\s+10\s+all\(\)\s+Ingress\s+1\s+0/,
  },
  {
    kind: 'FelixConfiguration',
    arg: 'felixconfig',
    yaml: 'kind: FelixConfiguration\nmetadata:\n  name: default\nspec:\n  iptablesBackend: NFT\n',
    table: /^default$/m,
    wide: /default\s+tw\s+NFT/,
  },
];

let cli: Cli;
beforeAll(async () => {
  cli = makeCli();
  const all = OBJECTS.map((o) => `apiVersion: twill.io/v1\n${o.yaml}`).join('---\n');
  const r = await cli(['apply', '-f', '-'], all);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout).toContain(`Successfully applied ${OBJECTS.length} resource(s)`);
});
afterAll(() => cli.cleanup());

describe('every kind reads back', () => {
  for (const o of OBJECTS) {
    test(o.kind, async () => {
      const ns = o.ns ? ['-n', o.ns] : [];
      const table = await cli(['get', o.arg, ...ns]);
      expect(table.code, table.stderr).toBe(0);
      expect(table.stdout).toMatch(o.table);
      const wide = await cli(['get', o.arg, ...ns, '-o', 'wide']);
      expect(wide.stdout).toMatch(o.wide);
      const yaml = await cli(['get', o.arg, ...ns, '-o', 'yaml']);
      const again = await cli(['apply', '-f', '-'], yaml.stdout);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stdout).toContain(' unchanged');
      expect((await cli(['get', o.arg, ...ns, '-o', 'yaml'])).stdout).toBe(yaml.stdout);
    });
  }

  test('-A adds the NAMESPACE column for namespaced kinds only', async () => {
    expect((await cli(['get', 'wep', '-A'])).stdout.split('\n')[0]).toMatch(/^NAMESPACE\s+NAME\s+NODE/);
    expect((await cli(['get', 'hep', '-A'])).stdout.split('\n')[0]).toMatch(/^NAME\s+NODE/);
  });

  test('apply keeps the status an agent wrote (a manifest does not carry it)', async () => {
    const { openDatastore } = await import('../../../src/datastore/index.js');
    const ds = await openDatastore(cli.datastore);
    try {
      const wep = await ds.get({ kind: 'WorkloadEndpoint', namespace: 'zones', name: 'host1-web-eth0' });
      await ds.update({ ...(wep as WorkloadEndpointResource), status: { programmed: true, programmedBy: 'host1' } });
    } finally {
      await ds.close();
    }
    const changed =
      'apiVersion: twill.io/v1\nkind: WorkloadEndpoint\nmetadata:\n  name: host1-web-eth0\n  namespace: zones\nspec:\n  node: host1\n  workload: web\n  interfaceName: tw0123456789a\n  ipNetworks: [10.65.0.5/32]\n  profiles: [zone-app]\n';
    const r = await cli(['apply', '-f', '-'], changed);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('WorkloadEndpoint zones/host1-web-eth0 configured');
    const got = JSON.parse((await cli(['get', 'wep', 'host1-web-eth0', '-n', 'zones', '-o', 'json'])).stdout) as {
      spec: { profiles: string[] };
      status?: { programmed?: boolean };
    };
    expect(got.spec.profiles).toEqual(['zone-app']);
    expect(got.status?.programmed).toBe(true);
  });
});
