// How resources sit in etcd: the value is the resource's JSON without resourceVersion (that is
// the key's mod_revision, added on read). uid and creationTimestamp are in the value.

import type { IKeyValue } from 'etcd3';
import type { Resource, ResourceKey } from '../../api/types.js';
import { BackendError } from '../errors.js';
import { stamp, type Identity } from '../keys.js';

/** The value to store and the object to hand back once the write's revision is known. */
export interface Encoded {
  value: Buffer;
  /** The stored object; resourceVersion is filled in after the write. */
  resource: Resource;
}

export function encode(r: Resource, key: ResourceKey, id: Identity): Encoded {
  const copy = stamp(r, key, id, 0);
  delete copy.metadata.resourceVersion;
  const value = Buffer.from(JSON.stringify(copy));
  return { value, resource: copy };
}

export function decode(location: string, kv: IKeyValue): Resource {
  let r: Resource;
  try {
    r = JSON.parse(kv.value.toString('utf8')) as Resource;
  } catch (e) {
    throw new BackendError(location, `the value at ${kv.key.toString()} is not JSON`, {
      hint: 'something other than Twill wrote this key; delete or repair it',
      cause: e,
    });
  }
  if (typeof r !== 'object' || r === null || typeof r.metadata !== 'object' || r.metadata === null) {
    throw new BackendError(location, `the value at ${kv.key.toString()} is not a Twill resource`, {
      hint: 'something other than Twill wrote this key; delete or repair it',
    });
  }
  r.metadata.resourceVersion = kv.mod_revision;
  return r;
}

export function identityOf(r: Resource): Identity {
  return { uid: r.metadata.uid ?? '', creationTimestamp: r.metadata.creationTimestamp ?? '' };
}

/**
 * Remembers the identity (uid, creationTimestamp) of recently seen object versions, keyed by
 * (key, mod_revision): a version's identity never changes, so an update that compares on a
 * revision we have seen needs no read first.
 */
export class IdentityCache {
  private readonly map = new Map<string, { mod: string; id: Identity }>();
  constructor(private readonly limit = 50_000) {}

  remember(path: string, mod: string, id: Identity): void {
    if (!id.uid) return;
    this.map.delete(path);
    this.map.set(path, { mod, id });
    if (this.map.size > this.limit) {
      const oldest = this.map.keys().next().value;
      if (oldest !== undefined) this.map.delete(oldest);
    }
  }

  lookup(path: string, mod: string): Identity | undefined {
    const e = this.map.get(path);
    return e && e.mod === mod ? e.id : undefined;
  }

  forget(path: string): void {
    this.map.delete(path);
  }

  clear(): void {
    this.map.clear();
  }
}
