// followSpeaker (bgp/kernel/follow.ts): best-path changes reach kernel sync as learned routes
// only, and the kernel is reconciled (markInSync) once every neighbour is back — a graceful-
// restart neighbour only after its End-of-RIB. A scripted speaker stands in for BgpSpeaker here;
// the daemon's interop tests and the worker's privileged test run the real pair.
import { describe, expect, it } from 'vitest';
import { followSpeaker, gracefulRestartEnabled, kernelReconcileMs, type FollowedSpeaker } from '../../../../bgp/kernel/follow.js';
import type { KernelRouteChange } from '../../../../bgp/kernel/types.js';
import type { BestChange, PeerStatus, SpeakerConfig, SpeakerEvent } from '../../../../bgp/server/types.js';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function scripted(peers: Partial<PeerStatus>[]) {
  let best: ((c: BestChange[]) => void) | undefined;
  let ev: ((e: SpeakerEvent) => void) | undefined;
  const speaker: FollowedSpeaker = {
    onBestChanged: (fn) => ((best = fn), () => (best = undefined)),
    subscribe: (fn) => ((ev = fn), () => (ev = undefined)),
    listPeers: () => peers as PeerStatus[],
    idle: () => Promise.resolve(),
  };
  return { speaker, peers, best: (c: BestChange[]) => best?.(c), event: (e: SpeakerEvent) => ev?.(e), subscribed: () => best !== undefined || ev !== undefined };
}

function sink() {
  const s = { changes: [] as KernelRouteChange[], inSync: 0 };
  return { s, sink: { setRoutes: (c: readonly KernelRouteChange[]) => void s.changes.push(...c), markInSync: () => void s.inSync++ } };
}

const change = (prefix: string, peer: string | undefined, nextHop: string | undefined): BestChange => ({
  prefix,
  family: 4,
  reachable: nextHop !== undefined,
  nextHop,
  nextHops: nextHop ? [{ address: nextHop, peer }] : [],
  peer,
  route: () => undefined,
});

const cfg = (gr: boolean): SpeakerConfig => ({
  routerId: '192.0.2.1',
  asn: 65000,
  neighbors: [{ address: '192.0.2.2', asn: 65001 }, { address: '192.0.2.3', asn: 65001 }],
  ...(gr ? { gracefulRestart: { enabled: true, restartTime: 30 } } : {}),
});

describe('followSpeaker', () => {
  it('installs learned best paths, withdraws lost ones, never installs our own originated routes', () => {
    const sp = scripted([]);
    const { s, sink: k } = sink();
    followSpeaker(sp.speaker, k, cfg(false), silent);
    sp.best([change('10.0.0.0/24', '192.0.2.2', '192.0.2.2'), change('10.9.0.0/24', undefined, 'self'), change('10.1.0.0/24', undefined, undefined)]);
    expect(s.changes).toEqual([
      { prefix: '10.0.0.0/24', nextHops: [{ gateway: '192.0.2.2' }] },
      { prefix: '10.9.0.0/24', nextHops: null },
      { prefix: '10.1.0.0/24', nextHops: null },
    ]);
  });

  it('reconciles once every neighbour has been Established; a graceful-restart neighbour also needs its End-of-RIB', async () => {
    const sp = scripted([
      { address: '192.0.2.2', establishedCount: 1, capabilities: { gracefulRestart: true } as PeerStatus['capabilities'], endOfRibReceived: false },
      { address: '192.0.2.3', establishedCount: 0 },
    ]);
    const { s, sink: k } = sink();
    const f = followSpeaker(sp.speaker, k, cfg(true), silent);
    f.check();
    sp.peers[1]!.establishedCount = 1;
    sp.event({ type: 'peer-state', peer: '192.0.2.3', from: 'OpenConfirm', to: 'Established' });
    await Promise.resolve();
    expect(s.inSync).toBe(0);
    sp.peers[0]!.endOfRibReceived = true;
    sp.event({ type: 'end-of-rib', peer: '192.0.2.2', family: 'ipv4' });
    sp.event({ type: 'end-of-rib', peer: '192.0.2.2', family: 'ipv6' });
    await new Promise((r) => setImmediate(r));
    expect(s.inSync).toBe(1);
    f.close();
    expect(sp.subscribed()).toBe(false);
  });

  it('without graceful restart, Established once is enough; the reconcile delay is the default', async () => {
    const sp = scripted([{ address: '192.0.2.2', establishedCount: 1 }]);
    const { s, sink: k } = sink();
    followSpeaker(sp.speaker, k, cfg(false), silent).check();
    await new Promise((r) => setImmediate(r));
    expect(s.inSync).toBe(1);
    expect(gracefulRestartEnabled(cfg(false))).toBe(false);
    expect(kernelReconcileMs(cfg(false))).toBe(120_000);
    expect(kernelReconcileMs(cfg(true))).toBe(30_000);
  });
});
