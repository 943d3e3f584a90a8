// Our OPEN: what it advertises by default and when configured, and what two OPENs negotiate.
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage, DEFAULT_CONTEXT, type OpenMessage } from '../../../../bgp/packet/index.js';
import { buildOpen, negotiate, openSummary } from '../../../../bgp/session/open.js';

const both = { ipv4: true, ipv6: true };

function roundTrip(o: OpenMessage): OpenMessage {
  return decodeMessage(encodeMessage(o, DEFAULT_CONTEXT), DEFAULT_CONTEXT).message as OpenMessage;
}

describe('buildOpen', () => {
  it('advertises MP IPv4 + IPv6 unicast, route refresh, enhanced route refresh and 4-octet AS by default, nothing else', () => {
    const o = roundTrip(buildOpen({ asn: 65001, routerId: 0x0a000001, holdTime: 90, families: both }));
    expect(o.capabilities.map((c) => c.kind)).toEqual(['multiprotocol', 'multiprotocol', 'route-refresh', 'enhanced-route-refresh', 'four-octet-as']);
    expect(o).toMatchObject({ version: 4, myAs: 65001, holdTime: 90, bgpId: 0x0a000001 });
  });

  it('puts AS_TRANS in My AS for a 4-octet AS and the real AS in the capability', () => {
    const o = roundTrip(buildOpen({ asn: 4200000001, routerId: 1, holdTime: 90, families: both }));
    expect(o.myAs).toBe(23456);
    expect(openSummary(o).asn).toBe(4200000001);
  });

  it('adds graceful restart, ADD-PATH and extended message only when configured', () => {
    const o = roundTrip(
      buildOpen({
        asn: 65001,
        routerId: 1,
        holdTime: 90,
        families: { ipv4: true, ipv6: false },
        gracefulRestart: { restartTime: 120 },
        addPath: { send: true, receive: true },
        extendedMessage: true,
      }),
    );
    const kinds = o.capabilities.map((c) => c.kind);
    expect(kinds).toEqual(['multiprotocol', 'route-refresh', 'enhanced-route-refresh', 'four-octet-as', 'graceful-restart', 'add-path', 'extended-message']);
    expect(o.capabilities.find((c) => c.kind === 'graceful-restart')).toMatchObject({ time: 120, families: [{ afi: 1, safi: 1 }] });
    expect(o.capabilities.find((c) => c.kind === 'add-path')).toMatchObject({ families: [{ afi: 1, safi: 1, send: true, receive: true }] });
  });
});

describe('negotiate', () => {
  it('keeps what both sides advertised', () => {
    const ours = buildOpen({ asn: 65001, routerId: 1, holdTime: 90, families: both, extendedMessage: true });
    const theirs = buildOpen({ asn: 65002, routerId: 2, holdTime: 30, families: { ipv4: true, ipv6: false } });
    const n = negotiate(ours, theirs, true);
    expect(n.families).toEqual({ ipv4: true, ipv6: false });
    expect(n.capabilities).toMatchObject({ families: ['ipv4'], fourOctetAs: true, routeRefresh: true, gracefulRestart: false, extendedMessage: false });
    expect(n.ctx).toMatchObject({ fourOctetAs: true, ebgp: true });
    expect(n.ctx.extendedMessage).toEqual({ send: false, receive: true });
  });

  it('treats a peer without capabilities as IPv4-only with 2-octet AS numbers', () => {
    const ours = buildOpen({ asn: 65001, routerId: 1, holdTime: 90, families: both });
    const old: OpenMessage = { type: 'open', version: 4, myAs: 65002, holdTime: 90, bgpId: 2, capabilities: [] };
    const n = negotiate(ours, old, true);
    expect(n.families).toEqual({ ipv4: true, ipv6: false });
    expect(n.ctx.fourOctetAs).toBe(false);
    expect(n.capabilities.routeRefresh).toBe(false);
  });
});
