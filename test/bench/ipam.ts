// `npm run bench -- ipam [--duration S] [--levels 1,10,50] [--per-host K]`
//
// IPAM allocations per second against a real etcd (started here), next to raw etcd
// compare-and-swap transactions per second at the same concurrency, in the same run:
//
//   ipam allocators=50 allocs_per_s=812 etcd_txn_per_s=1400 ratio=0.58
//
// Allocators are in-process async loops. They are grouped K per host (default 5: 1 allocator →
// 1 host, 10 → 2 hosts, 50 → 10 hosts); each host has one Ipam object (one "node agent"), so its
// allocators share that host's queue and blocks, and concurrent requests of a host are written
// in one transaction. Details (hosts, transactions, addresses per transaction) go to stderr.
//
// The raw etcd loop: each of N workers repeatedly does one transaction "if mod_revision(key) == r
// then put(key, 1 KiB)" on its own key (no conflicts), with the same etcd3 client library.

import { Etcd3 } from 'etcd3';
import { API_VERSION } from '../../src/api/types.js';
import { openDatastore } from '../../src/datastore/index.js';
import type { Datastore, TxnOp } from '../../src/datastore/types.js';
import type { Resource } from '../../src/api/types.js';
import { Ipam } from '../../ipam/ipam.js';
import { startBenchEtcd } from './ipam-etcd.js';

interface Args {
  durationMs: number;
  levels: number[];
  perHost: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { durationMs: 3000, levels: [1, 10, 50], perHost: 5 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = argv[i + 1];
    if (k === '--duration' && v) {
      a.durationMs = Math.max(500, Number(v) * 1000);
      i++;
    } else if (k === '--levels' && v) {
      a.levels = v.split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
      i++;
    } else if (k === '--per-host' && v) {
      a.perHost = Math.max(1, Number(v));
      i++;
    } else {
      throw new Error(`ipam bench: unknown argument "${k ?? ''}" (known: --duration S, --levels 1,10,50, --per-host K)`);
    }
  }
  return a;
}

/** Counts transactions (and their ops) that go through a datastore. */
function counting(ds: Datastore): { ds: Datastore; txns: () => number; reads: () => number } {
  let n = 0;
  let r = 0;
  const wrapped = Object.create(ds) as Datastore;
  wrapped.txn = (ops: TxnOp[]): Promise<Resource[]> => {
    n++;
    return ds.txn(ops);
  };
  wrapped.get = ((key) => {
    r++;
    return ds.get(key);
  }) as Datastore['get'];
  wrapped.list = ((opts) => {
    r++;
    return ds.list(opts);
  }) as Datastore['list'];
  return { ds: wrapped, txns: () => n, reads: () => r };
}

async function rawEtcdTxnPerSecond(client: Etcd3, workers: number, durationMs: number): Promise<number> {
  const value = Buffer.alloc(1024, 'x');
  const kv = client.kv;
  let done = 0;
  const deadline = Date.now() + durationMs;
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      const key = Buffer.from(`/bench/raw/${w}`);
      const first = await kv.txn({ success: [{ request_put: { key, value } }] });
      let rev = first.header.revision;
      while (Date.now() < deadline) {
        const res = await kv.txn({
          compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: rev }],
          success: [{ request_put: { key, value } }],
          failure: [],
        });
        if (!res.succeeded) throw new Error('raw CAS failed: the bench keys must not be shared');
        rev = res.header.revision;
        done++;
      }
    }),
  );
  return done / (durationMs / 1000);
}

async function ipamAllocsPerSecond(
  url: string,
  allocators: number,
  perHost: number,
  durationMs: number,
  level: number,
): Promise<{ perSecond: number; hosts: number; txns: number; reads: number; allocs: number }> {
  const store = await openDatastore(url);
  try {
    const { ds, txns, reads } = counting(store);
    await ds.create({
      apiVersion: API_VERSION,
      kind: 'IPPool',
      metadata: { name: `bench-${level}` },
      spec: { cidr: '10.64.0.0/12', blockSize: 26 },
    });
    const hosts = Math.ceil(allocators / perHost);
    const ipams = Array.from({ length: hosts }, () => new Ipam(ds, { contextCacheMs: 2000 }));
    // Warm-up: every host claims its first block and loads its caches.
    await Promise.all(ipams.map((ipam, h) => ipam.autoAssign({ node: `bench-h${h}`, handleID: `warm.${h}`, num4: 1 })));
    const before = txns();
    const readsBefore = reads();
    let allocs = 0;
    const start = Date.now();
    const deadline = start + durationMs;
    await Promise.all(
      Array.from({ length: allocators }, async (_, i) => {
        const h = i % hosts;
        const ipam = ipams[h] as Ipam;
        for (let k = 0; Date.now() < deadline; k++) {
          await ipam.autoAssign({ node: `bench-h${h}`, handleID: `bench.${i}.${k}`, num4: 1 });
          allocs++;
        }
      }),
    );
    const elapsed = Date.now() - start;
    return { perSecond: allocs / (elapsed / 1000), hosts, txns: txns() - before, reads: reads() - readsBefore, allocs };
  } finally {
    await store.close();
  }
}

export default async function (argv: string[]): Promise<void> {
  const args = parseArgs(argv);
  const etcd = await startBenchEtcd();
  const client = new Etcd3({ hosts: etcd.endpoint });
  try {
    for (const n of args.levels) {
      await client.delete().prefix('/twill/');
      await client.delete().prefix('/bench/');
      const raw = await rawEtcdTxnPerSecond(client, n, args.durationMs);
      await client.delete().prefix('/bench/');
      const ipam = await ipamAllocsPerSecond(etcd.url, n, args.perHost, args.durationMs, n);
      const ratio = raw > 0 ? ipam.perSecond / raw : 0;
      process.stdout.write(
        `ipam allocators=${n} allocs_per_s=${Math.round(ipam.perSecond)} etcd_txn_per_s=${Math.round(raw)} ratio=${ratio.toFixed(2)}\n`,
      );
      process.stderr.write(
        `# ipam allocators=${n} hosts=${ipam.hosts} (${args.perHost} allocators per host, one Ipam per host) ` +
          `allocs=${ipam.allocs} txns=${ipam.txns} reads=${ipam.reads} allocs_per_txn=${(ipam.allocs / Math.max(1, ipam.txns)).toFixed(2)} duration_s=${args.durationMs / 1000}\n`,
      );
    }
  } finally {
    client.close();
    await etcd.stop();
  }
}
