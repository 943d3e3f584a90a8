// Concurrent reconciles' writes, committed together: ops submitted in the same turn of the event
// loop (up to 100, under etcd's 128-op transaction limit) go to the datastore as one transaction,
// so a burst of 2,000 NetworkPolicies costs a few dozen commits instead of 2,000. A transaction
// is all or nothing: when it fails (one op's compare-and-swap lost, a create that already
// exists), each of its ops is tried again alone, so every op gets its own outcome and error.
import type { Datastore, TxnOp } from '../datastore/types.js';

const MAX_OPS = 100;

interface Pending {
  op: TxnOp;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class TxnBatcher {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(private readonly ds: Datastore) {}

  /** Resolves once `op` is committed; rejects with the datastore's typed error for that op alone. */
  write(op: TxnOp): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ op, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.pending;
    this.pending = [];
    for (let i = 0; i < all.length; i += MAX_OPS) void this.commit(all.slice(i, i + MAX_OPS));
  }

  private async commit(batch: Pending[]): Promise<void> {
    if (batch.length > 1) {
      try {
        await this.ds.txn(batch.map((p) => p.op));
        for (const p of batch) p.resolve();
        return;
      } catch {
        // One op spoiled the transaction (or the write failed): each alone, for its own outcome.
      }
    }
    await Promise.all(
      batch.map((p) =>
        this.ds.txn([p.op]).then(
          () => p.resolve(),
          (e: unknown) => p.reject(e),
        ),
      ),
    );
  }
}
