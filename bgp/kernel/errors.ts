// Errors of kernel route sync that a caller can act on (bad options, wrong call order). Per-route
// failures are never thrown: they are retried, logged and counted in stats().
import { TwillError } from '../../src/errors.js';

export class KernelSyncStateError extends TwillError {
  constructor(what: string, hint: string) {
    super('BgpKernelSyncInvalid', `kernel route sync: ${what}`, { hint });
  }
}
