// twill-node's IPAM garbage collection (NodeIpamGc on a memory datastore, a test clock): only this
// node's addresses without a workload endpoint are released, and only after the grace period;
// another node's leaked address and this node's used one stay.
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Ipam } from '../../../ipam/index.js';
import { NodeIpamGc } from '../../../src/node/ipam-gc.js';
import { memoryStore, node, pool, wep } from '../ipam/fixtures.js';

const MIN = 60_000;

describe('twill-node IPAM garbage collection', () => {
  it("releases this node's leaked address after the grace period, and nothing else", async () => {
    const ds = await memoryStore();
    await ds.create(pool('p4', '10.66.0.0/24'));
    for (const n of ['h1', 'h2']) await ds.create(node(n));
    const ipam = new Ipam(ds);
    const used = (await ipam.autoAssign({ node: 'h1', handleID: 'n.used', num4: 1 })).ips[0]!;
    const leaked = (await ipam.autoAssign({ node: 'h1', handleID: 'n.leak', num4: 1 })).ips[0]!;
    const other = (await ipam.autoAssign({ node: 'h2', handleID: 'n.other', num4: 1 })).ips[0]!;
    await ds.create(wep('used', 'h1', [used.ip], 'used'));
    let now = 0;
    const gc = new NodeIpamGc(ds, pino({ level: 'silent' }), { nodeName: 'h1', intervalMs: 0, graceMs: 10 * MIN, now: () => now });
    await gc.pass();
    now = 9 * MIN;
    await gc.pass();
    expect(gc.released).toBe(0);
    now = 10 * MIN;
    await gc.pass();
    expect(gc.released).toBe(1);
    expect(await ipam.handleAssignments('n.leak')).toEqual([]);
    expect((await ipam.handleAssignments('n.used')).map((a) => a.ip)).toEqual([used.ip]);
    expect((await ipam.handleAssignments('n.other')).map((a) => a.ip)).toEqual([other.ip]);
    expect(leaked.ip).not.toBe(used.ip);
    await gc.stop();
    await ds.close();
  });
});
