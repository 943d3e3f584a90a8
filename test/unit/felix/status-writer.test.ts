import { describe, expect, it } from 'vitest';
import type { WorkloadEndpointResource } from '../../../src/api/types.js';
import { openDatastore } from '../../../src/datastore/index.js';
import { silentLogger } from '../../../felix/dataplane/index.js';
import { StatusWriter } from '../../../felix/status-writer.js';
import { workloadSpecHash } from '../../../src/api/spec-hash.js';

const wep = (name: string, node = 'h1'): WorkloadEndpointResource => ({
  apiVersion: 'twill.io/v1',
  kind: 'WorkloadEndpoint',
  metadata: { name, namespace: 'default', labels: { a: '1' } },
  spec: { node, interfaceName: `tw${name}`, ipNetworks: ['10.65.0.1/32'] },
});

describe('StatusWriter', () => {
  it('writes status once for programmed local endpoints, retrying a compare-and-swap conflict', async () => {
    const ds = await openDatastore('memory:');
    const stored = await ds.create(wep('a'));
    await ds.create(wep('b'));
    await ds.create(wep('r', 'other-host'));
    const w = new StatusWriter(ds, 'h1', silentLogger, () => new Date('2026-01-01T00:00:00Z'));
    w.noteSet(stored);
    w.noteSet((await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: 'default', name: 'b' }))!);
    w.noteSet(wep('r', 'other-host'));
    // Someone changes a's labels after the writer saw it: its resourceVersion is stale.
    await ds.update({ ...stored, metadata: { ...stored.metadata, labels: { a: '2' } } });
    await w.update(new Set(['twa', 'twr']));
    const a = await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: 'default', name: 'a' });
    expect(a?.status).toEqual({ programmed: true, programmedAt: '2026-01-01T00:00:00.000Z', programmedBy: 'h1', specHash: workloadSpecHash(a!.spec) });
    expect(a?.metadata.labels).toEqual({ a: '2' });
    // b is not programmed; r is not ours.
    expect((await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: 'default', name: 'b' }))?.status).toBeUndefined();
    expect((await ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', namespace: 'default', name: 'r' }))?.status).toBeUndefined();
    expect(w.writes).toBe(1);
    await w.update(new Set(['twa']));
    expect(w.writes).toBe(1);
  });

  it('the spec hash ignores key order and changes with the spec', () => {
    const s1 = { node: 'h', interfaceName: 'twx', ipNetworks: ['10.0.0.1/32'] };
    const s2 = { ipNetworks: ['10.0.0.1/32'], interfaceName: 'twx', node: 'h' };
    expect(workloadSpecHash(s1)).toBe(workloadSpecHash(s2));
    expect(workloadSpecHash({ ...s1, ipNetworks: ['10.0.0.2/32'] })).not.toBe(workloadSpecHash(s1));
  });
});
