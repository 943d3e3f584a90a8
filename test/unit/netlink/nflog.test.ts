// NFLOG over netlink without a kernel: the bind request's bytes, a packet message decoded, and the
// IP/TCP/UDP/ICMP header parser on hand-built packets (truncated and odd ones included).
import { describe, expect, it } from 'vitest';
import { decodeNflogPacket, encodeNflogConfig, parsePacketHeaders } from '../../../src/netlink/index.js';
import { Writer, forEachMessage, type RawMessage } from '../../../src/netlink/wire.js';

function ipv4(proto: number, l4: Buffer, o: { src?: number[]; dst?: number[]; frag?: number; ihl?: number } = {}): Buffer {
  const ihl = o.ihl ?? 5;
  const h = Buffer.alloc(ihl * 4);
  h[0] = 0x40 | ihl;
  h.writeUInt16BE(ihl * 4 + l4.length, 2);
  h.writeUInt16BE(o.frag ?? 0, 6);
  h[8] = 64;
  h[9] = proto;
  Buffer.from(o.src ?? [10, 65, 0, 1]).copy(h, 12);
  Buffer.from(o.dst ?? [10, 65, 0, 2]).copy(h, 16);
  return Buffer.concat([h, l4]);
}

function ports(src: number, dst: number, extra = 0): Buffer {
  const b = Buffer.alloc(4 + extra);
  b.writeUInt16BE(src, 0);
  b.writeUInt16BE(dst, 2);
  return b;
}

function tcpSyn(src: number, dst: number): Buffer {
  const b = ports(src, dst, 16);
  b[12] = 5 << 4;
  b[13] = 0x02;
  return b;
}

function ipv6(next: number, rest: Buffer): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(rest.length, 4);
  h[6] = next;
  h[7] = 64;
  h[8] = 0xfd;
  h[23] = 1; // fd00::1
  h[24] = 0xfd;
  h[39] = 2; // fd00::2
  return Buffer.concat([h, rest]);
}

/** An NFLOG packet message as the kernel sends it (attribute values big-endian). */
function packetMessage(group: number, family: number, prefix: string, payload: Buffer, indev?: number, outdev?: number): Buffer {
  const w = new Writer(512);
  const start = w.begin((4 << 8) | 0, 0, 0);
  w.u8(family);
  w.u8(0);
  w.ensure(2);
  w.buf.writeUInt16BE(group, w.len);
  w.len += 2;
  w.attrBytes(1, Uint8Array.of(family === 2 ? 0x08 : 0x86, family === 2 ? 0x00 : 0xdd, 2, 0)); // hw_protocol, hook FORWARD
  const be = (v: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v, 0);
    return b;
  };
  if (indev !== undefined) w.attrBytes(4, be(indev));
  if (outdev !== undefined) w.attrBytes(5, be(outdev));
  w.attrString(10, prefix);
  w.attrBytes(9, payload);
  w.end(start);
  return Buffer.from(w.buf.subarray(0, w.len));
}

function decode(b: Buffer): ReturnType<typeof decodeNflogPacket>[] {
  const out: ReturnType<typeof decodeNflogPacket>[] = [];
  forEachMessage(b, b.length, (m: RawMessage) => out.push(decodeNflogPacket(b, m)));
  return out;
}

describe('nfnetlink_log messages', () => {
  it('the bind request: ULOG config, family unspec, group in network order, bind + copy packet 128 + threshold 1', () => {
    const w = new Writer(256);
    encodeNflogConfig(w, 7, { group: 20 });
    const b = w.buf.subarray(0, w.len);
    expect(b.readUInt32LE(0)).toBe(w.len);
    expect(b.readUInt16LE(4)).toBe((4 << 8) | 1); // NFNL_SUBSYS_ULOG, NFULNL_MSG_CONFIG
    expect(b.readUInt16LE(6)).toBe(0x1 | 0x4); // REQUEST | ACK
    expect(b.readUInt32LE(8)).toBe(7);
    expect([...b.subarray(16, 20)]).toEqual([0, 0, 0, 20]); // nfgenmsg: AF_UNSPEC, v0, res_id 20 (BE)
    // Attributes: CMD (bind), MODE (range BE, mode 2), QTHRESH 1, TIMEOUT 1.
    expect([...b.subarray(20, 25)]).toEqual([5, 0, 1, 0, 1]);
    expect([...b.subarray(28, 38)]).toEqual([10, 0, 2, 0, 0, 0, 0, 128, 2, 0]);
    expect([...b.subarray(40, 48)]).toEqual([8, 0, 5, 0, 0, 0, 0, 1]);
    expect([...b.subarray(48, 56)]).toEqual([8, 0, 4, 0, 0, 0, 0, 1]);
    expect(w.len).toBe(56);
  });

  it('a packet message: group, family, prefix, interfaces and the payload (copied)', () => {
    const payload = ipv4(6, tcpSyn(40001, 9090));
    const msg = packetMessage(20, 2, 'twd:0123456789ab', payload, 7, 9);
    const [p] = decode(msg);
    expect(p).toEqual({ group: 20, family: 2, prefix: 'twd:0123456789ab', hook: 2, indev: 7, outdev: 9, payload });
    msg.fill(0);
    expect(p!.payload).toEqual(payload);
    // Without interfaces (locally generated, no input) they are absent.
    expect(decode(packetMessage(20, 10, 'x', ipv6(17, ports(1, 2, 4)), undefined, 3))[0]).toMatchObject({ family: 10, indev: undefined, outdev: 3 });
  });

  it('other messages are not packets', () => {
    const w = new Writer(64);
    const s = w.begin(2, 0, 1); // NLMSG_ERROR
    w.i32(0);
    w.end(s);
    expect(decode(Buffer.from(w.buf.subarray(0, w.len)))).toEqual([undefined]);
  });
});

describe('packet headers', () => {
  it('IPv4 TCP: addresses, ports, flags', () => {
    expect(parsePacketHeaders(ipv4(6, tcpSyn(40001, 9090)))).toEqual({
      family: 4,
      src: '10.65.0.1',
      dst: '10.65.0.2',
      protocol: 6,
      protocolName: 'tcp',
      srcPort: 40001,
      dstPort: 9090,
      tcpFlags: 'S',
    });
  });

  it('IPv4 UDP behind IP options; ICMP type and code; SCTP ports; an unknown protocol by number', () => {
    expect(parsePacketHeaders(ipv4(17, ports(40002, 5354, 4), { ihl: 6 }))).toMatchObject({ protocolName: 'udp', srcPort: 40002, dstPort: 5354 });
    expect(parsePacketHeaders(ipv4(1, Buffer.from([8, 0, 0, 0])))).toMatchObject({ protocolName: 'icmp', icmpType: 8, icmpCode: 0 });
    expect(parsePacketHeaders(ipv4(132, ports(1000, 2000, 8)))).toMatchObject({ protocolName: 'sctp', srcPort: 1000, dstPort: 2000 });
    const gre = parsePacketHeaders(ipv4(47, Buffer.alloc(4)));
    expect(gre).toMatchObject({ protocol: 47, protocolName: '47' });
    expect(gre?.srcPort).toBeUndefined();
  });

  it('a later IPv4 fragment has no ports; a packet cut inside the transport header keeps its addresses', () => {
    expect(parsePacketHeaders(ipv4(17, ports(1, 2, 4), { frag: 185 }))).toEqual({ family: 4, src: '10.65.0.1', dst: '10.65.0.2', protocol: 17, protocolName: 'udp', fragment: true });
    const cut = parsePacketHeaders(ipv4(6, Buffer.from([0x9c])));
    expect(cut).toMatchObject({ src: '10.65.0.1', protocolName: 'tcp' });
    expect(cut?.dstPort).toBeUndefined();
  });

  it('IPv6: plain UDP, TCP behind a hop-by-hop header, ICMPv6, a non-first fragment', () => {
    expect(parsePacketHeaders(ipv6(17, ports(53000, 53, 4)))).toMatchObject({ family: 6, src: 'fd00::1', dst: 'fd00::2', protocolName: 'udp', srcPort: 53000, dstPort: 53 });
    const hbh = Buffer.alloc(8);
    hbh[0] = 6; // next: TCP, length 0 (8 octets)
    expect(parsePacketHeaders(ipv6(0, Buffer.concat([hbh, tcpSyn(1234, 443)])))).toMatchObject({ protocol: 6, srcPort: 1234, dstPort: 443, tcpFlags: 'S' });
    expect(parsePacketHeaders(ipv6(58, Buffer.from([128, 0, 0, 0])))).toMatchObject({ protocolName: 'icmpv6', icmpType: 128 });
    const frag = Buffer.alloc(8);
    frag[0] = 17;
    frag.writeUInt16BE(8 << 3, 2); // offset 8 (in 8-octet units)
    expect(parsePacketHeaders(ipv6(44, Buffer.concat([frag, ports(1, 2, 4)])))).toMatchObject({ protocol: 17, fragment: true });
  });

  it('not IP, or shorter than an IP header: nothing', () => {
    expect(parsePacketHeaders(Buffer.alloc(0))).toBeUndefined();
    expect(parsePacketHeaders(Buffer.from([0x45, 0, 0]))).toBeUndefined();
    expect(parsePacketHeaders(Buffer.alloc(40, 0x20))).toBeUndefined();
    expect(parsePacketHeaders(Buffer.from([0x60, 0, 0, 0]))).toBeUndefined();
  });
});
