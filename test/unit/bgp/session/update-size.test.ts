// Issue 17: a peer that advertises Extended Message (FRR 8.4 always does) while we do not must
// never get a message longer than 4096 octets; with the capability on both sides up to 65535 are
// used. And the send path itself refuses a message over the session's limit: nothing of the batch
// is written, the error is typed, and the session is reset (not left with a half-sent table).
import { createServer, connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BgpSendLimitError,
  DEFAULT_CONTEXT,
  MessageType,
  checkOutgoing,
  makeContext,
  type Capability,
} from '../../../../bgp/packet/index.js';
import { BgpSpeaker } from '../../../../bgp/server/speaker.js';
import type { NeighborConfig, SpeakerEvent } from '../../../../bgp/server/types.js';
import { Connection } from '../../../../bgp/session/connection.js';
import { RawPeer } from './raw-peer.js';

const SPK = '127.0.47.1';
const RAW = '127.0.47.2';
const ACCEPT = { default: 'accept', rules: [] } as const;
const FRR_LIKE: Capability[] = [
  { kind: 'multiprotocol', afi: 1, safi: 1 },
  { kind: 'multiprotocol', afi: 2, safi: 1 },
  { kind: 'four-octet-as', as: 65001 },
  { kind: 'extended-message' },
];

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A bare message of `length` octets (header with the given type, zero body). */
function message(length: number, type: number = MessageType.UPDATE): Buffer {
  const b = Buffer.alloc(length);
  b.fill(0xff, 0, 16);
  b.writeUInt16BE(length, 16);
  b[18] = type;
  return b;
}

async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, SPK, () => r()));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((r) => server.once('connection', r));
  const client = connect({ host: SPK, port });
  await new Promise<void>((r) => client.once('connect', () => r()));
  const s = await accepted;
  server.close();
  cleanups.push(() => {
    client.destroy();
    s.destroy();
  });
  return [client, s];
}

describe('the send path check (checkOutgoing / Connection.write)', () => {
  it('allows 4096 octets without Extended Message, 65535 with it; OPEN and KEEPALIVE never more than 4096', () => {
    const ext = makeContext({ extendedMessage: { send: true, receive: true } });
    expect(() => checkOutgoing([message(4096)], DEFAULT_CONTEXT)).not.toThrow();
    expect(() => checkOutgoing([message(4097)], DEFAULT_CONTEXT)).toThrow(BgpSendLimitError);
    expect(() => checkOutgoing([message(4097)], ext)).not.toThrow();
    expect(() => checkOutgoing([message(65535, MessageType.NOTIFICATION)], ext)).not.toThrow();
    expect(() => checkOutgoing([message(4097, MessageType.OPEN)], ext)).toThrow(/OPEN message of 4097 octets/);
    // Several messages in one buffer are each checked; a cut message is refused too.
    expect(() => checkOutgoing([Buffer.concat([message(100), message(5047)])], DEFAULT_CONTEXT)).toThrow(/UPDATE message of 5047 octets: this session allows at most 4096/);
    expect(() => checkOutgoing([message(100).subarray(0, 50)], DEFAULT_CONTEXT)).toThrow(BgpSendLimitError);
  });

  it('a batch with one message too long is not written at all; the next good one is', async () => {
    const [a, b] = await socketPair();
    const got: Buffer[] = [];
    b.on('data', (d: Buffer) => got.push(d));
    const c = new Connection(a, true, { onReadable: () => undefined, onClosed: () => undefined });
    let err: unknown;
    try {
      c.write([message(4096), message(5047)]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BgpSendLimitError);
    expect(err).toMatchObject({ code: 'BgpSendLimit', length: 5047, max: 4096 });
    c.write(message(4096));
    const deadline = Date.now() + 5000;
    while (Buffer.concat(got).length < 4096 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    // Exactly the second write: none of the refused batch.
    expect(Buffer.concat(got).length).toBe(4096);
  });
});

describe('UPDATE size against a peer that advertises Extended Message', () => {
  async function setup(neighbor: Partial<NeighborConfig>): Promise<{ s: BgpSpeaker; p: RawPeer; events: SpeakerEvent[]; errors: string[] }> {
    const events: SpeakerEvent[] = [];
    const errors: string[] = [];
    const quiet = (): void => undefined;
    const logger = { debug: quiet, info: quiet, warn: quiet, error: (_o: object, msg?: string) => void errors.push(msg ?? '') };
    const s = new BgpSpeaker({
      routerId: '10.0.0.1',
      asn: 65000,
      listen: { address: SPK, port: 0 },
      holdTime: 9,
      neighbors: [{ address: RAW, asn: 65001, passive: true, importPolicy: ACCEPT, exportPolicy: ACCEPT, ...neighbor }],
    }, { logger });
    s.subscribe((e) => events.push(e));
    await s.start();
    cleanups.push(() => s.stop());
    // 3,000 /32s with 200 communities each: far more than one 4096-octet UPDATE holds.
    const communities = Array.from({ length: 200 }, (_, i) => `65000:${i}`);
    for (let i = 0; i < 3000; i++) s.addPath({ prefix: `10.${(i >> 8) & 255}.${i & 255}.1/32`, communities });
    await s.idle();
    const p = await RawPeer.connect(SPK, s.port!, RAW, { asn: 65001, routerId: '10.0.0.2', holdTime: 9, capabilities: FRR_LIKE });
    cleanups.push(() => p.close());
    p.counting = true;
    await p.handshake();
    await p.waitUntil(() => p.announced >= 3000, 'the whole table', 20_000);
    return { s, p, events, errors };
  }

  it('sends at most 4096 octets per message when only the peer advertised it (the FRR 8.4 case)', async () => {
    const { s, p } = await setup({});
    expect(p.announced).toBe(3000);
    expect(p.maxLength).toBeLessThanOrEqual(4096);
    expect(p.maxLength).toBeGreaterThan(3500);
    expect(p.errors).toEqual([]);
    const st = s.listPeers()[0]!;
    expect(st.state).toBe('Established');
    expect(st.capabilities?.extendedMessage).toBe(false);
  });

  it('uses messages longer than 4096 octets when both sides advertised it', async () => {
    const { s, p } = await setup({ extendedMessage: true });
    expect(p.announced).toBe(3000);
    expect(p.maxLength).toBeGreaterThan(4096);
    expect(p.maxLength).toBeLessThanOrEqual(65535);
    expect(s.listPeers()[0]!.capabilities?.extendedMessage).toBe(true);
  });

  it('a message over the limit reaching the send path is not sent: logged, CEASE / Out of Resources, session reset', async () => {
    const { s, p, events, errors } = await setup({});
    // Nothing in the speaker builds such a message any more: hand one to the peer's send path.
    const entry = (s as unknown as { peers: Map<string, { peer: { sendUpdates(b: Buffer[]): void } }> }).peers.get(RAW)!;
    entry.peer.sendUpdates([message(5047)]);
    const n = await p.waitFor((r) => r.message.type === 'notification', 'NOTIFICATION');
    expect(n.message).toMatchObject({ code: 6, subcode: 8 });
    expect(p.maxLength).toBeLessThanOrEqual(4096);
    expect(errors.some((m) => /refusing to send a BGP UPDATE message of 5047 octets: this session allows at most 4096/.test(m))).toBe(true);
    expect(events).toContainEqual(expect.objectContaining({ type: 'notification', direction: 'sent', code: 6, subcode: 8 }));
    expect(s.listPeers()[0]!.lastError).toMatch(/5047 octets/);
  });
});
