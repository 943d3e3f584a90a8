// A speaker against a scripted raw-socket peer: OPEN errors, hold timer, treat-as-withdraw on a
// live session, NOTIFICATIONs from the peer, connection collisions.
import { afterEach, describe, expect, it } from 'vitest';
import {
  AttrType,
  encodeMessage,
  makeContext,
  parseIpv4,
  parseIpv6,
  parsePrefix,
  shutdownNotification,
  type Ipv4Prefix,
  type PathAttributes,
  type Prefix,
} from '../../../../bgp/packet/index.js';
import { BgpSpeaker } from '../../../../bgp/server/speaker.js';
import type { NeighborConfig, SpeakerConfig, SpeakerEvent } from '../../../../bgp/server/types.js';
import { RawPeer, type RawPeerOptions } from './raw-peer.js';

const SPK = '127.0.20.1';
const RAW = '127.0.20.2';
const ACCEPT = { default: 'accept', rules: [] } as const;
const FAST = { connectRetry: 0.2, backoff: { idleHold: 0.05, idleHoldMax: 0.2, connectRetryMax: 0.5, stableTime: 60 } } as const;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  speaker: BgpSpeaker;
  events: SpeakerEvent[];
}

async function speaker(neighbor: Partial<NeighborConfig> = {}, extra: Partial<SpeakerConfig> = {}): Promise<Setup> {
  const events: SpeakerEvent[] = [];
  const s = new BgpSpeaker({
    routerId: '10.0.0.1',
    asn: 65000,
    listen: { address: SPK, port: 0 },
    holdTime: 9,
    ...FAST,
    neighbors: [{ address: RAW, asn: 65001, passive: true, importPolicy: ACCEPT, exportPolicy: ACCEPT, ...neighbor }],
    ...extra,
  });
  s.subscribe((e) => events.push(e));
  await s.start();
  cleanups.push(() => s.stop());
  return { speaker: s, events };
}

async function raw(s: BgpSpeaker, opts: Partial<RawPeerOptions> = {}): Promise<RawPeer> {
  const p = await RawPeer.connect(SPK, s.port!, RAW, { asn: 65001, routerId: '10.0.0.2', holdTime: 9, ...opts });
  cleanups.push(() => p.close());
  return p;
}

const ctx = makeContext({ fourOctetAs: true });
const attrs: PathAttributes = { origin: 0, asPath: [{ type: 2, asns: [65001] }], nextHop: { afi: 1, addr: parseIpv4(RAW) } };

function update(nlri: Prefix[], a: PathAttributes = attrs, v6?: Prefix[]): Buffer {
  return encodeMessage(
    {
      type: 'update',
      withdrawn: [],
      attrs: a,
      nlri: nlri as Ipv4Prefix[],
      ...(v6 ? { mpReach: { afi: 2, safi: 1, nextHop: { afi: 2, addr: parseIpv6('2001:db8::2') }, nlri: v6 } } : {}),
    },
    ctx,
  );
}

/** Overwrites the ORIGIN value (RFC 4271: 0..2) in an encoded UPDATE. */
function withOrigin(buf: Buffer, value: number): Buffer {
  const b = Buffer.from(buf);
  for (let i = 23; i + 3 < b.length; i++) {
    if (b[i] === 0x40 && b[i + 1] === AttrType.ORIGIN && b[i + 2] === 1) {
      b[i + 3] = value;
      return b;
    }
  }
  throw new Error('no ORIGIN attribute found');
}

function adjIn(s: BgpSpeaker): string[] {
  return s.listRoutes({ table: 'in', peer: RAW, limit: 0 }).map((r) => r.prefix).sort();
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const peerState = (s: BgpSpeaker): string => s.listPeers()[0]!.state;

describe('OPEN errors', () => {
  it('a passive neighbour waits in Active without connecting', async () => {
    const { speaker: s } = await speaker();
    await new Promise((r) => setTimeout(r, 300));
    expect(peerState(s)).toBe('Active');
    expect(s.listPeers()[0]!.messages.sent.open).toBe(0);
  });

  it('answers the wrong AS with Bad Peer AS (2/2) and names it', async () => {
    const { speaker: s, events } = await speaker();
    const p = await raw(s, { asn: 65099 });
    p.send(p.ourOpen);
    const n = await p.waitFor((r) => r.message.type === 'notification', 'NOTIFICATION');
    expect(n.message).toMatchObject({ code: 2, subcode: 2 });
    await p.waitUntil(() => p.closed, 'close');
    expect(s.listPeers()[0]!.lastError).toContain('AS 65099');
    expect(events).toContainEqual(expect.objectContaining({ type: 'notification', direction: 'sent', code: 2, subcode: 2 }));
  });

  it('answers our own BGP identifier with Bad BGP Identifier (2/3)', async () => {
    const { speaker: s } = await speaker();
    const p = await raw(s, { routerId: '10.0.0.1' });
    p.send(p.ourOpen);
    const n = await p.waitFor((r) => r.message.type === 'notification', 'NOTIFICATION');
    expect(n.message).toMatchObject({ code: 2, subcode: 3 });
  });

  it('answers hold time 1 with Unacceptable Hold Time (2/6)', async () => {
    const { speaker: s } = await speaker();
    const p = await raw(s);
    const open = encodeMessage({ ...p.ourOpen, holdTime: 90 }, ctx);
    open.writeUInt16BE(1, 19 + 3);
    p.send(open);
    const n = await p.waitFor((r) => r.message.type === 'notification', 'NOTIFICATION');
    expect(n.message).toMatchObject({ code: 2, subcode: 6 });
  });

  it('answers a broken message header with Message Header Error (1/1)', async () => {
    const { speaker: s } = await speaker();
    const p = await raw(s);
    const open = encodeMessage(p.ourOpen, ctx);
    open[3] = 0;
    p.send(open);
    const n = await p.waitFor((r) => r.message.type === 'notification', 'NOTIFICATION');
    expect(n.message).toMatchObject({ code: 1, subcode: 1 });
  });
});

describe('timers', () => {
  it('with hold time 3 it sends keepalives every second, and sends Hold Timer Expired (4/0) when the peer goes silent', async () => {
    const { speaker: s, events } = await speaker();
    const p = await raw(s, { holdTime: 3, keepaliveEvery: 0 });
    await p.handshake();
    await until(() => peerState(s) === 'Established', 'Established');
    expect(s.listPeers()[0]).toMatchObject({ holdTime: 3, keepalive: 1 });
    const n = await p.waitFor((r) => r.message.type === 'notification', 'Hold Timer Expired', 6000);
    expect(n.message).toMatchObject({ code: 4, subcode: 0 });
    const keepalives = p.received.filter((r) => r.message.type === 'keepalive').length;
    expect(keepalives).toBeGreaterThanOrEqual(3);
    expect(events).toContainEqual(expect.objectContaining({ type: 'peer-state', from: 'Established', to: 'Idle' }));
    expect(s.listPeers()[0]!.lastError).toContain('Hold Timer Expired');
  });
});

describe('send hold timer (RFC 9687)', () => {
  it('closes the session when the peer stops reading what we send', async () => {
    const { speaker: s, events } = await speaker({}, { sendHoldTime: 1 });
    const p = await raw(s, { keepaliveEvery: 1 });
    await p.handshake();
    await until(() => peerState(s) === 'Established', 'Established');
    p.socket.pause();
    // ~22 MB of UPDATEs (more than the socket buffers hold): one prefix each, made big by distinct community lists.
    const communities = Array.from({ length: 900 }, (_, k) => `65000:${k}`);
    for (let i = 0; i < 6000; i++) {
      s.addPath({ prefix: `10.${(i >> 8) & 255}.${i & 255}.0/24`, communities: [`65001:${i % 65536}`, ...communities] });
    }
    await until(() => peerState(s) !== 'Established', 'the session closed', 20_000);
    const down = events.find((e) => e.type === 'peer-state' && e.from === 'Established');
    expect(down && 'reason' in down && down.reason).toContain('RFC 9687');
    expect(events).toContainEqual(expect.objectContaining({ type: 'notification', direction: 'sent', code: 8, subcode: 0 }));
  });
});

describe('UPDATE error handling on a live session', () => {
  it('treat-as-withdraw really withdraws the prefixes and keeps the session', async () => {
    const { speaker: s, events } = await speaker();
    const p = await raw(s);
    await p.handshake();
    const a = parsePrefix('10.0.0.0/24');
    const b = parsePrefix('10.0.1.0/24');
    const v6 = parsePrefix('2001:db8:1::/48');
    p.send(update([a, b], attrs, [v6]));
    await until(() => adjIn(s).length === 3, 'three prefixes in');
    // Same prefixes, ORIGIN 7: RFC 7606 §7.1 treat-as-withdraw for a and for the IPv6 prefix.
    p.send(withOrigin(update([a], attrs, [v6]), 7));
    await until(() => adjIn(s).length === 1, 'the malformed prefixes withdrawn');
    expect(adjIn(s)).toEqual(['10.0.1.0/24']);
    expect(s.listRoutes({ table: 'loc', prefix: '10.0.0.0/24' })).toEqual([]);
    expect(events).toContainEqual(expect.objectContaining({ type: 'update-error', handling: 'treat-as-withdraw', withdrawn: 2 }));
    // The session is still up and still works.
    p.send(update([parsePrefix('10.0.2.0/24')]));
    await until(() => adjIn(s).length === 2, 'a later UPDATE');
    expect(peerState(s)).toBe('Established');
    expect(p.notifications()).toEqual([]);
    expect(s.listPeers()[0]!.establishedCount).toBe(1);
  });

  it('a malformed attribute list resets the session with UPDATE Message Error (3/1) and withdraws everything', async () => {
    const { speaker: s } = await speaker();
    const p = await raw(s);
    await p.handshake();
    p.send(update([parsePrefix('10.0.0.0/24')]));
    await until(() => adjIn(s).length === 1, 'prefix in');
    const bad = Buffer.from(update([parsePrefix('10.0.3.0/24')]));
    bad.writeUInt16BE(bad.readUInt16BE(21) + 40, 21); // total path attribute length past the end
    p.send(bad);
    const n = await p.waitFor((r) => r.message.type === 'notification', 'NOTIFICATION');
    expect(n.message).toMatchObject({ code: 3, subcode: 1 });
    await until(() => s.listRoutes({ table: 'loc' }).length === 0, 'routes flushed');
    expect(peerState(s)).not.toBe('Established');
  });
});

describe('a flapping peer (Idle hold, DampPeerOscillations)', () => {
  it('refuses its connections while in the Idle hold, so a peer resetting itself with malformed UPDATEs gets few sessions', async () => {
    // Idle hold 0.2 s doubling to 0.8 s (jittered 0.75–1): about 6 sessions in 3 s at most.
    const { speaker: s } = await speaker({}, { backoff: { idleHold: 0.2, idleHoldMax: 0.8, connectRetryMax: 0.5, stableTime: 60 } });
    const bad = Buffer.from(update([parsePrefix('10.0.3.0/24')]));
    bad.writeUInt16BE(bad.readUInt16BE(21) + 40, 21); // total path attribute length past the end
    let refused = 0;
    const end = Date.now() + 3000;
    while (Date.now() < end) {
      const p = await raw(s, { keepaliveEvery: 0 });
      try {
        await p.handshake();
        p.send(bad);
      } catch {
        // closed before the session came up: refused during the Idle hold
      }
      await p.waitUntil(() => p.closed, 'the speaker closing the connection');
      if (p.notifications().some((n) => n.code === 6 && n.subcode === 5)) refused++;
      p.close();
    }
    const sessions = s.listPeers()[0]!.establishedCount;
    expect(refused).toBeGreaterThan(0);
    expect(sessions).toBeGreaterThanOrEqual(2);
    expect(sessions).toBeLessThanOrEqual(8);
  });

  it('a peer refused with Connection Rejected (6/5) waits in Active and accepts the other side\'s connection', async () => {
    const l = await RawPeer.listen(RAW, { asn: 65001, routerId: '10.0.0.2', holdTime: 9, keepaliveEvery: 0 });
    cleanups.push(() => l.server.close());
    const { speaker: s } = await speaker({ passive: false, port: l.port, localAddress: SPK }, { connectRetry: 60 });
    const ours = await l.peer;
    await ours.waitFor((r) => r.message.type === 'open', 'OPEN on the speaker\'s connection');
    ours.send({ type: 'notification', code: 6, subcode: 5, data: Buffer.alloc(0) });
    await until(() => peerState(s) === 'Active', 'Active after the refusal');
    const p = await raw(s);
    await p.handshake();
    await until(() => peerState(s) === 'Established', 'Established on the peer\'s connection');
  });
});

describe('NOTIFICATION from the peer', () => {
  it('is surfaced with its meaning and the shutdown communication', async () => {
    const { speaker: s, events } = await speaker();
    const p = await raw(s);
    await p.handshake();
    p.send(shutdownNotification('maintenance window until 14:00'));
    await until(() => peerState(s) !== 'Established', 'session down');
    const n = events.find((e) => e.type === 'notification' && e.direction === 'received');
    expect(n).toMatchObject({ code: 6, subcode: 2, message: 'Cease / Administrative Shutdown: "maintenance window until 14:00"' });
    expect(s.listPeers()[0]!.lastError).toBe('the peer sent NOTIFICATION Cease / Administrative Shutdown: "maintenance window until 14:00"');
  });
});

describe('connection collision (RFC 4271 §6.8)', () => {
  async function collide(rawId: string, openFirstOn: 'speaker-initiated' | 'raw-initiated') {
    const l = await RawPeer.listen(RAW, { asn: 65001, routerId: rawId, holdTime: 9, keepaliveEvery: 0 });
    cleanups.push(() => l.server.close());
    const { speaker: s } = await speaker({ passive: false, port: l.port, localAddress: SPK });
    const ours = await l.peer; // the connection the speaker initiated
    cleanups.push(() => ours.close());
    await ours.waitFor((r) => r.message.type === 'open', 'OPEN on the speaker\'s connection');
    const theirs = await raw(s, { routerId: rawId, keepaliveEvery: 0 });
    await theirs.waitFor((r) => r.message.type === 'open', 'OPEN on the raw peer\'s connection');
    const [first, second] = openFirstOn === 'speaker-initiated' ? [ours, theirs] : [theirs, ours];
    first.send(first.ourOpen);
    await new Promise((r) => setTimeout(r, 50));
    second.send(second.ourOpen);
    return { s, ours, theirs };
  }

  async function completes(winner: RawPeer, s: BgpSpeaker): Promise<void> {
    await winner.waitFor((r) => r.message.type === 'keepalive', 'KEEPALIVE on the surviving connection');
    winner.send({ type: 'keepalive' });
    await until(() => peerState(s) === 'Established', 'Established');
    expect(winner.notifications()).toEqual([]);
  }

  it('keeps the peer\'s connection when the peer has the higher BGP identifier', async () => {
    const { s, ours, theirs } = await collide('10.0.0.9', 'speaker-initiated');
    const n = await ours.waitFor((r) => r.message.type === 'notification', 'NOTIFICATION on the losing connection');
    expect(n.message).toMatchObject({ code: 6, subcode: 7 });
    await completes(theirs, s);
    expect(s.listPeers()[0]!.localPort).toBe(s.port);
  });

  it('keeps its own connection when it has the higher BGP identifier', async () => {
    const { s, ours, theirs } = await collide('9.0.0.9', 'raw-initiated');
    const n = await theirs.waitFor((r) => r.message.type === 'notification', 'NOTIFICATION on the losing connection');
    expect(n.message).toMatchObject({ code: 6, subcode: 7 });
    await completes(ours, s);
    expect(s.listPeers()[0]!.remotePort).not.toBe(s.port);
    expect(s.listPeers()[0]!.localPort).not.toBe(s.port);
  });

  it('refuses a second connection while Established with Connection Rejected (6/5)', async () => {
    const { speaker: s } = await speaker();
    const p = await raw(s);
    await p.handshake();
    await until(() => peerState(s) === 'Established', 'Established');
    const q = await raw(s);
    const n = await q.waitFor((r) => r.message.type === 'notification', 'NOTIFICATION');
    expect(n.message).toMatchObject({ code: 6, subcode: 5 });
    expect(peerState(s)).toBe('Established');
    expect(p.notifications()).toEqual([]);
  });
});
