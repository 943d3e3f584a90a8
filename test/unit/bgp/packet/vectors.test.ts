// Hand-written wire vectors, every field commented: decode must give the fields, and encoding
// the decoded message must give the same octets back.
import { describe, expect, it } from 'vitest';
import {
  BgpError,
  decodeMessage,
  describeNotification,
  encodeEndOfRib,
  encodeMessage,
  endOfRibFamily,
  formatIpv6,
  formatPrefix,
  makeContext,
  parseIpv4,
  parseIpv6,
  parsePrefix,
  SegmentType,
  type BgpMessage,
  type CodecContext,
  type OpenMessage,
  type UpdateMessage,
} from '../../../../bgp/packet/index.js';
import { hex, MARKER } from './hex.js';

const ctx4 = makeContext({ fourOctetAs: true });
const ctx2 = makeContext({ fourOctetAs: false });

function decode<T extends BgpMessage>(buf: Buffer, ctx: CodecContext): T {
  const r = decodeMessage(buf, ctx);
  expect(r.issues).toEqual([]);
  expect(r.treatAsWithdraw).toBe(false);
  return r.message as T;
}

describe('KEEPALIVE', () => {
  const wire = hex(`
    ${MARKER}   # marker
    0013        # length 19
    04          # type KEEPALIVE
  `);
  it('decodes and encodes', () => {
    expect(decode(wire, ctx4)).toEqual({ type: 'keepalive' });
    expect(encodeMessage({ type: 'keepalive' }, ctx4)).toEqual(wire);
  });
});

describe('OPEN with every capability', () => {
  const wire = hex(`
    ${MARKER}           # marker
    0051                # length 81
    01                  # type OPEN
    04                  # version 4
    fde8                # My AS 65000
    00b4                # hold time 180
    c0000201            # BGP identifier 192.0.2.1
    34                  # optional parameters length 52
    02 32               # parameter: capabilities, 50 octets
      01 04 0001 00 01  #   multiprotocol: AFI 1 (IPv4), reserved, SAFI 1 (unicast)
      01 04 0002 00 01  #   multiprotocol: AFI 2 (IPv6), reserved, SAFI 1
      02 00             #   route refresh
      46 00             #   enhanced route refresh (70)
      41 04 0000fde8    #   4-octet AS: 65000
      40 06             #   graceful restart, 6 octets
        8078            #     R bit set, restart time 120 s
        0001 01 80      #     IPv4 unicast, F bit (forwarding preserved)
      45 08             #   ADD-PATH, 8 octets
        0001 01 03      #     IPv4 unicast: send and receive
        0002 01 01      #     IPv6 unicast: receive
      05 06             #   extended next hop, 6 octets
        0001 0001 0002  #     IPv4 NLRI, SAFI 1, IPv6 next hop
      06 00             #   extended message
  `);
  const open: OpenMessage = {
    type: 'open',
    version: 4,
    myAs: 65000,
    holdTime: 180,
    bgpId: parseIpv4('192.0.2.1'),
    capabilities: [
      { kind: 'multiprotocol', afi: 1, safi: 1 },
      { kind: 'multiprotocol', afi: 2, safi: 1 },
      { kind: 'route-refresh' },
      { kind: 'enhanced-route-refresh' },
      { kind: 'four-octet-as', as: 65000 },
      { kind: 'graceful-restart', restarting: true, notification: false, time: 120, families: [{ afi: 1, safi: 1, forwarding: true }] },
      {
        kind: 'add-path',
        families: [
          { afi: 1, safi: 1, send: true, receive: true },
          { afi: 2, safi: 1, send: false, receive: true },
        ],
      },
      { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
      { kind: 'extended-message' },
    ],
  };
  it('decodes every field', () => {
    expect(decode<OpenMessage>(wire, makeContext())).toEqual(open);
  });
  it('encodes to the same octets', () => {
    expect(encodeMessage(open, makeContext()).toString('hex')).toBe(wire.toString('hex'));
  });
  it('reads capabilities spread over several optional parameters', () => {
    const w = hex(`
      ${MARKER} 0029 01       # header: length 41, OPEN
      04 fde8 005a 0a000001   # version 4, AS 65000, hold 90, id 10.0.0.1
      0c                      # optional parameters length 12
      02 06 01 04 0002 00 01  # capabilities: multiprotocol IPv6 unicast
      02 02 02 00             # capabilities: route refresh
    `);
    expect(decode<OpenMessage>(w, makeContext()).capabilities).toEqual([{ kind: 'multiprotocol', afi: 2, safi: 1 }, { kind: 'route-refresh' }]);
  });
  it('uses RFC 9072 extended optional parameter lengths when capabilities exceed 255 octets', () => {
    const big: OpenMessage = { ...open, capabilities: [{ kind: 'unknown', code: 200, value: Buffer.alloc(250, 7) }, { kind: 'route-refresh' }] };
    const w = encodeMessage(big, makeContext());
    // Non-extended length 255, type 255, 2-octet length, then capabilities (type 2) with a 2-octet length.
    expect(w.subarray(28, 35).toString('hex')).toBe('ff' + 'ff' + '0101' + '02' + '00fe');
    expect(decode<OpenMessage>(w, makeContext())).toEqual(big);
  });
  it('rejects a version other than 4 with the version we support as data', () => {
    const w = Buffer.from(wire);
    w[19] = 3;
    try {
      decodeMessage(w, makeContext());
      expect.unreachable();
    } catch (e) {
      expect((e as BgpError).notification).toEqual({ code: 2, subcode: 1, data: Buffer.from([0, 4]) });
    }
  });
  it('keeps an unknown capability as raw bytes', () => {
    const w = hex(`
      ${MARKER} 0023 01   # header: length 35, OPEN
      04 fde8 005a 0a000001   # version 4, AS 65000, hold 90, id 10.0.0.1
      06                  # optional parameters length 6
      02 04               # capabilities, 4 octets
        49 02 6162        #   FQDN (73), 2 octets "ab"
    `);
    const m = decode<OpenMessage>(w, makeContext());
    expect(m.capabilities).toEqual([{ kind: 'unknown', code: 73, value: Buffer.from('ab') }]);
    expect(encodeMessage(m, makeContext())).toEqual(w);
  });
});

describe('UPDATE with every attribute (4-octet AS session)', () => {
  const wire = hex(`
    ${MARKER}                     # marker
    0095                          # length 149
    02                            # type UPDATE
    0000                          # withdrawn routes length 0
    0075                          # total path attribute length 117
    40 01 01 00                   # ORIGIN (well-known transitive), 1 octet: IGP
    40 02 0e                      # AS_PATH, 14 octets
      02 03                       #   AS_SEQUENCE of 3
      0000fde9 00010000 0000fdea  #   65001 65536 65002
    40 03 04 c0000202             # NEXT_HOP 192.0.2.2
    80 04 04 00000064             # MULTI_EXIT_DISC (optional) 100
    40 05 04 000000c8             # LOCAL_PREF 200
    40 06 00                      # ATOMIC_AGGREGATE
    c0 07 08 0000fde9 c0000203    # AGGREGATOR (optional transitive): AS 65001, 192.0.2.3
    c0 08 08 fde90064 ffffff01    # COMMUNITIES 65001:100, NO_EXPORT
    80 09 04 c0000204             # ORIGINATOR_ID 192.0.2.4
    80 0a 08 c0000205 c0000206    # CLUSTER_LIST 192.0.2.5 192.0.2.6
    c0 10 08 0002fde900000064     # EXTENDED_COMMUNITIES: route target 65001:100
    c0 20 0c                      # LARGE_COMMUNITY, 12 octets
      0000fde9 00000001 00000002  #   65001:1:2
    e0 63 03 aabbcc               # unknown type 99, optional transitive partial
    18 0a0001                     # NLRI 10.0.1.0/24
    20 0a000002                   # NLRI 10.0.0.2/32
  `);
  it('decodes every field', () => {
    const m = decode<UpdateMessage>(wire, ctx4);
    expect(m.withdrawn).toEqual([]);
    expect(m.nlri.map((p) => formatPrefix(p))).toEqual(['10.0.1.0/24', '10.0.0.2/32']);
    expect(m.attrs).toEqual({
      origin: 0,
      asPath: [{ type: SegmentType.AS_SEQUENCE, asns: [65001, 65536, 65002] }],
      nextHop: { afi: 1, addr: parseIpv4('192.0.2.2') },
      med: 100,
      localPref: 200,
      atomicAggregate: true,
      aggregator: { as: 65001, address: parseIpv4('192.0.2.3') },
      communities: [65001 * 65536 + 100, 0xffffff01],
      originatorId: parseIpv4('192.0.2.4'),
      clusterList: [parseIpv4('192.0.2.5'), parseIpv4('192.0.2.6')],
      extendedCommunities: [0x0002fde900000064n],
      largeCommunities: [{ global: 65001, local1: 1, local2: 2 }],
      unknown: [{ flags: 0xe0, type: 99, value: Buffer.from('aabbcc', 'hex') }],
    });
    expect(m.rawAttrs?.length).toBe(117);
  });
  it('encodes to the same octets', () => {
    const m = decode<UpdateMessage>(wire, ctx4);
    expect(encodeMessage(m, ctx4).toString('hex')).toBe(wire.toString('hex'));
  });
  it('sets the Partial bit on an unknown optional transitive attribute and drops a non-transitive one', () => {
    const w = hex(`
      ${MARKER} 0029 02     # header: length 41, UPDATE
      0000                  # no withdrawn routes
      0012                  # path attributes, 18 octets
      40 01 01 01           # ORIGIN EGP
      40 02 00              # AS_PATH, empty
      c0 63 03 aabbcc       # type 99 optional transitive, Partial bit clear
      80 64 02 1122         # type 100 optional non-transitive
    `);
    const m = decode<UpdateMessage>(w, ctx4);
    expect(m.attrs).toEqual({ origin: 1, asPath: [], unknown: [{ flags: 0xe0, type: 99, value: Buffer.from('aabbcc', 'hex') }] });
  });
});

describe('UPDATE on a 2-octet AS session with AS4_PATH and AS4_AGGREGATOR (RFC 6793 §4.2.3)', () => {
  const wire = hex(`
    ${MARKER} 0057 02               # header: length 87, UPDATE
    0000                            # no withdrawn routes
    003d                            # path attributes, 61 octets
    40 01 01 02                     # ORIGIN INCOMPLETE
    40 02 0a                        # AS_PATH, 10 octets (2-octet AS numbers)
      02 04 fde9 5ba0 5ba0 fdea     #   AS_SEQUENCE 65001 AS_TRANS AS_TRANS 65002
    40 03 04 c0000202               # NEXT_HOP 192.0.2.2
    c0 07 06 5ba0 c0000203          # AGGREGATOR AS_TRANS, 192.0.2.3
    c0 11 0e                        # AS4_PATH, 14 octets
      02 03 00010000 00010001 0000fdea  # AS_SEQUENCE 65536 65537 65002
    c0 12 08 00010000 c0000203      # AS4_AGGREGATOR 65536, 192.0.2.3
    10 c0a8                         # NLRI 192.168.0.0/16
  `);
  it('merges the paths: leading ASes of AS_PATH, then AS4_PATH', () => {
    const m = decode<UpdateMessage>(wire, ctx2);
    expect(m.attrs.asPath).toEqual([{ type: SegmentType.AS_SEQUENCE, asns: [65001, 65536, 65537, 65002] }]);
    expect(m.attrs.aggregator).toEqual({ as: 65536, address: parseIpv4('192.0.2.3') });
    expect(m.attrs.origin).toBe(2);
    expect(m.nlri.map((p) => formatPrefix(p))).toEqual(['192.168.0.0/16']);
  });
  it('reads the same octets on a 4-octet session as a malformed AS_PATH (never guesses)', () => {
    const r = decodeMessage(wire, ctx4);
    expect(r.treatAsWithdraw).toBe(true);
    expect(r.issues.map((i) => i.notification.subcode)).toContain(11);
  });
  it('re-encodes for a 2-octet peer with AS_TRANS and an AS4_PATH that round-trips', () => {
    const m = decode<UpdateMessage>(wire, ctx2);
    const again = decode<UpdateMessage>(encodeMessage(m, ctx2), ctx2);
    expect(again.attrs).toEqual(m.attrs);
  });
});

describe('UPDATE with IPv6 MP_REACH_NLRI and a link-local next hop', () => {
  const wire = hex(`
    ${MARKER} 005c 02                      # header: length 92, UPDATE
    0000                                   # no withdrawn routes
    0045                                   # path attributes, 69 octets
    80 0e 35                               # MP_REACH_NLRI (optional), 53 octets
      0002 01                              #   AFI 2 (IPv6), SAFI 1
      20                                   #   next hop length 32
      20010db8000000000000000000000001     #   global 2001:db8::1
      fe800000000000000000000000000001     #   link-local fe80::1
      00                                   #   reserved
      40 20010db800010000                  #   2001:db8:1::/64
      30 20010db80002                      #   2001:db8:2::/48
    40 01 01 00                            # ORIGIN IGP
    40 02 06 02 01 0000fde9                # AS_PATH: AS_SEQUENCE 65001
  `);
  it('decodes next hops and prefixes', () => {
    const m = decode<UpdateMessage>(wire, ctx4);
    expect(m.nlri).toEqual([]);
    expect(m.mpReach?.afi).toBe(2);
    expect(m.mpReach?.safi).toBe(1);
    const nh = m.mpReach!.nextHop;
    expect(nh.afi).toBe(2);
    if (nh.afi === 2) {
      expect(formatIpv6(nh.addr)).toBe('2001:db8::1');
      expect(formatIpv6(nh.linkLocal!)).toBe('fe80::1');
    }
    expect(m.mpReach!.nlri.map((p) => formatPrefix(p))).toEqual(['2001:db8:1::/64', '2001:db8:2::/48']);
    expect(m.attrs).toEqual({ origin: 0, asPath: [{ type: 2, asns: [65001] }] });
  });
  it('encodes to the same octets', () => {
    const m = decode<UpdateMessage>(wire, ctx4);
    expect(encodeMessage(m, ctx4).toString('hex')).toBe(wire.toString('hex'));
  });
  it('copies addresses out of the message, so keeping a route does not pin the socket buffer', () => {
    const own = Buffer.alloc(wire.length); // its own ArrayBuffer, like a socket read
    wire.copy(own);
    const m = decode<UpdateMessage>(own, ctx4);
    for (const p of m.mpReach!.nlri) expect(typeof p.addr !== 'number' && p.addr.buffer === own.buffer).toBe(false);
    const nh = m.mpReach!.nextHop;
    if (nh.afi === 2) expect(nh.addr.buffer === own.buffer).toBe(false);
    expect(m.rawAttrs!.buffer === own.buffer).toBe(true); // documented: a view, copy to keep
  });
});

describe('UPDATE with ADD-PATH path identifiers (RFC 7911)', () => {
  const ap = makeContext({ fourOctetAs: true, addPath: { ipv4: { send: true, receive: true }, ipv6: { send: false, receive: false } } });
  const wire = hex(`
    ${MARKER} 003d 02           # header: length 61, UPDATE
    0000                        # no withdrawn routes
    0014                        # path attributes, 20 octets
    40 01 01 00                 # ORIGIN IGP
    40 02 06 02 01 0000fde9     # AS_PATH: AS_SEQUENCE 65001
    40 03 04 c0000202           # NEXT_HOP 192.0.2.2
    00000001 20 0a000001        # path id 1: 10.0.0.1/32
    00000002 20 0a000001        # path id 2: 10.0.0.1/32
  `);
  it('reads the path identifier before each prefix when negotiated for receive', () => {
    const m = decode<UpdateMessage>(wire, ap);
    expect(m.nlri).toEqual([parsePrefix('10.0.0.1/32', 1), parsePrefix('10.0.0.1/32', 2)]);
    expect(encodeMessage(m, ap)).toEqual(wire);
  });
  it('without ADD-PATH the same octets are a malformed NLRI field (session reset)', () => {
    expect(() => decodeMessage(wire, ctx4)).toThrow(/NLRI/);
  });
});

describe('NOTIFICATION with a shutdown communication (RFC 8203/9003)', () => {
  const wire = hex(`
    ${MARKER} 0021 03           # header: length 33, NOTIFICATION
    06 02                       # Cease / Administrative Shutdown
    0b                          # communication length 11
    6d61696e74656e616e6365      # "maintenance"
  `);
  it('decodes and describes it', () => {
    const m = decode(wire, ctx4);
    expect(m).toEqual({ type: 'notification', code: 6, subcode: 2, data: Buffer.from('0b6d61696e74656e616e6365', 'hex') });
    if (m.type === 'notification') expect(describeNotification(m.code, m.subcode, m.data)).toBe('Cease / Administrative Shutdown: "maintenance"');
    expect(encodeMessage(m, ctx4)).toEqual(wire);
  });
});

describe('ROUTE-REFRESH (RFC 2918, RFC 7313)', () => {
  it.each([
    ['request for IPv6 unicast', '0002 00 01', { afi: 2, safi: 1, subtype: 0 }],
    ['Beginning of Route Refresh, IPv4 unicast', '0001 01 01', { afi: 1, safi: 1, subtype: 1 }],
    ['End of Route Refresh, IPv4 unicast', '0001 02 01', { afi: 1, safi: 1, subtype: 2 }],
  ])('%s', (_name, body, fields) => {
    const wire = hex(`${MARKER} 0017 05 ${body}  # header: length 23, ROUTE-REFRESH; AFI, subtype, SAFI`);
    const m = decode(wire, ctx4);
    expect(m).toEqual({ type: 'route-refresh', ...fields });
    expect(encodeMessage(m, ctx4)).toEqual(wire);
  });
  it('a BoRR of the wrong length is a ROUTE-REFRESH Message Error', () => {
    const wire = hex(`${MARKER} 0018 05 0001 01 01 00  # one octet too many`);
    try {
      decodeMessage(wire, ctx4);
      expect.unreachable();
    } catch (e) {
      expect((e as { notification: { code: number; subcode: number } }).notification).toMatchObject({ code: 7, subcode: 1 });
    }
  });
});

describe('End-of-RIB (RFC 4724 §2)', () => {
  it('IPv4 unicast: an empty UPDATE', () => {
    const wire = hex(`
      ${MARKER} 0017 02   # header: length 23, UPDATE
      0000                # no withdrawn routes
      0000                # no path attributes
    `);
    expect(encodeEndOfRib(1, 1)).toEqual(wire);
    expect(endOfRibFamily(decode<UpdateMessage>(wire, ctx4))).toEqual({ afi: 1, safi: 1 });
  });
  it('IPv6 unicast: MP_UNREACH_NLRI with no prefixes', () => {
    const wire = hex(`
      ${MARKER} 001d 02   # header: length 29, UPDATE
      0000                # no withdrawn routes
      0006                # path attributes, 6 octets
      80 0f 03 0002 01    # MP_UNREACH_NLRI: AFI 2, SAFI 1, no prefixes
    `);
    expect(encodeEndOfRib(2, 1)).toEqual(wire);
    expect(endOfRibFamily(decode<UpdateMessage>(wire, ctx4))).toEqual({ afi: 2, safi: 1 });
  });
  it('an UPDATE that withdraws something is not an End-of-RIB', () => {
    const wire = hex(`${MARKER} 0019 02  0002 08 0a  0000   # withdraws 10.0.0.0/8`);
    const m = decode<UpdateMessage>(wire, ctx4);
    expect(m.withdrawn.map((p) => formatPrefix(p))).toEqual(['10.0.0.0/8']);
    expect(endOfRibFamily(m)).toBeUndefined();
  });
});

describe('addresses', () => {
  it('formats IPv6 per RFC 5952', () => {
    expect(formatIpv6(parseIpv6('2001:0db8:0000:0000:0001:0000:0000:0001'))).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(parseIpv6('::'))).toBe('::');
    expect(formatIpv6(parseIpv6('::ffff:192.0.2.1'))).toBe('::ffff:192.0.2.1');
    expect(formatIpv6(parseIpv6('fe80::1'))).toBe('fe80::1');
  });
  it('clears host bits when parsing prefixes', () => {
    expect(formatPrefix(parsePrefix('10.1.2.3/8'))).toBe('10.0.0.0/8');
    expect(formatPrefix(parsePrefix('2001:db8::ffff/33'))).toBe('2001:db8::/33');
  });
});
