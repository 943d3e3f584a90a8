import { TwillError } from '../../src/errors.js';

/** The configured iptablesMarkMask leaves too few bits for the marks the rules need. */
export class MarkMaskError extends TwillError {
  constructor(mask: number, bits: number) {
    super(
      'MarkMaskTooSmall',
      `FelixConfiguration iptablesMarkMask 0x${(mask >>> 0).toString(16)} has ${bits} bit(s); Twill needs at least 4 (accept, pass, 2 scratch)`,
      { hint: 'set iptablesMarkMask to a mask with 4 or more free bits, e.g. 0xffff0000 (the default)' },
    );
  }
}

/** A name the renderer would have to produce does not fit iptables' or ipset's limits. */
export class RuleNameError extends TwillError {
  constructor(message: string, hint?: string) {
    super('RuleName', message, hint !== undefined ? { hint } : undefined);
  }
}
