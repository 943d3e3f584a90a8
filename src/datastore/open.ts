// openDatastore: a Datastore for a URL (memory:, file:PATH, etcd://...).

import type { Datastore } from './types.js';
import { openMemoryDatastore } from './memory.js';
import { openFileDatastore } from './file/open.js';
import { parseDatastoreUrl } from './url.js';

export interface DatastoreOptions {
  /** etcd: path of the CA certificate (PEM) that signed the server's certificate. */
  etcdCa?: string;
  /** etcd: path of the client certificate (PEM). */
  etcdCert?: string;
  /** etcd: path of the client key (PEM). */
  etcdKey?: string;
  /** ms, default 5000 */
  timeoutMs?: number;
  /** file: how long to wait for another process to release the file (ms; default 0: InUseError at once). */
  lockWaitMs?: number;
}

export async function openDatastore(url: string, opts: DatastoreOptions = {}): Promise<Datastore> {
  const parsed = parseDatastoreUrl(url);
  switch (parsed.backend) {
    case 'memory':
      return openMemoryDatastore();
    case 'file':
      return openFileDatastore(parsed.path, opts.lockWaitMs !== undefined ? { lockWaitMs: opts.lockWaitMs } : {});
    case 'etcd': {
      // Loaded on demand: etcd3 and gRPC take ~0.5 s to load, which file: and memory: users
      // (twillctl on a laptop, the CNI plugin's tests) should not pay.
      const { openEtcdDatastore } = await import('./etcd/open.js');
      return openEtcdDatastore({
        endpoints: parsed.endpoints,
        etcdCa: opts.etcdCa,
        etcdCert: opts.etcdCert,
        etcdKey: opts.etcdKey,
        timeoutMs: opts.timeoutMs ?? 5000,
      });
    }
  }
}
