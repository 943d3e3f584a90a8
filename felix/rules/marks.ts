// Packet-mark bits, taken from FelixConfiguration iptablesMarkMask (lowest bits first), the way
// Calico does (mask 0xffff0000 → accept 0x10000, pass 0x20000, scratch 0x40000 / 0x80000).

import { MarkMaskError } from './errors.js';
import type { MarkBits } from './types.js';

export function markBits(mask: number): MarkBits {
  const bits: number[] = [];
  for (let i = 0; i < 32; i++) {
    const b = 2 ** i;
    if (Math.floor((mask >>> 0) / b) % 2 === 1) bits.push(b);
  }
  if (bits.length < 4) throw new MarkMaskError(mask, bits.length);
  return { accept: bits[0]!, pass: bits[1]!, scratch0: bits[2]!, scratch1: bits[3]! };
}

export function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** All the bits the rules set or clear. */
export function allBits(m: MarkBits): number {
  return (m.accept | m.pass | m.scratch0 | m.scratch1) >>> 0;
}
