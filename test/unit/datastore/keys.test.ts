// List order (src/datastore/keys.ts): sortResources is sort(compareResources), stable, by a native
// sort of strings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../../src/api/types.js';
import { compareResources, sortResources } from '../../../src/datastore/keys.js';

const item = (kind: string, name: string, namespace?: string): Resource =>
  ({ apiVersion: 'twill.io/v1', kind, metadata: { name, ...(namespace !== undefined ? { namespace } : {}) }, spec: {} }) as unknown as Resource;

describe('sortResources', () => {
  it('orders by namespace, then name, a namespace before its longer namesakes, ties as they came', () => {
    const items = [item('A', 'x', 'a-b'), item('A', 'y', 'a'), item('A', 'b'), item('B', 'x', 'a-b'), item('A', 'é', 'a'), item('A', 'Z', 'a')];
    expect(sortResources([...items]).map((r) => `${r.kind}:${r.metadata.namespace ?? ''}/${r.metadata.name}`)).toEqual(['A:/b', 'A:a/Z', 'A:a/y', 'A:a/é', 'A:a-b/x', 'B:a-b/x']);
  });

  it('equals a stable sort by compareResources (fast-check)', () => {
    const text = fc.string({ unit: fc.constantFrom('a', 'b', '-', '.', 'Z', 'é', '\u{1F600}', '0'), maxLength: 4 });
    const items = fc.array(fc.tuple(fc.constantFrom('A', 'B'), text.filter((s) => s !== ''), fc.option(text, { nil: undefined })), { maxLength: 40 });
    fc.assert(
      fc.property(items, (xs) => {
        const rs = xs.map(([k, n, ns]) => item(k, n, ns));
        expect(sortResources([...rs])).toEqual([...rs].sort(compareResources));
      }),
      { numRuns: 300 },
    );
  });
});
