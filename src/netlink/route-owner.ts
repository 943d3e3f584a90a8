// The core both kernel route writers share (felix's route reconciler, protocol 84, and the BGP
// kernel sync, protocol 85): the routes one owner keeps in one table, marked with its protocol.
//
//   key      the canonical prefix text (src/api/cidr.ts formatCidr: RFC 5952, host bits clear),
//            the one form used for desired routes, for routes read back from the kernel and in
//            every result; the route codec reports dst in this same form
//   desired  key → what the owner wants (its own shape W)
//   actual   key → what the kernel holds of ours (its own shape A), as last listed / seen
//   backoff  the one retry policy (KeyBackoff): a failed key waits, doubling, up to a cap
//
// write() sends a list of route operations in batches and answers one typed result per write:
// written, absent (a delete found nothing: already gone), exists (an add met a route that holds
// the key), failed, or skipped (the caller stopped the pass). Successes clear the key's backoff,
// failures (exists included) extend it. What a result means for desired/actual is the owner's
// business: the core never decides what to write.
import { formatCidr, formatIp, parseCidr, parseIp } from '../api/cidr.js';
import { KeyBackoff, type BackoffOptions } from './backoff.js';
import { RT_TABLE_MAIN } from './constants.js';
import type { NetlinkError } from './errors.js';
import type { BatchResult, NetlinkHandle, Route } from './types.js';

const ESRCH = 3;
const EEXIST = 17;

/** The canonical key of a prefix ("addr/len", host bits clear), or why the text is not one. */
export function routeKey(prefix: string): { key: string; family: 4 | 6 } | { error: string } {
  if (typeof prefix !== 'string' || !prefix.includes('/')) return { error: `"${String(prefix)}" is not a prefix (expected addr/len)` };
  try {
    const c = parseCidr(prefix);
    return { key: formatCidr(c), family: c.family };
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) };
  }
}

/** The canonical text of an address (a gateway), the same form the route codec reports; undefined when malformed. */
export function routeAddr(addr: string): string | undefined {
  if (typeof addr !== 'string') return undefined;
  try {
    return formatIp(parseIp(addr));
  } catch {
    return undefined;
  }
}

/** The canonical key of a prefix, or the text itself when it is not a valid prefix. */
export function routeKeyOr(prefix: string): string {
  const k = routeKey(prefix);
  return 'key' in k ? k.key : prefix;
}

export type RouteWriteOp = 'routeAdd' | 'routeReplace' | 'routeDel';

export interface RouteWrite {
  key: string;
  op: RouteWriteOp;
  route: Route;
}

export type RouteWriteResult =
  /** The kernel accepted it. */
  | { key: string; op: RouteWriteOp; outcome: 'written' }
  /** A delete matched nothing of ours (ESRCH): the route is already gone. */
  | { key: string; op: 'routeDel'; outcome: 'absent' }
  /** An add met a route holding the key (EEXIST): ours or, when we hold none there, a foreign one. */
  | { key: string; op: 'routeAdd'; outcome: 'exists'; error: NetlinkError; attempts: number }
  | { key: string; op: RouteWriteOp; outcome: 'failed'; error: NetlinkError; attempts: number }
  /** Not sent: the caller's `proceed` said stop between batches. */
  | { key: string; op: RouteWriteOp; outcome: 'skipped' };

export interface RouteOwnerOptions extends BackoffOptions {
  protocol: number;
  /** Default main (254). */
  table?: number;
  /** Operations per netlink batch call. Default 8192. */
  batchSize?: number;
  /** Carry over another core's retry state (an owner that changed its protocol). */
  backoff?: KeyBackoff;
}

export interface RouteWritePass {
  /** Asked before each batch after the first; false stops the pass (the rest come back skipped). */
  proceed?: () => boolean;
  /**
   * Called with each batch's results (and once with the skipped rest) before the next batch is
   * sent, so the owner's state is current while later batches are in flight.
   */
  onBatch?: (results: readonly RouteWriteResult[], offset: number) => void;
}

export class RouteOwner<W, A> {
  readonly protocol: number;
  readonly table: number;
  readonly batchSize: number;
  readonly backoff: KeyBackoff;
  desired = new Map<string, W>();
  actual = new Map<string, A>();
  /** False until our routes were listed (and again after forgetActual()). */
  listed = false;

  constructor(opts: RouteOwnerOptions) {
    this.protocol = opts.protocol;
    this.table = opts.table ?? RT_TABLE_MAIN;
    this.batchSize = opts.batchSize ?? 8192;
    this.backoff = opts.backoff ?? new KeyBackoff(opts);
  }

  /** The route lies in our table (a route without a table is in main, as the kernel reports). */
  inTable(r: Route): boolean {
    return (r.table ?? RT_TABLE_MAIN) === this.table;
  }

  /** The route is one of ours: our protocol, in our table. */
  owns(r: Route): boolean {
    return r.protocol === this.protocol && this.inTable(r);
  }

  /** Lists our routes (the kernel filters by protocol and table), keyed canonically; does not touch `actual`. */
  async list(nl: NetlinkHandle, read: (r: Route) => A): Promise<Map<string, A>> {
    const m = new Map<string, A>();
    for (const r of await nl.routeList({ protocol: this.protocol, table: this.table })) {
      if (r.protocol === this.protocol) m.set(r.dst, read(r));
    }
    return m;
  }

  /** Lists our routes into `actual`. */
  async readBack(nl: NetlinkHandle, read: (r: Route) => A): Promise<void> {
    this.actual = await this.list(nl, read);
    this.listed = true;
  }

  /** Forgets what we believed about the kernel; the next pass lists again. */
  forgetActual(): void {
    this.actual = new Map();
    this.listed = false;
  }

  /** Sends `writes` in batches of batchSize, in order; one result per write. Updates the backoff per key. */
  async write(nl: NetlinkHandle, writes: readonly RouteWrite[], opts: RouteWritePass = {}): Promise<RouteWriteResult[]> {
    const out: RouteWriteResult[] = [];
    for (let i = 0; i < writes.length; i += this.batchSize) {
      if (i > 0 && opts.proceed && !opts.proceed()) {
        const skipped: RouteWriteResult[] = [];
        for (let j = i; j < writes.length; j++) skipped.push({ key: writes[j]!.key, op: writes[j]!.op, outcome: 'skipped' });
        opts.onBatch?.(skipped, i);
        out.push(...skipped);
        break;
      }
      const chunk = writes.slice(i, i + this.batchSize);
      const res = await nl.batch(chunk.map((w) => ({ op: w.op, route: w.route })));
      const results = chunk.map((w, j) => this.classify(w, res[j]!));
      opts.onBatch?.(results, i);
      out.push(...results);
    }
    return out;
  }

  private classify(w: RouteWrite, r: BatchResult): RouteWriteResult {
    const { key, op } = w;
    if (r.ok) {
      this.backoff.succeeded(key);
      return { key, op, outcome: 'written' };
    }
    if (op === 'routeDel' && r.error.errno === ESRCH) {
      this.backoff.succeeded(key);
      return { key, op, outcome: 'absent' };
    }
    const attempts = this.backoff.failed(key, r.error.message).attempts;
    if (op === 'routeAdd' && r.error.errno === EEXIST) return { key, op, outcome: 'exists', error: r.error, attempts };
    return { key, op, outcome: 'failed', error: r.error, attempts };
  }
}
