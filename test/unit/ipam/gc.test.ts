import { describe, expect, it } from 'vitest';
import type { IPAMBlockResource } from '../../../src/api/types.js';
import { Ipam, gcPass, newGcState } from '../../../ipam/index.js';
import { memoryStore, node, pool, wep } from './fixtures.js';

const MIN = 60_000;

describe('IPAM garbage collection', () => {
  it('releases an allocation without a workload endpoint only after the grace period', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24'));
    await ds.create(node('h1'));
    const ipam = new Ipam(ds);
    const used = (await ipam.autoAssign({ node: 'h1', handleID: 'n.used', num4: 1 })).ips[0]!;
    const leaked = (await ipam.autoAssign({ node: 'h1', handleID: 'n.leak', num4: 1 })).ips[0]!;
    await ds.create(wep('used', 'h1', [used.ip], 'used'));
    const st = newGcState();
    let r = await gcPass(ds, st, 0, { graceMs: 10 * MIN });
    expect(r.released).toEqual([]);
    expect(r.waiting).toBe(1);
    r = await gcPass(ds, st, 9 * MIN, { graceMs: 10 * MIN });
    expect(r.released).toEqual([]);
    r = await gcPass(ds, st, 10 * MIN, { graceMs: 10 * MIN });
    expect(r.released).toEqual([{ ip: leaked.ip, handleID: 'n.leak', block: leaked.block }]);
    expect(await ipam.handleAssignments('n.leak')).toEqual([]);
    expect((await ipam.handleAssignments('n.used')).map((a) => a.ip)).toEqual([used.ip]);
  });

  it('the grace period restarts when the address is given out again', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/30', { blockSize: 30 }));
    await ds.create(node('h1'));
    const ipam = new Ipam(ds);
    const all = (await ipam.autoAssign({ node: 'h1', handleID: 'n.a', num4: 4 })).ips;
    await ds.create(wep('a', 'h1', all.slice(1).map((x) => x.ip)));
    const st = newGcState();
    await gcPass(ds, st, 0, { graceMs: MIN }); // first sighting of all[0] without an endpoint
    // Meanwhile the address is released and handed to someone else (who has no endpoint yet either).
    await ipam.releaseIps([{ ip: all[0]!.ip }]);
    const again = (await ipam.autoAssign({ node: 'h1', handleID: 'n.b', num4: 1 })).ips[0]!;
    expect(again.ip).toBe(all[0]!.ip);
    const r = await gcPass(ds, st, MIN, { graceMs: MIN });
    expect(r.released).toEqual([]); // a new allocation: its own grace period starts now
    const r2 = await gcPass(ds, st, 2 * MIN, { graceMs: MIN });
    expect(r2.released.map((x) => x.handleID)).toEqual(['n.b']);
  });

  it('an empty block loses its affinity only after two passes, and a host keeps its last block', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24', { blockSize: 28 }));
    await ds.create(node('h1'));
    const ipam = new Ipam(ds);
    const ips = (await ipam.autoAssign({ node: 'h1', handleID: 'n.a', num4: 20 })).ips; // blocks .0/28 and .16/28
    const second = ips.find((x) => x.block === '10.65.0.16/28')!;
    await ds.create(wep('a', 'h1', ips.filter((x) => x.block === '10.65.0.0/28').map((x) => x.ip)));
    await ipam.releaseIps(ips.filter((x) => x.block === second.block).map((x) => ({ ip: x.ip })));
    const st = newGcState();
    const r1 = await gcPass(ds, st, 0, { graceMs: MIN });
    expect(r1.blocksReleased).toEqual([]);
    const r2 = await gcPass(ds, st, 1000, { graceMs: MIN });
    expect(r2.blocksReleased).toEqual([{ cidr: '10.65.0.16/28', node: 'h1' }]);
    expect((await ds.list({ kind: 'BlockAffinity' })).items.map((a) => a.metadata.name)).toEqual(['h1-10-65-0-0-28']);
    // Now empty the last block too: it stays, however many passes run.
    await ds.delete({ kind: 'WorkloadEndpoint', name: 'a', namespace: 'default' });
    await ipam.releaseByHandle('n.a');
    for (let i = 0; i < 4; i++) expect((await gcPass(ds, st, 2000 + i, { graceMs: MIN })).blocksReleased).toEqual([]);
    expect((await ds.list<IPAMBlockResource>({ kind: 'IPAMBlock' })).items.map((b) => b.spec.cidr)).toEqual(['10.65.0.0/28']);
  });

  it('a block used again between the two passes is kept', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24', { blockSize: 28 }));
    const ipam = new Ipam(ds);
    const a = (await ipam.autoAssign({ node: 'gone', handleID: 'n.a', num4: 1 })).ips[0]!;
    await ipam.releaseByHandle('n.a');
    const st = newGcState();
    await gcPass(ds, st, 0, { graceMs: MIN }); // seen empty once
    const b = (await ipam.autoAssign({ node: 'gone', handleID: 'n.b', num4: 1 })).ips[0]!;
    expect(b.block).toBe(a.block);
    const r = await gcPass(ds, st, 1, { graceMs: MIN });
    expect(r.blocksReleased).toEqual([]);
    expect(await ds.get({ kind: 'IPAMBlock', name: '10-65-0-0-28' })).toBeDefined();
  });

  it('blocks of a host with no Node resource go once empty; dangling affinities are removed', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24', { blockSize: 28 }));
    const ipam = new Ipam(ds);
    await ipam.autoAssign({ node: 'ghost', handleID: 'n.a', num4: 1 });
    await ipam.releaseByHandle('n.a');
    await ds.create({ apiVersion: 'twill.io/v1', kind: 'BlockAffinity', metadata: { name: 'ghost-10-65-0-240-28' }, spec: { node: 'ghost', cidr: '10.65.0.240/28', state: 'confirmed' } });
    const st = newGcState();
    await gcPass(ds, st, 0);
    const r = await gcPass(ds, st, 1);
    expect(r.blocksReleased).toEqual([{ cidr: '10.65.0.0/28', node: 'ghost' }]);
    expect(r.affinitiesDeleted).toEqual(['ghost-10-65-0-240-28']);
    expect((await ds.list({ kind: 'IPAMBlock' })).items).toEqual([]);
    expect((await ds.list({ kind: 'BlockAffinity' })).items).toEqual([]);
  });
});
