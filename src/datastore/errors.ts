import { formatKey, type Kind, type ResourceKey } from '../api/types.js';
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

/** A transaction guard failed: objects it covers changed after the revision a check was made at. */
export class GuardConflictError extends ConflictError {
  constructor(readonly guard: { kind: Kind; namePrefix?: string; revision: string }) {
    super({ kind: guard.kind, name: `${guard.namePrefix ?? ''}*` }, guard.revision, 'newer');
  }
}

/** The datastore cannot be reached. twillctl exits 2 on this. */
export class UnreachableError extends TwillError {
  constructor(
    readonly location: string,
    cause?: unknown,
    hint?: string,
  ) {
    // gRPC appends resolver diagnostics ("Resolution note: ...") that say nothing to a user.
    const why = cause instanceof Error ? `: ${cause.message.replace(/\s*Resolution note:.*$/s, '').trim()}` : '';
    super('Unreachable', `cannot reach the datastore at ${location}${why}`, {
      hint: hint ?? 'check --datastore / TWILL_DATASTORE and that the datastore is running',
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
  /** `hint` defaults to the URL forms; pass a better one when the URL is not the problem. */
  constructor(message: string, hint = 'use etcd://host:port[,host:port] or file:PATH') {
    super('DatastoreConfig', message, { hint });
  }
}

/** A resource key (kind, namespace, name) that cannot be stored. */
export class InvalidKeyError extends TwillError {
  constructor(what: string, reason: string) {
    super('InvalidKey', `${what}: ${reason}`, {
      hint: 'names and namespaces must be non-empty, at most 253 characters, without "/" or control characters',
    });
  }
}

/** A transaction whose ops cannot be applied together (e.g. two ops on the same object). */
export class InvalidTxnError extends TwillError {
  constructor(message: string) {
    super('InvalidTxn', message, { hint: 'touch each object at most once per transaction' });
  }
}

/** The datastore was closed; open it again to keep using it. */
export class ClosedError extends TwillError {
  constructor(readonly location: string) {
    super('Closed', `datastore ${location} is closed`, { hint: 'open the datastore again' });
  }
}

/** The embedded datastore file cannot be read as a Twill datastore. */
export class CorruptDatastoreError extends TwillError {
  constructor(
    readonly path: string,
    detail: string,
    cause?: unknown,
  ) {
    super('Corrupt', `datastore file ${path} is not a valid Twill datastore: ${detail}`, {
      hint: `move ${path} aside (or restore it from a backup) and start again`,
      cause,
    });
  }
}

/** Reading or writing the embedded datastore file failed; nothing from a failed write was kept. */
export class StorageError extends TwillError {
  constructor(
    readonly path: string,
    cause: unknown,
    action: 'read' | 'write' = 'write',
  ) {
    super('Storage', `cannot ${action} datastore file ${path}${cause instanceof Error ? `: ${cause.message}` : ''}`, {
      hint: 'check free space and permissions of the directory holding the datastore file',
      cause,
    });
  }
}

/** The datastore answered, but with a failure Twill does not expect (permissions, bad data, limits). */
export class BackendError extends TwillError {
  constructor(
    readonly location: string,
    message: string,
    options?: { hint?: string; cause?: unknown },
  ) {
    super('Backend', `datastore ${location}: ${message}`, options);
  }
}
