import { describe, expect, it } from 'vitest';
import { API_VERSION, type IPAMBlockResource, type IPAMHandleResource } from '../../../src/api/types.js';
import { Ipam, applyFixes, checkIpam, blockName } from '../../../ipam/index.js';
import { memoryStore, node, pool, wep } from './fixtures.js';

describe('ipam check', () => {
  it('is clean for a consistent store', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24'));
    await ds.create(node('h1'));
    const ipam = new Ipam(ds);
    const a = (await ipam.autoAssign({ node: 'h1', handleID: 'n.c1', num4: 1 })).ips[0]!;
    await ds.create(wep('w1', 'h1', [a.ip], 'c1'));
    const r = await checkIpam(ds);
    expect(r.problems).toEqual([]);
    expect(r.summary).toMatchObject({ pools: 1, blocks: 1, allocations: 1, handles: 1, problems: 0 });
  });

  it('finds leaks, orphan handles, missing nodes, double allocation — with evidence — and the fixes repair them', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24', { blockSize: 28 }));
    await ds.create(node('h1'));
    const ipam = new Ipam(ds);
    const ok = (await ipam.autoAssign({ node: 'h1', handleID: 'n.ok', num4: 1 })).ips[0]!;
    await ds.create(wep('ok', 'h1', [ok.ip], 'ok'));
    const leak = (await ipam.autoAssign({ node: 'h1', handleID: 'n.leak', num4: 1, attrs: { namespace: 'ns', pod: 'gone' } })).ips[0]!;
    await ipam.autoAssign({ node: 'ghost', handleID: 'n.ghost', num4: 1 });
    await ds.create({ apiVersion: API_VERSION, kind: 'IPAMHandle', metadata: { name: 'n.orphan' }, spec: { handleID: 'n.orphan', block: { '10.65.0.0/28': 1 } } });
    // Two endpoints claim one address.
    await ds.create(wep('dup', 'h1', [ok.ip], 'dup'));
    const r = await checkIpam(ds, { graceMs: 0 });
    const types = r.problems.map((p) => p.type).sort();
    expect(types).toEqual(
      ['block-of-missing-node', 'double-allocation', 'double-allocation', 'leaked-allocation', 'leaked-allocation', 'orphan-handle'].sort(),
    );
    const leakP = r.problems.find((p) => p.type === 'leaked-allocation' && p.evidence.ip === leak.ip)!;
    expect(leakP.message).toContain(`address ${leak.ip} is allocated to handle n.leak (pod ns/gone, node h1) but no workload endpoint uses it`);
    expect(leakP.fix).toEqual({ action: 'release-ip', ip: leak.ip, handleID: 'n.leak', sequence: leak.sequence });
    expect(r.problems.find((p) => p.type === 'block-of-missing-node')!.message).toMatch(/claimed by node ghost, which has no Node resource/);
    expect(r.problems.some((p) => p.type === 'double-allocation' && p.message.includes('used by 2 workload endpoints'))).toBe(true);
    expect(r.problems.some((p) => p.type === 'double-allocation' && p.message.includes('(container dup) but is allocated to handle n.ok'))).toBe(true);
    expect(r.summary.problems).toBe(6);

    await ds.delete({ kind: 'WorkloadEndpoint', name: 'dup', namespace: 'default' });
    const outcomes = await applyFixes(ds, r.problems);
    expect(outcomes.filter((o) => o.result === 'done').map((o) => o.action).sort()).toEqual(
      ['delete-handle', 'release-block-affinity', 'release-ip', 'release-ip'].sort(),
    );
    const after = await checkIpam(ds, { graceMs: 0 });
    // The ghost's block lost its affinity; its address was released, so it is just an empty, unowned block now.
    expect(after.problems).toEqual([]);
    expect((await ipam.handleAssignments('n.ok')).map((a) => a.ip)).toEqual([ok.ip]);
  });

  it('a stale report changes nothing that moved on since', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/30', { blockSize: 30 }));
    await ds.create(node('h1'));
    const ipam = new Ipam(ds);
    const ips = (await ipam.autoAssign({ node: 'h1', handleID: 'n.a', num4: 4 })).ips;
    await ds.create(wep('a', 'h1', ips.slice(1).map((x) => x.ip), 'a'));
    const report = await checkIpam(ds, { graceMs: 0 });
    expect(report.problems.map((p) => p.type)).toEqual(['leaked-allocation']);
    // The leaked address is released and given to a new workload before the report is applied.
    await ipam.releaseIps([{ ip: ips[0]!.ip }]);
    const b = (await ipam.autoAssign({ node: 'h1', handleID: 'n.b', num4: 1 })).ips[0]!;
    expect(b.ip).toBe(ips[0]!.ip);
    const out = await applyFixes(ds, report.problems);
    expect(out).toEqual([expect.objectContaining({ result: 'skipped', action: 'release-ip' })]);
    expect((await ipam.handleAssignments('n.b')).map((x) => x.ip)).toEqual([b.ip]);
  });

  it('reports corrupt blocks, handle mismatches, allocations without handle and stray affinities', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24', { blockSize: 28 }));
    await ds.create(node('h1'));
    const ipam = new Ipam(ds);
    const a = (await ipam.autoAssign({ node: 'h1', handleID: 'n.a', num4: 2 })).ips;
    await ds.create(wep('a', 'h1', a.map((x) => x.ip), 'a'));
    const h = (await ds.get<IPAMHandleResource>({ kind: 'IPAMHandle', name: 'n.a' }))!;
    await ds.update({ ...h, spec: { ...h.spec, block: { [a[0]!.block]: 5 } } });
    const c = (await ipam.autoAssign({ node: 'h1', handleID: 'n.c', num4: 1 })).ips[0]!;
    await ds.create(wep('c', 'h1', [c.ip], 'c'));
    await ds.delete({ kind: 'IPAMHandle', name: 'n.c' });
    await ds.create({ apiVersion: API_VERSION, kind: 'BlockAffinity', metadata: { name: 'h1-10-65-0-64-28' }, spec: { node: 'h1', cidr: '10.65.0.64/28', state: 'confirmed' } });
    const corrupt: IPAMBlockResource = {
      apiVersion: API_VERSION,
      kind: 'IPAMBlock',
      metadata: { name: blockName('10.65.0.128/28') },
      spec: { cidr: '10.65.0.128/28', allocations: [null], unallocated: [], attributes: [], sequenceNumbers: [] },
    };
    await ds.create(corrupt);
    const r = await checkIpam(ds, { graceMs: 0 });
    expect(r.problems.map((p) => p.type).sort()).toEqual(['affinity-without-block', 'allocation-without-handle', 'corrupt-block', 'handle-mismatch']);
    const out = await applyFixes(ds, r.problems);
    expect(out.every((o) => o.result === 'done')).toBe(true);
    await ds.delete({ kind: 'IPAMBlock', name: blockName('10.65.0.128/28') });
    expect((await checkIpam(ds, { graceMs: 0 })).problems).toEqual([]);
  });

  it('a fresh allocation without an endpoint is a warning, not a problem', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24'));
    await ds.create(node('h1'));
    await new Ipam(ds).autoAssign({ node: 'h1', handleID: 'n.a', num4: 1 });
    const r = await checkIpam(ds);
    expect(r.problems.map((p) => [p.type, p.severity])).toEqual([['recent-allocation-without-endpoint', 'warning']]);
    expect(r.summary.problems).toBe(0);
  });
});
