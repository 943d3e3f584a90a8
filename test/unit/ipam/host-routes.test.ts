import { describe, expect, it } from 'vitest';
import { API_VERSION, type IPAMBlockResource } from '../../../src/api/types.js';
import { parseCidr } from '../../../src/api/cidr.js';
import { allocateOrdinals, newBlockSpec } from '../../../ipam/block.js';
import { blockRoutesFor, hostRoutes } from '../../../ipam/host-routes.js';
import { blockName } from '../../../ipam/names.js';

/** A block affine to `owner` with `allocs` = [node holding ordinal 0, node holding ordinal 1, ...]. */
function block(cidr: string, owner: string | undefined, allocs: string[] = [], deleted = false): IPAMBlockResource {
  const spec = newBlockSpec(parseCidr(cidr), owner === undefined ? undefined : `host:${owner}`, false);
  for (const [i, node] of allocs.entries()) allocateOrdinals(spec, 1, `net.c${i}`, { node, pod: `p${i}` });
  if (deleted) spec.deleted = true;
  return { apiVersion: API_VERSION, kind: 'IPAMBlock', metadata: { name: blockName(cidr) }, spec };
}

describe('hostRoutes: this host\'s blocks, borrowed and lent addresses', () => {
  it('lists the blocks with affinity host:<node>, exactly, and skips deleted and other hosts\' blocks', () => {
    const r = hostRoutes('a', [
      block('10.65.0.64/26', 'a'),
      block('10.65.0.0/26', 'a'),
      block('10.65.0.128/26', 'b'),
      block('10.65.0.192/26', 'a', [], true),
      block('fd00:65::/122', 'a'),
    ]);
    expect(r.blocks).toEqual(['10.65.0.0/26', '10.65.0.64/26', 'fd00:65::/122']);
    expect(r.borrowed).toEqual([]);
    expect(r.problems).toEqual([]);
  });

  it('an address of b\'s block given to a workload on a is borrowed by a and lent by b', () => {
    const blocks = [block('10.65.1.0/26', 'b', ['b', 'a', 'a']), block('fd00:65::40/122', undefined, ['a'])];
    expect(hostRoutes('a', blocks)).toEqual({
      blocks: [],
      borrowed: ['10.65.1.1/32', '10.65.1.2/32', 'fd00:65::40/128'],
      lent: [],
      problems: [],
    });
    expect(hostRoutes('b', blocks)).toEqual({ blocks: ['10.65.1.0/26'], borrowed: [], lent: ['10.65.1.1/32', '10.65.1.2/32'], problems: [] });
  });

  it('an unreadable block is a problem, not an exception, and gives nothing', () => {
    const bad = block('10.65.2.0/26', 'a');
    bad.spec.cidr = '10.65.2.0/99';
    expect(blockRoutesFor('a', bad)).toMatchObject({ borrowed: [], lent: [] });
    expect(blockRoutesFor('a', bad).block).toBeUndefined();
    expect(hostRoutes('a', [bad]).problems).toEqual([expect.stringMatching(/^IPAMBlock 10-65-2-0-26: spec.cidr: .*prefix length/)]);
  });
});
