// Errors the dataplane raises on purpose.
import { TwillError } from '../../src/errors.js';

/** A kernel write keeps failing: the agent is not ready and says which object is stuck. */
export class DataplaneWriteError extends TwillError {
  constructor(
    readonly what: string,
    readonly attempts: number,
    cause: string,
  ) {
    super('DataplaneWriteFailing', `writing ${what} has failed ${attempts} time(s) in a row: ${cause}`, {
      hint: 'the agent keeps retrying with backoff and reports not ready; check the kernel tools (iptables backend, ipset module) and the log line that names the rejected rule',
    });
  }
}
