// Issue 17: no message we send may exceed 4096 octets unless Extended Message (RFC 8654) was
// advertised by both sides. A property over random sessions (capabilities of both OPENs: Extended
// Message, ADD-PATH, 4-octet AS; eBGP/iBGP, link-local next hops) and random tables (both
// families, any prefix length, AS paths up to 700 ASNs, up to 1,100 communities — some attribute
// sets alone are longer than 4096 octets) changed step by step (announcements, withdrawals and
// replacements in the same batch): every batch the Adj-RIB-Out builds passes the send-path check,
// no message is longer than the negotiated limit, the peer decodes every message, and what it
// ends up with is exactly what the Adj-RIB-Out says it sent — everything that can be sent.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkOutgoing,
  decodeMessage,
  formatPrefix,
  ipv4Prefix,
  ipv6Prefix,
  negotiateContext,
  parseIpv4,
  parseIpv6,
  type AsPathSegment,
  type Capability,
  type OpenMessage,
  type PathAttributes,
  type Prefix,
  type UpdateMessage,
} from '../../../../bgp/packet/index.js';
import { AdjRibOut, type ExportTarget } from '../../../../bgp/rib/export.js';
import { ACCEPT_ALL } from '../../../../bgp/rib/policy.js';
import { LOCAL_AS, rib, set, source } from './fixtures.js';

const PEER_AS = 65100;

function open(asn: number, o: { ext: boolean; fourOctet: boolean; apSend: boolean; apReceive: boolean }): OpenMessage {
  const caps: Capability[] = [
    { kind: 'multiprotocol', afi: 1, safi: 1 },
    { kind: 'multiprotocol', afi: 2, safi: 1 },
  ];
  if (o.fourOctet) caps.push({ kind: 'four-octet-as', as: asn });
  if (o.apSend || o.apReceive) {
    const f = { safi: 1, send: o.apSend, receive: o.apReceive };
    caps.push({ kind: 'add-path', families: [{ afi: 1, ...f }, { afi: 2, ...f }] });
  }
  if (o.ext) caps.push({ kind: 'extended-message' });
  return { type: 'open', version: 4, myAs: asn, holdTime: 90, bgpId: parseIpv4('10.0.0.1'), capabilities: caps };
}

const arbSide = fc.record({ ext: fc.boolean(), fourOctet: fc.boolean(), apSend: fc.boolean(), apReceive: fc.boolean() });

/** AS_SEQUENCE segments of at most 255 ASNs (2-octet ASNs, so 2-octet sessions need no AS4_PATH). */
const arbAsPath: fc.Arbitrary<AsPathSegment[]> = fc
  .oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 100, max: 700 }))
  .chain((n) => fc.array(fc.integer({ min: 1, max: 64000 }), { minLength: n, maxLength: n }))
  .map((asns) => {
    const segs: AsPathSegment[] = [];
    for (let i = 0; i < asns.length; i += 255) segs.push({ type: 2, asns: asns.slice(i, i + 255) });
    return segs;
  });

interface AttrsSpec {
  asPath: AsPathSegment[];
  communities: number;
  large: number;
  med: number | undefined;
}

function makeAttrs(r: AttrsSpec): PathAttributes {
  const a: PathAttributes = {
    origin: 0,
    asPath: r.asPath,
    nextHop: { afi: 1, addr: parseIpv4('192.0.2.1') },
    ...(r.med === undefined ? {} : { med: r.med }),
  };
  // Distinct, never NO_EXPORT / NO_ADVERTISE.
  if (r.communities > 0) a.communities = Array.from({ length: r.communities }, (_, i) => (65001 * 65536 + i) >>> 0);
  if (r.large > 0) a.largeCommunities = Array.from({ length: r.large }, (_, i) => ({ global: 65001, local1: i, local2: 7 }));
  return a;
}

const arbAttrs: fc.Arbitrary<PathAttributes> = fc
  .record({
    asPath: arbAsPath,
    communities: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 300, max: 1100 })),
    large: fc.integer({ min: 0, max: 60 }),
    med: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
  })
  .map(makeAttrs);

/** A pool of distinct prefixes of both families and any length. */
const arbPool: fc.Arbitrary<Prefix[]> = fc
  .record({
    v4: fc.array(fc.record({ addr: fc.integer({ min: 0, max: 0xffffffff }), len: fc.integer({ min: 0, max: 32 }) }), { maxLength: 600 }),
    v6: fc.array(fc.record({ addr: fc.uint8Array({ minLength: 16, maxLength: 16 }), len: fc.integer({ min: 0, max: 128 }) }), { maxLength: 400 }),
    dense: fc.integer({ min: 0, max: 2500 }),
  })
  .map((r) => {
    const seen = new Map<string, Prefix>();
    const add = (p: Prefix): void => void seen.set(formatPrefix(p), p);
    for (const x of r.v4) add(ipv4Prefix(x.addr, x.len));
    for (const x of r.v6) add(ipv6Prefix(Buffer.from(x.addr), x.len));
    // Many /32s: full UPDATEs.
    for (let i = 0; i < r.dense; i++) add(ipv4Prefix(0x0a000000 + i, 32));
    return [...seen.values()];
  });

/** One change: source `src` announces (with set `attrs`) or withdraws every prefix with index ≡ `k` mod `m`. */
const arbStep = fc.record({
  src: fc.integer({ min: 0, max: 2 }),
  attrs: fc.integer({ min: 0, max: 4 }),
  withdraw: fc.boolean(),
  m: fc.integer({ min: 1, max: 4 }),
  k: fc.integer({ min: 0, max: 3 }),
});

const arbCase = fc.record({
  local: arbSide,
  remote: arbSide,
  ebgp: fc.boolean(),
  nextHopSelf: fc.boolean(),
  linkLocal: fc.boolean(),
  addPathSend: fc.constantFrom(0, 1, 2, Infinity),
  sets: fc.array(arbAttrs, { minLength: 5, maxLength: 5 }),
  pool: arbPool,
  steps: fc.array(arbStep, { minLength: 1, maxLength: 6 }),
});


type Case = typeof arbCase extends fc.Arbitrary<infer T> ? T : never;

/**
 * Two cases run besides the random ones, so both sides of the limit are always reached (30 random
 * sessions may by chance have none with Extended Message on both sides and a big attribute set):
 * attributes of 1,100 communities (4,400 octets) announced with Extended Message on both sides
 * (sent in messages over 4096 octets) and without it (they do not fit: not sent). fast-check runs
 * them first, within numRuns.
 */
function bigSetCase(ext: boolean): Case {
  const side = { ext, fourOctet: true, apSend: false, apReceive: false };
  const big = makeAttrs({ asPath: [{ type: 2, asns: Array.from({ length: 200 }, (_, i) => 1000 + i) }], communities: 1100, large: 10, med: undefined });
  return {
    local: side,
    remote: side,
    ebgp: false,
    nextHopSelf: false,
    linkLocal: false,
    addPathSend: 1,
    sets: [big, big, big, big, big],
    pool: Array.from({ length: 50 }, (_, i) => ipv4Prefix(0x0a000000 + i, 32)),
    steps: [{ src: 1, attrs: 0, withdraw: false, m: 1, k: 0 }],
  };
}

describe('UPDATE size (issue 17)', () => {
  it('every message fits the limit negotiated both ways, and the peer gets everything that can be sent', () => {
    let oversizedSets = 0;
    let extendedUsed = 0;
    fc.assert(
      fc.property(arbCase, (c) => {
        const localOpen = open(LOCAL_AS, c.local);
        const remoteOpen = open(c.ebgp ? PEER_AS : LOCAL_AS, c.remote);
        const ctx = negotiateContext(localOpen, remoteOpen);
        const peerCtx = negotiateContext(remoteOpen, localOpen);
        const limit = c.local.ext && c.remote.ext ? 65535 : 4096;

        const r = rib();
        r.loc.trackAllPaths(c.addPathSend > 1);
        const sources = [r.local, source(r, 'ebgp', '192.0.2.1', 65001), source(r, 'ebgp', '192.0.2.2', 65002)];
        const target: ExportTarget = {
          address: '192.0.2.99',
          localAs: LOCAL_AS,
          ebgp: c.ebgp,
          nextHopSelf: c.nextHopSelf,
          selfV4: { afi: 1, addr: parseIpv4('192.0.2.254') },
          selfV6: c.linkLocal ? { afi: 2, addr: parseIpv6('2001:db8::254'), linkLocal: parseIpv6('fe80::254') } : { afi: 2, addr: parseIpv6('2001:db8::254') },
          families: { ipv4: true, ipv6: true },
          policy: ACCEPT_ALL,
          ctx,
          addPathSend: c.addPathSend,
        };
        const out = new AdjRibOut(target);
        // Path ids count only where several paths per prefix are sent (else it is 1, or none).
        const key = (p: Prefix): string => (out.multiPath(p) ? formatPrefix(p) : formatPrefix({ ...p, pathId: 0 }));
        // What the peer holds, as it decodes our messages.
        const view = new Set<string>();
        for (const st of c.steps) {
          const ps = c.pool.filter((_, i) => i % st.m === st.k % st.m);
          const src = sources[st.src]!;
          if (st.withdraw) r.withdraw(src, ps);
          else r.announce(src, ps, set(r, c.sets[st.attrs]!), ACCEPT_ALL);
          const bufs = out.build(r.loc.drainChanges(), r.loc);
          // The send path's check, and the limit spelled out.
          checkOutgoing(bufs, ctx);
          for (const b of bufs) {
            expect(b.length).toBeLessThanOrEqual(limit);
            if (b.length > 4096) extendedUsed++;
            const d = decodeMessage(b, peerCtx);
            expect(d.issues).toEqual([]);
            const u = d.message as UpdateMessage;
            for (const p of [...u.withdrawn, ...(u.mpUnreach?.withdrawn ?? [])]) view.delete(key(p));
            for (const p of [...u.nlri, ...(u.mpReach?.nlri ?? [])]) view.add(key(p));
          }
        }
        const advertised = new Set([...out.advertised()].map(([p]) => key(p)));
        expect([...view].sort()).toEqual([...advertised].sort());
        // Nothing that can be sent is missing: a best path not advertised has a reason.
        for (const [p] of r.loc.table.entries()) {
          const best = r.loc.best(p);
          const d = out.decide(p, best);
          if (typeof d === 'string') {
            if (/do not fit/.test(d)) oversizedSets++;
            continue;
          }
          if (!out.multiPath(p)) expect(out.sentFor(p), formatPrefix(p)).toBeDefined();
        }
      }),
      { numRuns: 30, seed: Number(process.env.TWILL_PROPERTY_SEED ?? Date.now() % 1e9), examples: [[bigSetCase(true)], [bigSetCase(false)]] },
    );
    // The generator does reach both sides of the limit.
    expect(oversizedSets).toBeGreaterThan(0);
    expect(extendedUsed).toBeGreaterThan(0);
  });
});
