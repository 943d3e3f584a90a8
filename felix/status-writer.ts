// Writes WorkloadEndpoint.status {programmed, programmedAt, programmedBy, specHash} back to the
// datastore once the endpoint's policy, routes and sysctls are in the kernel. Compare-and-swap
// on the resource version; on conflict the object is re-read and the write retried.
import type { ResourceKey, WorkloadEndpointResource } from '../src/api/types.js';
import { ConflictError, NotFoundError, type Datastore } from '../src/datastore/index.js';
import { errorMessage } from '../src/errors.js';
import type { DataplaneLogger } from './dataplane/log.js';
import { workloadSpecHash } from '../src/api/spec-hash.js';

const keyStr = (namespace: string, name: string): string => `${namespace}/${name}`;

export class StatusWriter {
  /** Local endpoints as last seen from the syncer, by namespace/name. */
  private readonly local = new Map<string, WorkloadEndpointResource>();
  private running: Promise<void> | undefined;
  private pending: Set<string> | undefined;
  writes = 0;
  /** specHash per spec object (the syncer hands out a new object per change). */
  private readonly hashes = new WeakMap<object, string>();

  private hashOf(w: WorkloadEndpointResource): string {
    let h = this.hashes.get(w.spec);
    if (h === undefined) {
      h = workloadSpecHash(w.spec);
      this.hashes.set(w.spec, h);
    }
    return h;
  }

  constructor(
    private readonly ds: Datastore,
    private readonly nodeName: string,
    private readonly log: DataplaneLogger,
    private readonly now: () => Date = () => new Date(),
  ) {}

  noteSet(wep: WorkloadEndpointResource): void {
    const k = keyStr(wep.metadata.namespace ?? 'default', wep.metadata.name);
    if (wep.spec.node === this.nodeName) this.local.set(k, wep);
    else this.local.delete(k);
  }

  noteDeleted(key: ResourceKey): void {
    this.local.delete(keyStr(key.namespace ?? 'default', key.name));
  }

  /** Endpoints that need a status write given the interfaces that are programmed. */
  needsWrite(programmedIfaces: ReadonlySet<string>): WorkloadEndpointResource[] {
    const out: WorkloadEndpointResource[] = [];
    for (const w of this.local.values()) {
      if (!programmedIfaces.has(w.spec.interfaceName)) continue;
      const st = w.status;
      if (st?.programmed === true && st.specHash === this.hashOf(w) && st.programmedBy === this.nodeName) continue;
      out.push(w);
    }
    return out;
  }

  /** Writes statuses for newly programmed endpoints (serialised; a call during a run is merged). */
  update(programmedIfaces: ReadonlySet<string>): Promise<void> {
    if (this.running) {
      this.pending = new Set(programmedIfaces);
      return this.running;
    }
    this.running = (async () => {
      let ifaces: ReadonlySet<string> | undefined = programmedIfaces;
      while (ifaces) {
        this.pending = undefined;
        for (const w of this.needsWrite(ifaces)) await this.writeOne(w);
        ifaces = this.pending;
      }
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async writeOne(w: WorkloadEndpointResource): Promise<void> {
    let cur: WorkloadEndpointResource | undefined = w;
    for (let attempt = 0; attempt < 10 && cur; attempt++) {
      const specHash = workloadSpecHash(cur.spec);
      if (cur.spec.node !== this.nodeName) return;
      const next: WorkloadEndpointResource = {
        ...cur,
        status: { ...(cur.status ?? {}), programmed: true, programmedAt: this.now().toISOString(), programmedBy: this.nodeName, specHash },
      };
      try {
        const stored = await this.ds.update(next);
        this.writes++;
        this.noteSet(stored);
        this.log.info({ endpoint: keyStr(cur.metadata.namespace ?? 'default', cur.metadata.name), specHash }, 'endpoint programmed');
        return;
      } catch (e) {
        if (e instanceof ConflictError) {
          cur = await this.ds.get<WorkloadEndpointResource>({ kind: 'WorkloadEndpoint', name: w.metadata.name, namespace: w.metadata.namespace ?? 'default' });
          // The spec changed under us: the syncer will tell the calc graph; write only once that is programmed.
          if (cur && workloadSpecHash(cur.spec) !== specHash) return;
          continue;
        }
        if (e instanceof NotFoundError) return;
        this.log.warn({ endpoint: w.metadata.name, err: errorMessage(e) }, 'writing endpoint status failed');
        return;
      }
    }
  }
}
