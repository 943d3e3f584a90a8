// What the CNI programs share around their logic: opening the datastore backend the
// configuration names — loading only that backend (etcd3 and gRPC cost ~0.4 s).
import type { Datastore } from '../src/datastore/types.js';
import { parseDatastoreUrl } from '../src/datastore/url.js';

export interface StoreTlsFiles {
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
}

export async function openStore(url: string, tls: StoreTlsFiles): Promise<Datastore> {
  const p = parseDatastoreUrl(url);
  switch (p.backend) {
    case 'memory':
      return (await import('../src/datastore/memory.js')).openMemoryDatastore();
    case 'file':
      return (await import('../src/datastore/file/open.js')).openFileDatastore(p.path, { lockWaitMs: 10_000 }); // concurrent ADD/DEL wait their turn
    case 'etcd': {
      const timeoutMs = Number(process.env.TWILL_DATASTORE_TIMEOUT_MS ?? '') || 5000;
      return (await import('../src/datastore/etcd/open.js')).openEtcdDatastore({ endpoints: p.endpoints, ...tls, timeoutMs });
    }
  }
}
