// Denied-packet logging, the reading side (FelixConfiguration logDeniedPackets): binds the NFLOG
// group felix/rules logs drops to, and for each packet writes one structured log line, counts it
// in twill_policy_denied_packets_total{policy,direction}, keeps it in a bounded ring for
// `twillctl node denied`, and hands it to every follower. The prefix of each packet is a short id
// (felix/rules deny-log.ts) that the renderer maps back to the policy, rule, direction and, for a
// tier's or the profiles' drop, the endpoint; a rule's drop is shared by every endpoint its policy
// applies to, so the endpoint comes from the packet's interface.
import type { Logger } from 'pino';
import type { DeniedLogSettings, DenyLogEntry } from '../../felix/rules/index.js';
import type { EndpointState } from '../../felix/calc/types.js';
import { errorMessage } from '../errors.js';
import { parsePacketHeaders, type NflogPacket, type NflogReader } from '../netlink/index.js';
import type { NodeDeniedPacket, NodeDeniedQuery } from '../nodeapi/types.js';

export interface DeniedPacketLogOptions {
  log: Logger;
  /** What an NFLOG prefix stands for (RuleRenderer.denyLogEntry). */
  lookup: (id: string) => DenyLogEntry | undefined;
  /** The local endpoint on a host-side interface (RuleRenderer.endpointOn). */
  endpointOn: (iface: string) => EndpointState | undefined;
  /** Interface name of an ifindex in the agent's namespace. */
  interfaceName: (ifindex: number) => string | undefined;
  /** Opens the NFLOG reader (src/netlink openNflog). */
  open: (group: number, onPacket: (p: NflogPacket) => void) => Promise<NflogReader>;
  /** Counts one denied packet (AgentMetrics.countDenied). */
  count?: (policy: string, direction: string) => void;
  /** Packets kept for `twillctl node denied` without --follow (default 1000). */
  capacity?: number;
  now?: () => Date;
}

export class DeniedPacketLog {
  private readonly ring: NodeDeniedPacket[] = [];
  /** Each follower, with what ends its stream. */
  private readonly followers = new Map<(p: NodeDeniedPacket) => void, () => void>();
  private reader: NflogReader | undefined;
  private group: number | undefined;
  /** configure() calls run one after the other. */
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  /** The reader's `lost` count already reported. */
  private lostReported = 0;

  constructor(private readonly o: DeniedPacketLogOptions) {}

  /** Follows the config: binds the group when logging is on, moves when it changes, unbinds when off. */
  configure(s: DeniedLogSettings | undefined): Promise<void> {
    const want = s?.group;
    this.chain = this.chain.then(async () => {
      if (this.closed || want === this.group) return;
      this.reader?.close();
      this.reader = undefined;
      this.group = undefined;
      if (want === undefined) {
        this.o.log.info({}, 'denied-packet logging off');
        return;
      }
      try {
        this.lostReported = 0;
        this.reader = await this.o.open(want, (p) => this.handle(p));
        this.group = want;
        this.o.log.info({ nflogGroup: want }, 'denied-packet logging on: reading the NFLOG group');
      } catch (e) {
        this.o.log.error({ err: errorMessage(e), nflogGroup: want }, 'cannot read denied packets: the drops still happen, but are not logged');
      }
    });
    return this.chain;
  }

  /** One packet from the NFLOG group. */
  handle(p: NflogPacket): void {
    const lost = this.reader?.lost ?? 0;
    if (lost > this.lostReported) {
      this.o.log.warn({ lost: lost - this.lostReported }, 'denied packets went unlogged: the NFLOG socket\'s receive buffer overflowed');
      this.lostReported = lost;
    }
    const entry = this.o.lookup(p.prefix);
    const h = parsePacketHeaders(p.payload);
    const name = (i: number | undefined): string | undefined => (i === undefined ? undefined : this.o.interfaceName(i));
    const inIf = name(p.indev);
    const outIf = name(p.outdev);
    // Ingress is policed on the way to the workload (its interface is the output), egress on the
    // way from it (the input); an id we do not know: whichever interface is an endpoint's.
    const iface =
      entry === undefined
        ? [outIf, inIf].find((i) => i !== undefined && this.o.endpointOn(i) !== undefined)
        : (entry.endpoint?.interfaceName ?? (entry.direction === 'ingress' ? outIf : inIf));
    const ep = iface !== undefined ? this.o.endpointOn(iface) : undefined;
    const row: NodeDeniedPacket = {
      time: (this.o.now ?? (() => new Date()))(),
      id: p.prefix,
      src: h?.src ?? '',
      dst: h?.dst ?? '',
      protocol: h?.protocolName ?? '',
      ...(h?.srcPort !== undefined ? { srcPort: h.srcPort } : {}),
      ...(h?.dstPort !== undefined ? { dstPort: h.dstPort } : {}),
      ...(entry ? { direction: entry.direction } : {}),
      policy: entry?.policy ?? 'unknown',
      ...(entry?.rule !== undefined ? { rule: entry.rule } : {}),
      ...(ep ? { endpoint: `${ep.namespace}/${ep.name}` } : entry?.endpoint ? { endpoint: `${entry.endpoint.namespace}/${entry.endpoint.name}` } : {}),
      ...(iface !== undefined ? { interfaceName: iface } : {}),
    };
    this.o.log.info({ denied: deniedLogFields(row) }, 'policy denied a packet');
    this.o.count?.(row.policy, row.direction ?? 'unknown');
    this.ring.push(row);
    const cap = this.o.capacity ?? 1000;
    if (this.ring.length > cap) this.ring.splice(0, this.ring.length - cap);
    for (const f of this.followers.keys()) f(row);
  }

  /** The most recent `limit` packets (0: all kept), oldest first. */
  recent(limit = 0): NodeDeniedPacket[] {
    return limit > 0 ? this.ring.slice(-limit) : this.ring.slice();
  }

  /** The local API's WatchDenied: the recent ones, then (follow) each new one until signal aborts. */
  async denied(q: NodeDeniedQuery, onPacket: (p: NodeDeniedPacket) => void, signal: AbortSignal): Promise<void> {
    for (const p of this.recent(q.limit ?? 100)) onPacket(p);
    if (!q.follow || signal.aborted) return;
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      const end = (): void => {
        this.followers.delete(onPacket);
        resolve();
      };
      this.followers.set(onPacket, end);
      signal.addEventListener('abort', end, { once: true });
    });
  }

  /** Unbinds the group and ends every follower's stream (so the API server can stop at once). */
  async close(): Promise<void> {
    this.closed = true;
    for (const end of [...this.followers.values()]) end();
    await this.chain;
    this.reader?.close();
    this.reader = undefined;
    this.group = undefined;
  }
}

/** The log line's fields, in reading order. */
export function deniedLogFields(p: NodeDeniedPacket): Record<string, string | number> {
  const out: Record<string, string | number> = { src: p.src, dst: p.dst, protocol: p.protocol };
  if (p.srcPort !== undefined) out.srcPort = p.srcPort;
  if (p.dstPort !== undefined) out.dstPort = p.dstPort;
  if (p.endpoint !== undefined) out.endpoint = p.endpoint;
  if (p.interfaceName !== undefined) out.interface = p.interfaceName;
  out.policy = p.policy;
  if (p.rule !== undefined) out.rule = p.rule;
  out.direction = p.direction ?? 'unknown';
  out.id = p.id;
  return out;
}
