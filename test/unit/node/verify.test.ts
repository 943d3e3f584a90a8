// verifyNode: felix's differences and the BGP ones in one report, with a note for each thing it
// could not check (fakes for felix, the speaker and the kernel; the real thing is in
// test/privileged/node/verify.test.ts).
import { describe, expect, it } from 'vitest';
import type { KernelDiff } from '../../../felix/dataplane/index.js';
import type { PeerStatus, RouteView } from '../../../bgp/server/types.js';
import { FakeKernel } from '../../../src/netlink/fake/index.js';
import { RTPROT_TWILL_BGP } from '../../../src/netlink/index.js';
import { verifyNode, type VerifySources } from '../../../src/node/verify.js';

const felix: KernelDiff = {
  differences: [{ kind: 'sysctl', object: 'net/ipv4/conf/twa/proxy_arp', expected: '1', actual: '0' }],
  checked: { routes: 1, chains: 2, ipsets: 0, ipsetMembers: 0, interfaces: 1, sysctls: 5 },
};

async function sources(over: Partial<VerifySources> = {}): Promise<VerifySources> {
  const nl = await new FakeKernel().open();
  return { nodeName: 'h1', policy: { inSync: () => true, verifyKernel: async () => felix }, netlink: nl, ...over };
}

describe('verifyNode', () => {
  it('without BGP: felix\'s differences and a note that BGP was not checked', async () => {
    const r = await verifyNode(await sources());
    expect(r).toEqual({
      nodeName: 'h1',
      inSync: true,
      differences: felix.differences,
      checked: { ...felix.checked, bgpSessions: 0, bgpRoutes: 0 },
      notes: ['BGP: not checked (twill-node runs with --no-bgp)'],
    });
  });

  it('not in sync yet, speaker without configuration: both said in notes', async () => {
    const r = await verifyNode(
      await sources({
        policy: { inSync: () => false, verifyKernel: async () => felix },
        bgp: { neighbors: () => undefined, peers: async () => [], routes: async () => [], typeOf: () => undefined },
      }),
    );
    expect(r.inSync).toBe(false);
    expect(r.notes).toEqual([
      'the agent is not in sync with the datastore yet: its desired state is incomplete, so differences are expected',
      'BGP: not checked (the speaker has no configuration: no Node resource or no BGP address for this node)',
    ]);
  });

  it('with BGP: a session down and a learned route missing from the kernel join felix\'s differences', async () => {
    const s = await sources();
    // A route of the BGP protocol nobody learned (someone added it by hand).
    await s.netlink.routeAdd({ family: 4, dst: '10.65.2.0/26', type: 'blackhole', protocol: RTPROT_TWILL_BGP });
    const learned = (prefix: string): RouteView => ({ prefix, family: 4, nextHop: '198.18.0.12', asPath: [], asPathText: '', origin: 'igp', best: true, peer: '198.18.0.12' });
    const r = await verifyNode({
      ...s,
      bgp: {
        neighbors: () => [{ address: '198.18.0.12', asn: 64512 }],
        peers: async () => [{ address: '198.18.0.12', state: 'Active', lastError: 'connection refused' } as PeerStatus],
        routes: async () => [learned('10.65.1.0/26')],
        typeOf: () => 'node-to-node mesh',
      },
    });
    expect(r.differences.map((d) => `${d.kind} ${d.object}: ${d.expected} → ${d.actual}`)).toEqual([
      'sysctl net/ipv4/conf/twa/proxy_arp: 1 → 0',
      'bgp-session peer 198.18.0.12 (node-to-node mesh): Established → Active: connection refused',
      // The fake namespace has no route to the next hop either: the report says so.
      'bgp-route 10.65.1.0/26: via 198.18.0.12 (learned from 198.18.0.12) → absent: next hop 198.18.0.12 is not reachable: no route to it',
      'bgp-route 10.65.2.0/26: absent (no best path learned from a peer) → blackhole',
    ]);
    expect(r.checked).toMatchObject({ bgpSessions: 1, bgpRoutes: 1 });
    expect(r.notes).toEqual([]);
  });

  it('a speaker that does not answer: felix is still reported, BGP gets a note', async () => {
    const r = await verifyNode(
      await sources({
        bgp: {
          neighbors: () => [],
          peers: async () => {
            throw new Error('worker exited');
          },
          routes: async () => [],
          typeOf: () => undefined,
        },
      }),
    );
    expect(r.differences).toEqual(felix.differences);
    expect(r.notes).toEqual(['BGP: not checked (the speaker did not answer: worker exited)']);
  });
});
