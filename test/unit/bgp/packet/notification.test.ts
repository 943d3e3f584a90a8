// NOTIFICATION sentences for logs, and the RFC 8203/9003 shutdown communication.
import { describe, expect, it } from 'vitest';
import { decodeMessage, describeNotification, encodeMessage, makeContext, shutdownCommunication, shutdownNotification } from '../../../../bgp/packet/index.js';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('describeNotification', () => {
  it.each([
    [4, 0, '', 'Hold Timer Expired'],
    [1, 2, '1001', 'Message Header Error / Bad Message Length: length field 4097'],
    [1, 3, '09', 'Message Header Error / Bad Message Type: type 9 (message type 9)'],
    [2, 1, '0004', 'OPEN Message Error / Unsupported Version Number: the peer supports version 4'],
    [2, 2, 'fde8', 'OPEN Message Error / Bad Peer AS: AS 65000'],
    [2, 7, '0104000200014100', 'OPEN Message Error / Unsupported Capability: the peer requires Multiprotocol, 4-octet AS'],
    [3, 3, '01', 'UPDATE Message Error / Missing Well-known Attribute: ORIGIN'],
    [3, 6, '40010107', 'UPDATE Message Error / Invalid ORIGIN Attribute: ORIGIN (attribute octets 40010107)'],
    [5, 3, '01', 'Finite State Machine Error / Receive Unexpected Message in Established State: unexpected OPEN'],
    [6, 1, '000101 000003e8', 'Cease / Maximum Number of Prefixes Reached: 1000 prefixes for AFI 1 SAFI 1'],
    [6, 9, '0400', 'Cease / Hard Reset: because of Hold Timer Expired'],
    [6, 4, '', 'Cease / Administrative Reset'],
    [8, 0, '', 'Send Hold Timer Expired'],
    [42, 7, 'beef', 'error code 42 / subcode 7: data beef'],
  ])('%i/%i %s → %s', (code, subcode, data, text) => {
    expect(describeNotification(code, subcode, h(data))).toBe(text);
  });

  it('says when a shutdown communication is malformed, and never prints control characters', () => {
    expect(describeNotification(6, 2, h('05 6869'))).toMatch(/malformed \(length 5 but only 2 octets follow\)/);
    expect(describeNotification(6, 2, h('02 c328'))).toMatch(/not valid UTF-8/);
    expect(describeNotification(6, 2, Buffer.from('\x05a\nb\x1bc'))).toBe('Cease / Administrative Shutdown: "a\ufffdb\ufffdc"');
  });
});

describe('shutdown communication', () => {
  it('round-trips UTF-8 text through a NOTIFICATION', () => {
    const n = shutdownNotification('Wartung bis 14:00 — näher am Kunden');
    const wire = encodeMessage(n, makeContext());
    const m = decodeMessage(wire, makeContext()).message;
    expect(m.type).toBe('notification');
    if (m.type === 'notification') expect(shutdownCommunication(m.code, m.subcode, m.data)).toEqual({ text: 'Wartung bis 14:00 — näher am Kunden' });
  });
  it('cuts long text at a character boundary', () => {
    const n = shutdownNotification('é'.repeat(200), 2, 255);
    expect(n.data[0]).toBe(254);
    expect(shutdownCommunication(6, 2, n.data)).toEqual({ text: 'é'.repeat(127) });
    expect(shutdownNotification('x'.repeat(300), 4, 128).data[0]).toBe(128);
  });
  it('is only read from Administrative Shutdown / Reset', () => {
    expect(shutdownCommunication(6, 3, h('02 6869'))).toBeUndefined();
  });
});
