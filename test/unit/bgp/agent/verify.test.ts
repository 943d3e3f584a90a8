// diffBgp: sessions the configuration asks for vs the speaker's, learned best paths vs the kernel's
// routes of the BGP protocol (pure; the inputs are what twill-node hands it).
import { describe, expect, it } from 'vitest';
import { diffBgp, type BgpVerifyInput } from '../../../../bgp/agent/index.js';
import type { PeerState, PeerStatus, RouteView } from '../../../../bgp/server/types.js';
import { RTPROT_TWILL_BGP, type Route } from '../../../../src/netlink/index.js';

const counters = { open: 0, update: 0, notification: 0, keepalive: 0, routeRefresh: 0 };
const peer = (address: string, state: PeerState, lastError?: string): PeerStatus =>
  ({
    address,
    asn: 64512,
    type: 'ibgp',
    state,
    since: new Date(0),
    receivedPrefixes: 0,
    acceptedPrefixes: 0,
    advertisedPrefixes: 0,
    establishedCount: 0,
    flaps: 0,
    ...(lastError ? { lastError } : {}),
    messages: { sent: counters, received: counters },
  }) as PeerStatus;
const learned = (prefix: string, nextHop: string, peerAddr: string | undefined, best = true): RouteView => ({
  prefix,
  family: 4,
  nextHop,
  asPath: [],
  asPathText: '',
  origin: 'igp',
  best,
  ...(peerAddr !== undefined ? { peer: peerAddr } : {}),
});
const kroute = (dst: string, gateway: string): Route => ({ family: 4, dst, gateway, protocol: RTPROT_TWILL_BGP });
const brief = (i: BgpVerifyInput): string[] => diffBgp(i).differences.map((d) => `${d.kind} ${d.object}: ${d.expected} → ${d.actual}`);

describe('diffBgp', () => {
  const healthy: BgpVerifyInput = {
    neighbors: [{ address: '198.18.0.11', asn: 64512 }, { address: '198.18.0.12', asn: 64512 }],
    peers: [peer('198.18.0.11', 'Established'), peer('198.18.0.12', 'Established')],
    learned: [learned('10.65.1.0/26', '198.18.0.11', '198.18.0.11'), learned('10.65.1.0/26', '198.18.0.12', '198.18.0.12', false), learned('10.65.0.0/26', 'self', undefined)],
    kernel: [kroute('10.65.1.0/26', '198.18.0.11')],
    typeOf: () => 'node-to-node mesh',
  };

  it('nothing to report when every session is Established and every learned best path is in the kernel', () => {
    expect(diffBgp(healthy)).toEqual({ differences: [], checked: { bgpSessions: 2, bgpRoutes: 1 } });
  });

  it('a session not Established, one the speaker lacks, one nobody asked for', () => {
    expect(
      brief({ ...healthy, peers: [peer('198.18.0.11', 'Active', 'connection refused'), peer('198.18.0.99', 'Idle')] }),
    ).toEqual([
      'bgp-session peer 198.18.0.11 (node-to-node mesh): Established → Active: connection refused',
      'bgp-session peer 198.18.0.12 (node-to-node mesh): Established → absent (the speaker has no such neighbour)',
      'bgp-session peer 198.18.0.99 (node-to-node mesh): absent (not in the configuration) → Idle',
    ]);
  });

  it('a learned route missing from the kernel, one with another gateway, one in the kernel nobody learned', () => {
    expect(brief({ ...healthy, kernel: [] })).toEqual(['bgp-route 10.65.1.0/26: via 198.18.0.11 (learned from 198.18.0.11) → absent']);
    expect(brief({ ...healthy, kernel: [kroute('10.65.1.0/26', '198.18.0.12'), kroute('10.65.9.0/26', '198.18.0.12')] })).toEqual([
      'bgp-route 10.65.1.0/26: via 198.18.0.11 (learned from 198.18.0.11) → via 198.18.0.12',
      'bgp-route 10.65.9.0/26: absent (no best path learned from a peer) → via 198.18.0.12',
    ]);
  });

  it('an ECMP route holds the best path among its next hops', () => {
    const k: Route = { family: 4, dst: '10.65.1.0/26', protocol: RTPROT_TWILL_BGP, multipath: [{ gateway: '198.18.0.12' }, { gateway: '198.18.0.11' }] };
    expect(brief({ ...healthy, kernel: [k] })).toEqual([]);
  });

  it('a next hop in another rack counts as in place when the kernel route goes via the router it resolves through', () => {
    const rack: BgpVerifyInput = {
      ...healthy,
      learned: [learned('10.65.1.0/26', '198.18.2.11', '198.18.2.11')],
      kernel: [kroute('10.65.1.0/26', '198.18.1.1')],
      // Connected 198.18.1.0/24, default via the rack's router; our own routes never resolve.
      underlay: [
        { family: 4, dst: '198.18.1.0/24', ifindex: 2, protocol: 2, scope: 'link' },
        { family: 4, dst: '0.0.0.0/0', gateway: '198.18.1.1', ifindex: 2, protocol: 4 },
        { family: 4, dst: '198.18.2.0/24', gateway: '198.18.1.9', ifindex: 2, protocol: RTPROT_TWILL_BGP },
        kroute('10.65.1.0/26', '198.18.1.1'),
      ],
    };
    expect(brief(rack).filter((d) => d.startsWith('bgp-route'))).toEqual([]);
    expect(brief({ ...rack, kernel: [kroute('10.65.1.0/26', '198.18.2.11')] }).filter((d) => d.startsWith('bgp-route'))).toEqual([
      'bgp-route 10.65.1.0/26: via 198.18.2.11 (learned from 198.18.2.11; resolved via 198.18.1.1) → via 198.18.2.11',
    ]);
    // No route to the next hop: the route is (rightly) absent, and the report says why.
    expect(brief({ ...rack, kernel: [], underlay: rack.underlay!.slice(0, 1) }).filter((d) => d.startsWith('bgp-route'))).toEqual([
      'bgp-route 10.65.1.0/26: via 198.18.2.11 (learned from 198.18.2.11) → absent: next hop 198.18.2.11 is not reachable: no route to it',
    ]);
  });
});
