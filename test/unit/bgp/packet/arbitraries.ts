// fast-check generators of valid BGP messages, shared by the round-trip and fuzz tests.
import fc from 'fast-check';
import {
  ipv4Prefix,
  ipv6Prefix,
  makeContext,
  type AsPathSegment,
  type Capability,
  type CodecContext,
  type Ipv4Prefix,
  type Ipv6Prefix,
  type NextHop,
  type NotificationMessage,
  type OpenMessage,
  type PathAttributes,
  type RouteRefreshMessage,
  type SegmentType,
  type UpdateMessage,
} from '../../../../bgp/packet/index.js';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u8 = fc.integer({ min: 0, max: 255 });

export const arbContext: fc.Arbitrary<CodecContext> = fc
  .record({ fourOctetAs: fc.boolean(), ap4: fc.boolean(), ap6: fc.boolean() })
  .map(({ fourOctetAs, ap4, ap6 }) =>
    makeContext({
      fourOctetAs,
      addPath: { ipv4: { send: ap4, receive: ap4 }, ipv6: { send: ap6, receive: ap6 } },
      extendedMessage: { send: true, receive: true },
    }),
  );

export const arbIpv4Prefix = (addPath: boolean): fc.Arbitrary<Ipv4Prefix> =>
  fc.record({ addr: u32, len: fc.integer({ min: 0, max: 32 }), id: addPath ? u32 : fc.constant(0) }).map((r) => ipv4Prefix(r.addr, r.len, r.id));

export const arbIpv6Prefix = (addPath: boolean): fc.Arbitrary<Ipv6Prefix> =>
  fc
    .record({ addr: fc.uint8Array({ minLength: 16, maxLength: 16 }), len: fc.integer({ min: 0, max: 128 }), id: addPath ? u32 : fc.constant(0) })
    .map((r) => ipv6Prefix(Buffer.from(r.addr), r.len, r.id));

const arbV6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a));
export const arbNextHop4: fc.Arbitrary<NextHop> = u32.map((addr) => ({ afi: 1 as const, addr }));
export const arbNextHop6: fc.Arbitrary<NextHop> = fc
  .record({ addr: arbV6, ll: fc.option(arbV6, { nil: undefined }) })
  .map((r) => (r.ll ? { afi: 2 as const, addr: r.addr, linkLocal: r.ll } : { afi: 2 as const, addr: r.addr }));

/** An AS path that survives a 2-octet session: confederation segments only at the front, with 2-octet members. */
export const arbAsPath = (fourOctetAs: boolean): fc.Arbitrary<AsPathSegment[]> => {
  const seg = (types: SegmentType[], asn: fc.Arbitrary<number>): fc.Arbitrary<AsPathSegment> =>
    fc.record({ type: fc.constantFrom(...types), asns: fc.array(asn, { minLength: 1, maxLength: 12 }) });
  const confed = seg([3, 4], fourOctetAs ? u32 : u16);
  const normal = seg([1, 2], u32);
  return fc.tuple(fc.array(confed, { maxLength: 2 }), fc.array(normal, { maxLength: 4 })).map(([c, n]) => [...c, ...n]);
};

const KNOWN_ATTRS = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 14, 15, 16, 17, 18, 32]);
const arbUnknownType = fc.integer({ min: 11, max: 255 }).filter((t) => !KNOWN_ATTRS.has(t));

export const arbAttrs = (fourOctetAs: boolean): fc.Arbitrary<PathAttributes> =>
  fc
    .record(
      {
        origin: fc.constantFrom(0 as const, 1 as const, 2 as const),
        asPath: arbAsPath(fourOctetAs),
        nextHop: arbNextHop4,
        med: u32,
        localPref: u32,
        atomicAggregate: fc.constant(true),
        aggregator: fc.record({ as: u32, address: u32 }),
        communities: fc.array(u32, { minLength: 1, maxLength: 10 }),
        extendedCommunities: fc.array(fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }), { minLength: 1, maxLength: 5 }),
        largeCommunities: fc.array(fc.record({ global: u32, local1: u32, local2: u32 }), { minLength: 1, maxLength: 4 }),
        originatorId: u32,
        clusterList: fc.array(u32, { minLength: 1, maxLength: 5 }),
        unknown: fc.uniqueArray(
          fc.record({ flags: fc.constant(0xe0), type: arbUnknownType, value: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)) }),
          { maxLength: 3, selector: (u) => u.type },
        ).map((list) => [...list].sort((a, b) => a.type - b.type)),
      },
      { requiredKeys: ['origin', 'asPath', 'nextHop'] },
    )
    .map((a) => {
      const out: PathAttributes = { ...a };
      if (out.unknown && out.unknown.length === 0) delete out.unknown;
      return out;
    });

export const arbUpdate = (ctx: CodecContext): fc.Arbitrary<UpdateMessage> => {
  const ap4 = ctx.addPath.ipv4.send;
  const ap6 = ctx.addPath.ipv6.send;
  const mpReach = fc.oneof(
    fc.record({ afi: fc.constant(1 as const), safi: fc.constant(1), nextHop: fc.oneof(arbNextHop4, arbNextHop6), nlri: fc.array(arbIpv4Prefix(ap4), { maxLength: 30 }) }),
    fc.record({ afi: fc.constant(2 as const), safi: fc.constant(1), nextHop: arbNextHop6, nlri: fc.array(arbIpv6Prefix(ap6), { maxLength: 30 }) }),
  );
  const mpUnreach = fc.oneof(
    fc.record({ afi: fc.constant(1 as const), safi: fc.constant(1), withdrawn: fc.array(arbIpv4Prefix(ap4), { maxLength: 30 }) }),
    fc.record({ afi: fc.constant(2 as const), safi: fc.constant(1), withdrawn: fc.array(arbIpv6Prefix(ap6), { maxLength: 30 }) }),
  );
  return fc
    .record(
      {
        withdrawn: fc.array(arbIpv4Prefix(ap4), { maxLength: 30 }),
        attrs: arbAttrs(ctx.fourOctetAs),
        nlri: fc.array(arbIpv4Prefix(ap4), { maxLength: 30 }),
        mpReach,
        mpUnreach,
      },
      { requiredKeys: ['withdrawn', 'attrs', 'nlri'] },
    )
    .map((r) => ({ type: 'update' as const, ...r }) as UpdateMessage);
};

const KNOWN_CAPS = new Set([1, 2, 5, 6, 64, 65, 69, 70]);
const arbFamily = fc.record({ afi: u16, safi: u8 });
export const arbCapability: fc.Arbitrary<Capability> = fc.oneof(
  arbFamily.map((f) => ({ kind: 'multiprotocol' as const, ...f })),
  fc.constant({ kind: 'route-refresh' as const }),
  fc.constant({ kind: 'enhanced-route-refresh' as const }),
  fc.constant({ kind: 'extended-message' as const }),
  u32.map((as) => ({ kind: 'four-octet-as' as const, as })),
  fc.record({
    kind: fc.constant('graceful-restart' as const),
    restarting: fc.boolean(),
    notification: fc.boolean(),
    time: fc.integer({ min: 0, max: 4095 }),
    families: fc.array(fc.record({ afi: u16, safi: u8, forwarding: fc.boolean() }), { maxLength: 4 }),
  }),
  fc.record({
    kind: fc.constant('add-path' as const),
    families: fc.array(
      fc.record({ afi: u16, safi: u8, send: fc.boolean(), receive: fc.boolean() }).filter((f) => f.send || f.receive),
      { maxLength: 4 },
    ),
  }),
  fc.record({ kind: fc.constant('extended-next-hop' as const), entries: fc.array(fc.record({ afi: u16, safi: u16, nextHopAfi: u16 }), { maxLength: 4 }) }),
  fc.record({
    kind: fc.constant('unknown' as const),
    code: u8.filter((c) => !KNOWN_CAPS.has(c)),
    value: fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)),
  }),
);

export const arbOpen: fc.Arbitrary<OpenMessage> = fc.record({
  type: fc.constant('open' as const),
  version: fc.constant(4),
  myAs: u16,
  holdTime: fc.oneof(fc.constant(0), fc.integer({ min: 3, max: 0xffff })),
  bgpId: fc.integer({ min: 1, max: 0xffffffff }),
  capabilities: fc.array(arbCapability, { maxLength: 20 }),
});

export const arbNotification: fc.Arbitrary<NotificationMessage> = fc.record({
  type: fc.constant('notification' as const),
  code: u8,
  subcode: u8,
  data: fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a)),
});

export const arbRouteRefresh: fc.Arbitrary<RouteRefreshMessage> = fc.record({
  type: fc.constant('route-refresh' as const),
  afi: u16,
  safi: u8,
  subtype: u8,
});
