// Opening the etcd backend: build the client, check that etcd answers.

import { makeClient, describeEndpoints, type EtcdClientOptions } from './client.js';
import { EtcdDatastore } from './store.js';

export async function openEtcdDatastore(o: EtcdClientOptions): Promise<EtcdDatastore> {
  const location = describeEndpoints(o.endpoints);
  const client = makeClient(o);
  const ds = new EtcdDatastore(location, client, o.timeoutMs, o.endpoints.length);
  try {
    await ds.ping();
  } catch (e) {
    await ds.close();
    throw e;
  }
  return ds;
}
