// Helpers for tests that run BgpSpeaker instances in one process, peering over loopback.
import { afterEach } from 'vitest';
import { BgpSpeaker } from '../../../../bgp/server/speaker.js';
import type { NeighborConfig, PeerState, RouteView, SpeakerConfig, SpeakerEvent } from '../../../../bgp/server/types.js';

export const ACCEPT = { default: 'accept', rules: [] } as const;

/** Fast timers for tests (seconds). */
export const FAST = { connectRetry: 0.2, backoff: { idleHold: 0.1, idleHoldMax: 1, connectRetryMax: 1, stableTime: 60 } } as const;

export interface Node {
  speaker: BgpSpeaker;
  address: string;
  events: SpeakerEvent[];
}

/** A speaker listening on `address` (a 127.0.0.x address) on a free port. */
export async function node(address: string, asn: number, extra: Partial<SpeakerConfig> = {}): Promise<Node> {
  const events: SpeakerEvent[] = [];
  const speaker = new BgpSpeaker({
    routerId: address,
    asn,
    listen: { address, port: 0 },
    holdTime: 9,
    ...FAST,
    neighbors: [],
    ...extra,
  });
  speaker.subscribe((e) => {
    if (e.type !== 'best-changed') events.push(e);
  });
  await speaker.start();
  return { speaker, address, events };
}

/** Configures a and b as neighbours of each other (eBGP or iBGP by their AS numbers). */
export function peer(a: Node, aAs: number, b: Node, bAs: number, extraA: Partial<NeighborConfig> = {}, extraB: Partial<NeighborConfig> = {}): void {
  a.speaker.addNeighbor({ address: b.address, asn: bAs, port: b.speaker.port!, localAddress: a.address, importPolicy: { ...ACCEPT, rules: [] }, exportPolicy: { ...ACCEPT, rules: [] }, ...extraA });
  b.speaker.addNeighbor({ address: a.address, asn: aAs, port: a.speaker.port!, localAddress: b.address, importPolicy: { ...ACCEPT, rules: [] }, exportPolicy: { ...ACCEPT, rules: [] }, ...extraB });
}

export async function until<T>(fn: () => T | undefined | false, what: string, limitMs = 10_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function state(n: Node, peerAddr: string): PeerState | undefined {
  return n.speaker.listPeers().find((p) => p.address === peerAddr)?.state;
}

export async function established(a: Node, b: Node): Promise<void> {
  try {
    await until(() => state(a, b.address) === 'Established' && state(b, a.address) === 'Established', `${a.address} <-> ${b.address} Established`);
  } catch (e) {
    const show = (n: Node): string => n.events.map((x) => JSON.stringify(x)).join('\n');
    throw new Error(`${(e as Error).message}\n${a.address}:\n${show(a)}\n${b.address}:\n${show(b)}\n${JSON.stringify([a.speaker.listPeers(), b.speaker.listPeers()])}`);
  }
}

export function route(n: Node, prefix: string): RouteView | undefined {
  return n.speaker.listRoutes({ table: 'loc', prefix })[0];
}

/**
 * For one test file: `make` is node() plus bookkeeping, and every speaker in `running` is
 * stopped after each test.
 */
export function trackedNodes(): { running: Node[]; make: typeof node } {
  const running: Node[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((n) => n.speaker.stop()));
  });
  const make = async (address: string, asn: number, extra: Partial<SpeakerConfig> = {}): Promise<Node> => {
    const n = await node(address, asn, extra);
    running.push(n);
    return n;
  };
  return { running, make };
}
