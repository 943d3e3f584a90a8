#!/usr/bin/env node
// twill-ipam: the CNI IPAM plugin program. A container runtime (or a CNI plugin delegating IPAM)
// runs it with CNI_COMMAND=ADD|DEL|CHECK|VERSION and the network configuration on stdin.
// Startup is kept light: only the datastore backend the configuration names is loaded.

import { parseDatastoreUrl } from '../datastore/url.js';
import { processIo } from '../lib/cli-io.js';
import type { Datastore } from '../datastore/types.js';
import { runIpamPlugin, type StoreOptions } from './ipam-plugin.js';

async function openStore(url: string, opts: StoreOptions): Promise<Datastore> {
  const p = parseDatastoreUrl(url);
  switch (p.backend) {
    case 'memory':
      return (await import('../datastore/memory.js')).openMemoryDatastore();
    case 'file':
      return (await import('../datastore/file/open.js')).openFileDatastore(p.path);
    case 'etcd': {
      const timeoutMs = Number(process.env.TWILL_DATASTORE_TIMEOUT_MS ?? '') || 5000;
      return (await import('../datastore/etcd/open.js')).openEtcdDatastore({ endpoints: p.endpoints, ...opts, timeoutMs });
    }
  }
}

const io = processIo();
const stdin = process.stdin.isTTY ? '' : (await io.readStdin()).toString();
const out = await runIpamPlugin({ env: io.env, stdin, openStore });
// The CNI result is the program's output; exit only once it is written.
process.stdout.write(out.stdout, () => process.exit(out.exitCode));
