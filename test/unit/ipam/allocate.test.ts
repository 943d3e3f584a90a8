import { describe, expect, it } from 'vitest';
import { cidrContains, parseCidr, parseIp } from '../../../src/api/cidr.js';
import type { IPAMBlockResource, IPAMHandleResource } from '../../../src/api/types.js';
import { Ipam, NoSuchPoolError, PoolExhaustedError, IpamRequestError, blockName, handleName } from '../../../ipam/index.js';
import { ipamConfig, memoryStore, node, pool, snapshot } from './fixtures.js';

describe('IPAM allocation', () => {
  it('gives a host addresses from its own block, claimed on first use', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/16'));
    const ipam = new Ipam(ds);
    const a = await ipam.autoAssign({ node: 'h1', handleID: 'net.c1', num4: 1, attrs: { namespace: 'ns', pod: 'p' } });
    expect(a.ips).toHaveLength(1);
    const got = a.ips[0]!;
    expect(got.family).toBe(4);
    expect(got.cidr).toBe(`${got.ip}/32`);
    expect(got.pool).toBe('p4');
    expect(got.borrowed).toBe(false);
    expect(got.blockOwner).toBe('h1');
    expect(parseCidr(got.block).prefixLength).toBe(26);
    expect(cidrContains(parseCidr(got.block), parseIp(got.ip))).toBe(true);
    const block = await ds.get<IPAMBlockResource>({ kind: 'IPAMBlock', name: blockName(got.block) });
    expect(block?.spec.affinity).toBe('host:h1');
    const aff = await ds.list({ kind: 'BlockAffinity' });
    expect(aff.items.map((x) => x.metadata.name)).toEqual([`h1-${blockName(got.block)}`]);
    const handle = await ds.get<IPAMHandleResource>({ kind: 'IPAMHandle', name: handleName('net.c1') });
    expect(handle?.spec).toEqual({ handleID: 'net.c1', block: { [got.block]: 1 } });
    // The attributes travel with the allocation.
    const attr = block!.spec.attributes[block!.spec.allocations[Number(parseIp(got.ip).addr - parseCidr(got.block).addr)]!]!;
    expect(attr.handleID).toBe('net.c1');
    expect(attr.secondary).toMatchObject({ namespace: 'ns', pod: 'p', node: 'h1' });
  });

  it('a cached view of the pools (contextCacheMs) never refuses a pool created since: it is re-read first', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24'));
    const ipam = new Ipam(ds, { contextCacheMs: 60_000 });
    await ipam.autoAssign({ node: 'h1', handleID: 'n.c1', num4: 1 });
    await ds.create(pool('p6', 'fd00:65::/120'));
    const r = await ipam.autoAssign({ node: 'h1', handleID: 'n.c2', num4: 1, num6: 1, pools: ['p4', 'p6'] });
    expect(r.ips.map((a) => a.pool)).toEqual(['p4', 'p6']);
    // A pool that really does not exist is still refused.
    await expect(ipam.autoAssign({ node: 'h1', handleID: 'n.c3', num4: 1, pools: ['nope'] })).rejects.toBeInstanceOf(NoSuchPoolError);
  });

  it('keeps allocating in the same block, then claims another when it is full', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24', { blockSize: 28 }));
    const ipam = new Ipam(ds);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ipam.autoAssign({ node: 'h1', handleID: `n.c${i}`, num4: 1 })));
    const ips = results.map((r) => r.ips[0]!.ip);
    expect(new Set(ips).size).toBe(20);
    const blocks = new Set(results.map((r) => r.ips[0]!.block));
    expect(blocks.size).toBe(2); // 16 + 4
    for (const r of results) expect(r.ips[0]!.blockOwner).toBe('h1');
  });

  it('concurrent requests of one host are written together: one transaction per batch', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/16'));
    let txns = 0;
    const counted = Object.create(ds) as typeof ds;
    counted.txn = (ops) => {
      txns++;
      return ds.txn(ops);
    };
    const ipam = new Ipam(counted);
    await ipam.autoAssign({ node: 'h1', handleID: 'n.first', num4: 1 }); // claims the block
    txns = 0;
    const res = await Promise.all(Array.from({ length: 20 }, (_, i) => ipam.autoAssign({ node: 'h1', handleID: `n.${i}`, num4: 1 })));
    expect(new Set(res.map((r) => r.ips[0]!.ip)).size).toBe(20);
    expect(txns).toBe(1);
    expect((await ds.list({ kind: 'IPAMHandle' })).items).toHaveLength(21);
  });

  it('two hosts never share a block, even when racing', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24', { blockSize: 28 }));
    const hosts = ['a', 'b', 'c', 'd'];
    const ipams = hosts.map(() => new Ipam(ds)); // separate "processes"
    const res = await Promise.all(hosts.flatMap((h, i) => [0, 1, 2].map((k) => ipams[i]!.autoAssign({ node: h, handleID: `n.${h}${k}`, num4: 1 }))));
    const { items } = await ds.list<IPAMBlockResource>({ kind: 'IPAMBlock' });
    const owners = new Map(items.map((b) => [b.spec.cidr, b.spec.affinity]));
    for (const r of res) {
      const a = r.ips[0]!;
      expect(owners.get(a.block)).toBe(`host:${a.blockOwner}`);
      expect(a.borrowed).toBe(false);
    }
    expect(new Set(res.map((r) => r.ips[0]!.ip)).size).toBe(12);
  });

  it('two processes of one host racing for their first block end up sharing one block', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24', { blockSize: 28 }));
    const procs = [new Ipam(ds), new Ipam(ds), new Ipam(ds)];
    const res = await Promise.all(procs.map((p, i) => p.autoAssign({ node: 'h1', handleID: `n.${i}`, num4: 1 })));
    expect(new Set(res.map((r) => r.ips[0]!.block)).size).toBe(1);
    expect((await ds.list({ kind: 'IPAMBlock' })).items).toHaveLength(1);
  });

  it('allocates IPv4 and IPv6 together under one handle', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/16'));
    await ds.create(pool('p6', 'fd5e:7a11::/48'));
    const ipam = new Ipam(ds);
    const r = await ipam.autoAssign({ node: 'h1', handleID: 'n.c1', num4: 1, num6: 1 });
    expect(r.ips.map((x) => x.family).sort()).toEqual([4, 6]);
    const v6 = r.ips.find((x) => x.family === 6)!;
    expect(parseCidr(v6.block).prefixLength).toBe(122);
    expect(v6.cidr).toBe(`${v6.ip}/128`);
    const h = await ds.get<IPAMHandleResource>({ kind: 'IPAMHandle', name: 'n.c1' });
    expect(Object.keys(h!.spec.block).sort()).toEqual(r.ips.map((x) => x.block).sort());
    const back = await ipam.handleAssignments('n.c1');
    expect(back.map((x) => x.ip).sort()).toEqual(r.ips.map((x) => x.ip).sort());
  });

  it('borrows from another host only when no block is free, and says so', async () => {
    const ds = await memoryStore();
    await ds.create(pool('small', '10.65.0.0/27', { blockSize: 28 })); // 2 blocks of 16
    const ipam = new Ipam(ds);
    await ipam.autoAssign({ node: 'h1', handleID: 'n.1', num4: 1 });
    await ipam.autoAssign({ node: 'h2', handleID: 'n.2', num4: 1 });
    const r = await ipam.autoAssign({ node: 'h3', handleID: 'n.3', num4: 1 });
    expect(r.ips[0]!.borrowed).toBe(true);
    expect(['h1', 'h2']).toContain(r.ips[0]!.blockOwner);
    expect((await ds.list({ kind: 'IPAMBlock' })).items).toHaveLength(2);
  });

  it('with strictAffinity it does not borrow, and the error says why', async () => {
    const ds = await memoryStore();
    await ds.create(pool('small', '10.65.0.0/27', { blockSize: 28 }));
    await ds.create(ipamConfig({ strictAffinity: true }));
    const ipam = new Ipam(ds);
    await ipam.autoAssign({ node: 'h1', handleID: 'n.1', num4: 1 });
    await ipam.autoAssign({ node: 'h2', handleID: 'n.2', num4: 1 });
    const before = await snapshot(ds);
    const err = await ipam.autoAssign({ node: 'h3', handleID: 'n.3', num4: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolExhaustedError);
    const msg = (err as Error).message;
    expect(msg).toContain('small (10.65.0.0/27)');
    expect(msg).toContain('2/32 addresses in use');
    expect(msg).toContain('2/2 blocks claimed');
    expect(msg).toContain('strictAffinity');
    expect(await snapshot(ds)).toBe(before);
  });

  it('an exhausted pool names every pool tried and how full it is, and changes nothing', async () => {
    const ds = await memoryStore();
    await ds.create(pool('tiny', '10.65.0.0/30', { blockSize: 30 }));
    await ds.create(pool('off', '10.66.0.0/24', { disabled: true }));
    await ds.create(pool('picky', '10.67.0.0/24', { nodeSelector: 'rack == "r9"' }));
    await ds.create(node('h1', { rack: 'r1' }));
    const ipam = new Ipam(ds);
    await ipam.autoAssign({ node: 'h1', handleID: 'n.a', num4: 4 });
    const before = await snapshot(ds);
    const err = await ipam.autoAssign({ node: 'h1', handleID: 'n.b', num4: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolExhaustedError);
    const e = err as PoolExhaustedError;
    expect(e.tried).toEqual([
      expect.objectContaining({ pool: 'tiny', cidr: '10.65.0.0/30', inUse: 4, totalAddresses: 4, blocksClaimed: 1, blocksTotal: 1 }),
    ]);
    expect(e.message).toContain('pool off (10.66.0.0/24) not used: disabled');
    expect(e.message).toContain('pool picky (10.67.0.0/24) not used: nodeSelector "rack == "r9"" does not match node h1');
    expect(await snapshot(ds)).toBe(before);
  });

  it('a request for more addresses than fit fails whole and takes nothing', async () => {
    const ds = await memoryStore();
    await ds.create(pool('tiny', '10.65.0.0/30', { blockSize: 30 }));
    const ipam = new Ipam(ds);
    await ipam.autoAssign({ node: 'h1', handleID: 'n.a', num4: 2 });
    const before = await snapshot(ds);
    await expect(ipam.autoAssign({ node: 'h1', handleID: 'n.b', num4: 3 })).rejects.toBeInstanceOf(PoolExhaustedError);
    expect(await snapshot(ds)).toBe(before);
  });

  it('honours the pools restriction and the node selector', async () => {
    const ds = await memoryStore();
    await ds.create(pool('a', '10.65.0.0/24'));
    await ds.create(pool('b', '10.66.0.0/24'));
    await ds.create(pool('rack9', '10.67.0.0/24', { nodeSelector: 'rack == "r9"' }));
    await ds.create(node('h9', { rack: 'r9' }));
    const ipam = new Ipam(ds);
    const r = await ipam.autoAssign({ node: 'h1', handleID: 'n.1', num4: 1, pools: ['b'] });
    expect(r.ips[0]!.pool).toBe('b');
    const r2 = await ipam.autoAssign({ node: 'h1', handleID: 'n.2', num4: 1, pools: ['10.65.0.0/24'] });
    expect(r2.ips[0]!.pool).toBe('a');
    const r3 = await ipam.autoAssign({ node: 'h9', handleID: 'n.3', num4: 1, pools: ['rack9'] });
    expect(r3.ips[0]!.pool).toBe('rack9');
    await expect(ipam.autoAssign({ node: 'h1', handleID: 'n.4', num4: 1, pools: ['rack9'] })).rejects.toBeInstanceOf(PoolExhaustedError);
    const e = await ipam.autoAssign({ node: 'h1', handleID: 'n.5', num4: 1, pools: ['nope'] }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NoSuchPoolError);
    expect((e as Error).message).toContain('"nope"');
  });

  it('rejects requests that ask for nothing or carry no handle', async () => {
    const ds = await memoryStore();
    const ipam = new Ipam(ds);
    await expect(ipam.autoAssign({ node: 'h1', handleID: 'x', num4: 0 })).rejects.toBeInstanceOf(IpamRequestError);
    await expect(ipam.autoAssign({ node: 'h1', handleID: '', num4: 1 })).rejects.toBeInstanceOf(IpamRequestError);
    await expect(ipam.autoAssign({ node: 'h1', handleID: 'x', num4: -1 })).rejects.toBeInstanceOf(IpamRequestError);
  });

  it('a second allocation for the same handle adds to it', async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.65.0.0/24'));
    const ipam = new Ipam(ds);
    const a = await ipam.autoAssign({ node: 'h1', handleID: 'n.c', num4: 1 });
    const b = await new Ipam(ds).autoAssign({ node: 'h1', handleID: 'n.c', num4: 1 });
    expect(a.ips[0]!.ip).not.toBe(b.ips[0]!.ip);
    const h = await ds.get<IPAMHandleResource>({ kind: 'IPAMHandle', name: 'n.c' });
    expect(h?.spec.block).toEqual({ [a.ips[0]!.block]: 2 });
  });
});
