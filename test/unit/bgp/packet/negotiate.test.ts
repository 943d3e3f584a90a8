// From the two OPENs to the codec context.
import { describe, expect, it } from 'vitest';
import { commonFamilies, myAsField, negotiateContext, speakerAs, type Capability, type OpenMessage } from '../../../../bgp/packet/index.js';

function open(as: number, caps: Capability[]): OpenMessage {
  return { type: 'open', version: 4, myAs: myAsField(as), holdTime: 90, bgpId: 1, capabilities: caps };
}

describe('negotiateContext', () => {
  it('4-octet AS only when both sides advertise it; the real AS comes from the capability', () => {
    const a = open(4200000001, [{ kind: 'four-octet-as', as: 4200000001 }]);
    const b = open(65000, [{ kind: 'four-octet-as', as: 65000 }]);
    expect(a.myAs).toBe(23456);
    expect(speakerAs(a)).toBe(4200000001);
    expect(negotiateContext(a, b).fourOctetAs).toBe(true);
    expect(negotiateContext(a, open(65000, [])).fourOctetAs).toBe(false);
    expect(negotiateContext(a, b).ebgp).toBe(true);
    expect(negotiateContext(b, open(65000, [])).ebgp).toBe(false);
  });

  it('ADD-PATH per family and direction: we receive when we asked to and the peer sends', () => {
    const local = open(65000, [{ kind: 'add-path', families: [{ afi: 1, safi: 1, send: true, receive: true }, { afi: 2, safi: 1, send: false, receive: true }] }]);
    const remote = open(65000, [{ kind: 'add-path', families: [{ afi: 1, safi: 1, send: false, receive: true }, { afi: 2, safi: 1, send: true, receive: true }] }]);
    expect(negotiateContext(local, remote).addPath).toEqual({ ipv4: { send: true, receive: false }, ipv6: { send: false, receive: true } });
  });

  it('Extended Message: receive large if we advertised, send large only if both sides did (RFC 8654)', () => {
    const em: Capability = { kind: 'extended-message' };
    expect(negotiateContext(open(1, [em]), open(2, [])).extendedMessage).toEqual({ send: false, receive: true });
    // Only the peer advertised it: we still send at most 4096 octets (FRR resets the session otherwise).
    expect(negotiateContext(open(1, []), open(2, [em])).extendedMessage).toEqual({ send: false, receive: false });
    expect(negotiateContext(open(1, [em]), open(2, [em])).extendedMessage).toEqual({ send: true, receive: true });
  });

  it('extended next hop when the peer accepts IPv4 unicast with IPv6 next hops', () => {
    const enh: Capability = { kind: 'extended-next-hop', entries: [{ afi: 1, safi: 1, nextHopAfi: 2 }] };
    expect(negotiateContext(open(1, []), open(1, [enh])).extendedNextHop).toBe(true);
    expect(negotiateContext(open(1, [enh]), open(1, [])).extendedNextHop).toBe(false);
  });

  it('families: no Multiprotocol capability means IPv4 unicast only', () => {
    const v6: Capability = { kind: 'multiprotocol', afi: 2, safi: 1 };
    const v4: Capability = { kind: 'multiprotocol', afi: 1, safi: 1 };
    expect(commonFamilies(open(1, []), open(1, []))).toEqual({ ipv4: true, ipv6: false });
    expect(commonFamilies(open(1, [v4, v6]), open(1, [v6]))).toEqual({ ipv4: false, ipv6: true });
  });
});
