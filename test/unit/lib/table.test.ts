import { describe, expect, it } from 'vitest';
import { renderTable } from '../../../src/lib/table.js';

describe('renderTable', () => {
  it('aligns columns three spaces apart with no trailing blanks', () => {
    expect(renderTable(['NAME', 'CIDR', 'NOTE'], [['a', '10.0.0.0/24', ''], ['longer', '::/0', 'x']])).toBe(
      'NAME     CIDR          NOTE\n' + 'a        10.0.0.0/24\n' + 'longer   ::/0          x\n',
    );
  });

  it('prints only the header for no rows', () => {
    expect(renderTable(['A', 'B'], [])).toBe('A   B\n');
  });
});
