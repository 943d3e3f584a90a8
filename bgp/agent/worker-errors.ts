// Errors of the speaker worker as the main thread sees them (./worker-host.ts).
import { TwillError } from '../../src/errors.js';
import type { WireError } from './protocol.js';

/**
 * An error raised inside the worker. `code` and `hint` are the original TwillError's (e.g.
 * BGP_CONFIG_INVALID from SpeakerConfigError); `remoteName` is its class name there.
 */
export class BgpWorkerError extends TwillError {
  readonly remoteName: string;
  constructor(e: WireError) {
    super(e.code, e.message, e.hint ? { hint: e.hint } : undefined);
    this.remoteName = e.name;
  }
}

/** The worker thread is gone (crashed, or stopped): every pending and later call fails with this. */
export class BgpWorkerExitedError extends TwillError {
  readonly exitCode: number | undefined;
  constructor(why: string, exitCode?: number, cause?: unknown) {
    super('BgpWorkerExited', `the BGP speaker worker ${why}`, {
      hint: 'the BGP sessions of this node are down; see the log lines before this one, then start a new SpeakerWorker (twill-node restarts it)',
      ...(cause !== undefined ? { cause } : {}),
    });
    this.exitCode = exitCode;
  }
}
