import { TwillError } from '../errors.js';

/** No twill-node answers on the socket (not running, another node's socket, or no permission). */
export class NodeApiUnreachableError extends TwillError {
  constructor(
    readonly socketPath: string,
    detail: string,
    cause?: unknown,
  ) {
    super('NodeApiUnreachable', `no twill-node agent answers on ${socketPath} (${detail})`, {
      hint: 'start the agent on this host (twill-node --node-name NAME --datastore URL), or pick the node with --node NAME or its socket with --api-socket PATH',
      cause,
    });
  }
}

/** The API socket cannot be served (path taken, directory not writable...). */
export class NodeApiServeError extends TwillError {
  constructor(message: string, hint: string, cause?: unknown) {
    super('NodeApiServe', message, { hint, cause });
  }
}

/** The request itself is wrong (bad direction, family...). */
export class NodeApiRequestError extends TwillError {
  constructor(message: string) {
    super('NodeApiRequest', message);
  }
}
