import { describe, expect, it } from 'vitest';
import type { ProfileResource, IPPoolResource } from '../../../src/api/types.js';
import { openDatastore, startSharedSyncer, type SyncEvent } from '../../../src/datastore/index.js';

describe('startSharedSyncer: one syncer, each consumer its own kinds', () => {
  it('delivers each kind only to the consumers that asked for it, and in-sync to all', async () => {
    const ds = await openDatastore('memory:');
    await ds.create<ProfileResource>({ apiVersion: 'twill.io/v1', kind: 'Profile', metadata: { name: 'p1' }, spec: {} });
    await ds.create<IPPoolResource>({ apiVersion: 'twill.io/v1', kind: 'IPPool', metadata: { name: 'pool' }, spec: { cidr: '10.1.0.0/16' } });
    const got: { a: SyncEvent[]; b: SyncEvent[]; syncA: number; syncB: number } = { a: [], b: [], syncA: 0, syncB: 0 };
    const s = startSharedSyncer(ds, [
      { kinds: ['Profile'], callbacks: { onUpdates: (e) => got.a.push(...e), onInSync: () => got.syncA++ } },
      { kinds: ['Profile', 'IPPool'], callbacks: { onUpdates: (e) => got.b.push(...e), onInSync: () => got.syncB++ } },
    ]);
    await new Promise((r) => setTimeout(r, 100));
    await ds.delete({ kind: 'IPPool', name: 'pool' });
    await new Promise((r) => setTimeout(r, 100));
    await s.stop();
    const name = (e: SyncEvent): string => (e.type === 'set' ? `set ${e.resource.kind}/${e.resource.metadata.name}` : `del ${e.key.kind}/${e.key.name}`);
    expect(got.a.map(name)).toEqual(['set Profile/p1']);
    expect(got.b.map(name).sort()).toEqual(['del IPPool/pool', 'set IPPool/pool', 'set Profile/p1']);
    expect(got.syncA).toBeGreaterThanOrEqual(1);
    expect(got.syncB).toBe(got.syncA);
    await ds.close();
  });
});
