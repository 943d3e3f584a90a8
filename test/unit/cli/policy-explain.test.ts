// twillctl policy explain on the shipped example zones, as a user runs it.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openDatastore } from '../../../src/datastore/index.js';
import { makeCli, type Cli } from './harness.js';

const EXAMPLES = join(import.meta.dirname, '../../../manifests/examples');
const WEPS = `apiVersion: twill.io/v1
kind: WorkloadEndpoint
metadata: {name: web, namespace: zones}
spec: {node: h1, interfaceName: twweb, ipNetworks: [10.65.0.1/32], profiles: [zone-dmz]}
---
apiVersion: twill.io/v1
kind: WorkloadEndpoint
metadata: {name: app, namespace: zones}
spec: {node: h2, interfaceName: twapp, ipNetworks: [10.65.0.66/32], profiles: [zone-app]}
---
apiVersion: twill.io/v1
kind: WorkloadEndpoint
metadata: {name: db, namespace: zones}
spec: {node: h2, interfaceName: twdb, ipNetworks: [10.65.0.70/32], profiles: [zone-backend]}
`;

describe('twillctl policy explain', () => {
  let cli: Cli;
  beforeAll(async () => {
    cli = makeCli();
    expect((await cli(['apply', '-f', EXAMPLES])).code).toBe(0);
    expect((await cli(['apply', '-f', '-'], WEPS)).code).toBe(0);
  });
  afterAll(() => cli.cleanup());

  test('an allowed flow: exit 0, and the rule that allowed each side', async () => {
    const r = await cli(['policy', 'explain', '--from', 'zones/web', '--to', 'zones/app', '--port', '8080']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ALLOWED: zones\/web \(10\.65\.0\.1, node h1, labels .*zone=dmz/);
    expect(r.stdout).toContain('ingress of the destination: ALLOW — NetworkPolicy zones/app ingress rule 0 (Allow)');
  });

  test('a denied flow: exit 1; json names the verdict and what decided', async () => {
    const r = await cli(['policy', 'explain', '--from', 'zones/web', '--to', '10.65.0.70', '--port', '5432', '-o', 'json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { verdict: string; ingress: { verdict: string; decidedBy: { kind: string } }; egress: { verdict: string } };
    expect(j.verdict).toBe('deny');
    expect(j.egress.verdict).toBe('allow');
    expect(j.ingress.decidedBy.kind).toBe('end-of-tier');
  });

  test('bad input: exit 2 with a message naming the problem', async () => {
    const a = await cli(['policy', 'explain', '--from', 'zones/nobody', '--to', 'zones/app', '--port', '80']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('no workload endpoint zones/nobody');
    const b = await cli(['policy', 'explain', '--from', 'zones/web', '--to', 'zones/app', '--port', '99999']);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('--port 99999 is not a port number');
  });

  test('the same answer when the store is listed (any backend but file:, here an opened file store)', async () => {
    let opened = 0;
    const listing = makeCli({ datastore: cli.datastore, openDatastore: async (url, o) => (opened++, openDatastore(url, o)) });
    const argv = ['policy', 'explain', '--from', 'zones/web', '--to', '10.65.0.70', '--port', '5432', '-o', 'json'];
    const [a, b] = [await cli(argv), await listing(argv)];
    expect(opened).toBe(1);
    expect(b.code).toBe(1);
    expect(JSON.parse(b.stdout)).toEqual(JSON.parse(a.stdout));
    listing.cleanup();
  });
});
