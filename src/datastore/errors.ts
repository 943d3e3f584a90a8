import { formatKey, type ResourceKey } from '../api/types.js';
import { TwillError } from '../errors.js';

export class NotFoundError extends TwillError {
  constructor(readonly key: ResourceKey) {
    super('NotFound', `${formatKey(key)} not found`);
  }
}

export class AlreadyExistsError extends TwillError {
  constructor(readonly key: ResourceKey) {
    super('AlreadyExists', `${formatKey(key)} already exists`, {
      hint: 'use "apply" or "replace" to change an existing resource',
    });
  }
}

/** A compare-and-swap failed: someone else wrote the object since it was read. */
export class ConflictError extends TwillError {
  constructor(
    readonly key: ResourceKey,
    readonly expected: string | undefined,
    readonly actual: string | undefined,
  ) {
    super(
      'Conflict',
      `${formatKey(key)} was modified concurrently (expected revision ${expected ?? '<none>'}, found ${actual ?? '<none>'})`,
      { hint: 'read it again and retry the change' },
    );
  }
}

/** The datastore cannot be reached. twillctl exits 2 on this. */
export class UnreachableError extends TwillError {
  constructor(
    readonly location: string,
    cause?: unknown,
  ) {
    super('Unreachable', `cannot reach the datastore at ${location}${cause instanceof Error ? `: ${cause.message}` : ''}`, {
      hint: 'check --datastore / TWILL_DATASTORE and that the datastore is running',
      cause,
    });
  }
}

/** The embedded datastore file is locked by another live process. */
export class InUseError extends TwillError {
  constructor(
    readonly path: string,
    readonly pid: number | undefined,
  ) {
    super('InUse', `datastore file ${path} is in use by another process${pid !== undefined ? ` (pid ${pid})` : ''}`, {
      hint: 'stop the other process, or use an etcd datastore for shared access',
    });
  }
}

/** A datastore URL or option that cannot be understood. */
export class DatastoreConfigError extends TwillError {
  constructor(message: string) {
    super('DatastoreConfig', message, {
      hint: 'use etcd://host:port[,host:port] or file:PATH',
    });
  }
}
