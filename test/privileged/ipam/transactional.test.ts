// The IPAM checks that read before they write stay true until the write (transaction guards),
// against a real etcd with concurrent writers:
// - pool overlap: overlapping IPPools applied at once by several twillctl invocations — exactly
//   one is stored, the others are refused naming the overlap;
// - two blocks at once: several allocators per host (as separate CNI processes are), on several
//   hosts, all claiming at once — every host ends with exactly one block (it needed one).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, type IPAMBlockResource } from '../../../src/api/types.js';
import { openDatastore, type Datastore } from '../../../src/datastore/index.js';
import { Ipam } from '../../../ipam/index.js';
import { missing } from '../../support/env.js';
import { startEtcd, type EtcdServer } from '../../support/etcd.js';
import { makeCli } from '../../unit/cli/harness.js';

const skip = missing({ tools: ['etcd'] });

describe.skipIf(skip)('IPAM checks are transactional (real etcd, concurrent writers)', () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.destroy();
  });

  it('overlapping pools applied at once: exactly one is stored, the others are refused', async () => {
    const cli = makeCli({ datastore: etcd.url });
    try {
      const n = 6;
      // Six pools, each overlapping all the others (nested: 10.210.0.0/16, /17, /18, ...).
      const yaml = (i: number): string =>
        ['apiVersion: twill.io/v1', 'kind: IPPool', 'metadata:', `  name: race-${i}`, 'spec:', `  cidr: 10.210.0.0/${16 + i}`, ''].join('\n');
      const results = await Promise.all(Array.from({ length: n }, (_, i) => cli(['apply', '-f', '-'], yaml(i))));
      const ds = await openDatastore(etcd.url);
      try {
        const stored = (await ds.list({ kind: 'IPPool' })).items.map((p) => p.metadata.name);
        expect(stored).toHaveLength(1);
        const refused = results.filter((r) => r.code !== 0);
        expect(refused).toHaveLength(n - 1);
        for (const r of refused) expect(r.stderr).toMatch(/overlaps IPPool race-/);
        expect(results[Number(stored[0]!.slice('race-'.length))]!.code).toBe(0);
      } finally {
        await ds.close();
      }
    } finally {
      cli.cleanup();
    }
  });

  it('disjoint pools created at once: every one is stored (a lost guard race is checked again, not an error)', async () => {
    const cli = makeCli({ datastore: etcd.url });
    try {
      const n = 10;
      const yaml = (i: number): string =>
        ['apiVersion: twill.io/v1', 'kind: IPPool', 'metadata:', `  name: many-${i}`, 'spec:', `  cidr: 10.211.${i}.0/24`, ''].join('\n');
      const results = await Promise.all(Array.from({ length: n }, (_, i) => cli(['create', '-f', '-'], yaml(i))));
      expect(results.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
      const ds = await openDatastore(etcd.url);
      try {
        expect((await ds.list({ kind: 'IPPool' })).items.filter((p) => p.metadata.name.startsWith('many-'))).toHaveLength(n);
      } finally {
        await ds.close();
      }
    } finally {
      cli.cleanup();
    }
  });

  it('several allocators per host claiming at once: every host gets one block, not two', async () => {
    const setup = await openDatastore(etcd.url);
    const hosts = ['h1', 'h2', 'h3', 'h4'];
    const perHost = 4;
    const stores: Datastore[] = [];
    try {
      await setup.create({ apiVersion: API_VERSION, kind: 'IPPool', metadata: { name: 'blocks' }, spec: { cidr: '10.220.0.0/22', blockSize: 28 } });
      for (let i = 0; i < hosts.length * perHost; i++) stores.push(await openDatastore(etcd.url));
      await Promise.all(
        stores.map((ds, i) => new Ipam(ds).autoAssign({ node: hosts[i % hosts.length]!, handleID: `net.c${i}`, num4: 1, pools: ['blocks'] })),
      );
      const blocks = (await setup.list<IPAMBlockResource>({ kind: 'IPAMBlock' })).items;
      const byHost = new Map<string, number>();
      for (const b of blocks) byHost.set(String(b.spec.affinity), (byHost.get(String(b.spec.affinity)) ?? 0) + 1);
      expect(Object.fromEntries(byHost)).toEqual(Object.fromEntries(hosts.map((h) => [`host:${h}`, 1])));
    } finally {
      for (const ds of stores) await ds.close();
      await setup.close();
    }
  });
});
