import { describe, expect, it } from 'vitest';
import type { IPAMBlockResource } from '../../../src/api/types.js';
import { Ipam, NotAllocatedError, UnknownHandleError, IpamRequestError } from '../../../ipam/index.js';
import { memoryStore, pool, snapshot } from './fixtures.js';

describe('IPAM release', () => {
  it('releases by handle: addresses free again, handle gone', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24'));
    await ds.create(pool('p6', 'fd00:1::/120', { blockSize: 122 }));
    const ipam = new Ipam(ds);
    const a = await ipam.autoAssign({ node: 'h1', handleID: 'n.c1', num4: 2, num6: 1 });
    const keep = await ipam.autoAssign({ node: 'h1', handleID: 'n.c2', num4: 1 });
    const out = await ipam.releaseByHandle('n.c1');
    expect(out.map((o) => o.ip).sort()).toEqual(a.ips.map((x) => x.ip).sort());
    expect(out.every((o) => o.status === 'released')).toBe(true);
    expect(await ds.get({ kind: 'IPAMHandle', name: 'n.c1' })).toBeUndefined();
    expect(await ipam.handleAssignments('n.c1')).toEqual([]);
    expect((await ipam.handleAssignments('n.c2')).map((x) => x.ip)).toEqual([keep.ips[0]!.ip]);
    const u = await ipam.usage();
    expect(u.totals.inUse).toBe(1);
  });

  it('release of an unknown handle is a clear error that changes nothing', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24'));
    const ipam = new Ipam(ds);
    await ipam.autoAssign({ node: 'h1', handleID: 'n.c1', num4: 1 });
    const before = await snapshot(ds);
    const e = await ipam.releaseByHandle('n.nope').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(UnknownHandleError);
    expect((e as Error).message).toContain('"n.nope" does not exist');
    expect(await snapshot(ds)).toBe(before);
    expect(await ipam.releaseHandleIfExists('n.nope')).toEqual([]);
  });

  it('releases by address and keeps the handle consistent', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24'));
    const ipam = new Ipam(ds);
    const a = await ipam.autoAssign({ node: 'h1', handleID: 'n.c1', num4: 2 });
    const [x, y] = a.ips;
    const out = await ipam.releaseIps([{ ip: x!.ip }]);
    expect(out).toEqual([expect.objectContaining({ ip: x!.ip, status: 'released', handleID: 'n.c1' })]);
    expect((await ipam.handleAssignments('n.c1')).map((z) => z.ip)).toEqual([y!.ip]);
    await ipam.releaseIps([{ ip: y!.ip }]);
    expect(await ds.get({ kind: 'IPAMHandle', name: 'n.c1' })).toBeUndefined();
  });

  it('strict release of an address that is not allocated fails and changes nothing', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24'));
    const ipam = new Ipam(ds);
    const a = await ipam.autoAssign({ node: 'h1', handleID: 'n.c1', num4: 1 });
    const free = a.ips[0]!.ip === '10.65.0.1' ? '10.65.0.2' : '10.65.0.1';
    const before = await snapshot(ds);
    const e = await ipam.releaseIps([{ ip: a.ips[0]!.ip }, { ip: free }], { strict: true }).catch((z: unknown) => z);
    expect(e).toBeInstanceOf(NotAllocatedError);
    expect((e as Error).message).toContain(`address ${free} is not allocated`);
    expect(await snapshot(ds)).toBe(before);
    const outside = await ipam.releaseIps([{ ip: '192.0.2.1' }], { strict: true }).catch((z: unknown) => z);
    expect((outside as Error).message).toContain('no IPAM block holds it');
    await expect(ipam.releaseIps([{ ip: '10.65.0.300' }])).rejects.toBeInstanceOf(IpamRequestError);
    expect(await snapshot(ds)).toBe(before);
  });

  it('a late release with an old sequence number does not free an address given out again', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/30', { blockSize: 30 }));
    const ipam = new Ipam(ds);
    const first = (await ipam.autoAssign({ node: 'h1', handleID: 'n.old', num4: 4 })).ips;
    const target = first[0]!;
    await ipam.releaseIps([{ ip: target.ip }]);
    const again = (await ipam.autoAssign({ node: 'h1', handleID: 'n.new', num4: 1 })).ips[0]!;
    expect(again.ip).toBe(target.ip); // the only free address
    expect(again.sequence).toBeGreaterThan(target.sequence);
    const late = await ipam.releaseIps([{ ip: target.ip, sequence: target.sequence }]);
    expect(late[0]!.status).toBe('reallocated');
    const wrongHandle = await ipam.releaseIps([{ ip: target.ip, handleID: 'n.old' }]);
    expect(wrongHandle[0]!.status).toBe('handle-mismatch');
    expect((await ipam.handleAssignments('n.new')).map((z) => z.ip)).toEqual([target.ip]);
  });

  it('removing a host deletes its empty blocks and frees the others for borrowing', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24', { blockSize: 28 }));
    const ipam = new Ipam(ds);
    const r = await ipam.autoAssign({ node: 'gone', handleID: 'n.1', num4: 17 }); // two blocks
    const blocks = [...new Set(r.ips.map((x) => x.block))];
    expect(blocks).toHaveLength(2);
    await ipam.releaseIps(r.ips.filter((x) => x.block === blocks[1]).map((x) => ({ ip: x.ip })));
    const res = await ipam.removeHost('gone');
    expect(res.deletedBlocks).toEqual([blocks[1]]);
    expect(res.releasedBlocks).toEqual([blocks[0]]);
    const left = await ds.list<IPAMBlockResource>({ kind: 'IPAMBlock' });
    expect(left.items.map((b) => [b.spec.cidr, b.spec.affinity ?? null])).toEqual([[blocks[0], null]]);
    expect((await ds.list({ kind: 'BlockAffinity' })).items).toEqual([]);
    expect((await ipam.handleAssignments('n.1')).length).toBe(16);
  });
});
