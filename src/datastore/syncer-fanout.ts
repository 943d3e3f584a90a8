// One syncer, several consumers: an agent that runs the policy agent and the BGP speaker side by
// side watches the datastore once and hands each consumer only the kinds it asked for.
import type { Kind } from '../api/types.js';
import type { Datastore } from './types.js';
import { startSyncer, type SyncEvent, type SyncerCallbacks, type SyncerOptions } from './syncer.js';

export interface SyncConsumer {
  kinds: readonly Kind[];
  callbacks: SyncerCallbacks;
}

function kindOf(e: SyncEvent): Kind {
  return e.type === 'set' ? e.resource.kind : e.key.kind;
}

/**
 * Starts one syncer over the union of the consumers' kinds. Each consumer gets its own kinds'
 * events (a batch with none of them is not delivered), every in-sync and every status change.
 */
export function startSharedSyncer(ds: Datastore, consumers: readonly SyncConsumer[], opts: SyncerOptions = {}): { stop(): Promise<void> } {
  const all = [...new Set(consumers.flatMap((c) => c.kinds))];
  const wants = consumers.map((c) => new Set<Kind>(c.kinds));
  return startSyncer(
    ds,
    all,
    {
      onUpdates: (events) => {
        consumers.forEach((c, i) => {
          const mine = events.filter((e) => wants[i]!.has(kindOf(e)));
          if (mine.length > 0) c.callbacks.onUpdates(mine);
        });
      },
      onInSync: () => {
        for (const c of consumers) c.callbacks.onInSync();
      },
      onStatus: (s, detail) => {
        for (const c of consumers) c.callbacks.onStatus?.(s, detail);
      },
      onCorrupt: (values) => {
        consumers.forEach((c, i) => c.callbacks.onCorrupt?.(values.filter((v) => wants[i]!.has(v.key.kind))));
      },
    },
    opts,
  );
}
