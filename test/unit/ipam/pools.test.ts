import { describe, expect, it } from 'vitest';
import { Ipam, InvalidPoolError, PoolOverlapError, checkPoolOverlap, handleName, parsePool, blockName, affinityName } from '../../../ipam/index.js';
import { memoryStore, pool, snapshot } from './fixtures.js';

describe('IP pools at apply time', () => {
  it('rejects a pool overlapping a stored one, naming both; changes nothing', async () => {
    const ds = await memoryStore();
    await ds.create(pool('pool-a', '10.65.0.0/16'));
    const before = await snapshot(ds);
    const e = await checkPoolOverlap(ds, pool('pool-b', '10.65.128.0/17')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PoolOverlapError);
    expect((e as Error).message).toBe('IPPool pool-b (10.65.128.0/17) overlaps IPPool pool-a (10.65.0.0/16); nothing was changed');
    await expect(checkPoolOverlap(ds, pool('pool-c', '10.0.0.0/8'))).rejects.toBeInstanceOf(PoolOverlapError);
    expect(await snapshot(ds)).toBe(before);
    // Re-applying the same pool, a disjoint pool, or another family is fine.
    await checkPoolOverlap(ds, pool('pool-a', '10.65.0.0/16', { natOutgoing: true }));
    await checkPoolOverlap(ds, pool('pool-d', '10.66.0.0/16'));
    await checkPoolOverlap(ds, pool('pool-6', 'fd00::/48'));
  });

  it('rejects overlap within the same batch', async () => {
    const ds = await memoryStore();
    const a = pool('a', '10.65.0.0/24');
    const b = pool('b', '10.65.0.128/25');
    await expect(checkPoolOverlap(ds, a, { alsoApplying: [a, b] })).rejects.toThrow('overlaps IPPool b (10.65.0.128/25)');
  });

  it('rejects block sizes out of range, with the allowed range', async () => {
    const ds = await memoryStore();
    const cases: [string, number, string][] = [
      ['10.65.0.0/16', 19, 'spec.blockSize: 19 is out of range for an IPv4 pool (20..32)'],
      ['10.65.0.0/16', 33, 'spec.blockSize: 33 is out of range for an IPv4 pool (20..32)'],
      ['fd00::/48', 64, 'spec.blockSize: 64 is out of range for an IPv6 pool (116..128)'],
      ['10.65.0.0/28', 26, 'spec.blockSize: /26 blocks do not fit in the pool 10.65.0.0/28'],
    ];
    for (const [cidr, blockSize, msg] of cases) {
      const e = await checkPoolOverlap(ds, pool('p', cidr, { blockSize })).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(InvalidPoolError);
      expect((e as Error).message).toBe(`IPPool p: ${msg}`);
    }
    expect(() => parsePool('p', { cidr: '10.65.0.1/16' })).toThrow('did you mean 10.65.0.0/16?');
    expect(() => parsePool('p', { cidr: '10.65.0.0/16', nodeSelector: 'rack = "a"' })).toThrow('spec.nodeSelector');
    expect(parsePool('p', { cidr: 'fd00::/48' }).blockSize).toBe(122);
    expect(parsePool('p', { cidr: '10.0.0.0/8' }).blockSize).toBe(26);
  });

  it('refuses to change the CIDR or block size of a pool in use', async () => {
    const ds = await memoryStore();
    await ds.create(pool('pool-a', '10.65.0.0/16'));
    await checkPoolOverlap(ds, pool('pool-a', '10.65.0.0/16', { blockSize: 28 })); // not in use yet: fine
    await new Ipam(ds).autoAssign({ node: 'h1', handleID: 'n.1', num4: 1 });
    await expect(checkPoolOverlap(ds, pool('pool-a', '10.65.0.0/16', { blockSize: 28 }))).rejects.toThrow(
      'cannot change spec.blockSize (26 → 28): 1 block(s) of this pool are in use (e.g. 10.65.0.0/26)',
    );
    await expect(checkPoolOverlap(ds, pool('pool-a', '10.64.0.0/15'))).rejects.toThrow('cannot change spec.cidr (10.65.0.0/16 → 10.64.0.0/15)');
  });
});

describe('IPAM object names', () => {
  it('derives block, affinity and handle names', () => {
    expect(blockName('10.65.0.0/26')).toBe('10-65-0-0-26');
    expect(blockName('fd00:1::/122')).toBe('fd00-1---122');
    expect(affinityName('host1', '10.65.0.0/26')).toBe('host1-10-65-0-0-26');
    expect(handleName('k8s-pod-network.abc123')).toBe('k8s-pod-network.abc123');
    const odd = handleName('Net_1.ABC/def');
    expect(odd).toMatch(/^net-1\.abc-def-[0-9a-f]{12}$/);
    expect(handleName('Net_1.ABC/deF')).not.toBe(odd); // different ids never share a name
    expect(handleName('x'.repeat(400)).length).toBeLessThanOrEqual(200);
    expect(handleName('...')).toMatch(/^h-[0-9a-f]{12}$/);
  });
});
