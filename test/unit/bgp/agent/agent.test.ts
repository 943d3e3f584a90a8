// The datastore-driven loop over a recording speaker: it waits for in-sync, coalesces a burst
// into one config, hands over only changes, and keeps the last good config when the speaker says no.
import { describe, expect, it } from 'vitest';
import { BgpAgent, type SpeakerHandle } from '../../../../bgp/agent/index.js';
import type { SpeakerConfig } from '../../../../bgp/server/types.js';
import { bgpPeer, node, sets } from './builders.js';

function recorder(fail = false): SpeakerHandle & { configs: SpeakerConfig[] } {
  const configs: SpeakerConfig[] = [];
  return {
    configs,
    setConfig: async (c) => {
      if (fail) throw new Error('speaker says no');
      configs.push(c);
    },
    peers: async () => [],
  };
}

const quiet = { info() {}, warn() {}, error() {} };

describe('BgpAgent (datastore → speaker)', () => {
  it('waits for in-sync, coalesces a burst, and applies only real changes', async () => {
    const sp = recorder();
    const a = new BgpAgent({ nodeName: 'n1', speaker: sp, log: quiet, coalesceMs: 5 });
    a.callbacks.onUpdates(sets([node('n1', '198.18.0.1/24'), node('n2', '198.18.0.2/24')]));
    await new Promise((r) => setTimeout(r, 20));
    expect(sp.configs).toHaveLength(0);
    a.callbacks.onInSync();
    a.callbacks.onUpdates(sets([node('n3', '198.18.0.3/24')]));
    await a.settled();
    expect(sp.configs).toHaveLength(1);
    expect(sp.configs[0]!.neighbors.map((n) => n.address)).toEqual(['198.18.0.2', '198.18.0.3']);
    expect(a.peerType('198.18.0.2')?.type).toBe('node-to-node mesh');
    // The same objects again: nothing new for the speaker.
    a.callbacks.onUpdates(sets([node('n3', '198.18.0.3/24')]));
    await a.settled();
    expect(sp.configs).toHaveLength(1);
    a.callbacks.onUpdates(sets([bgpPeer('tor', { peerIP: '198.18.0.254', asNumber: 65001 })]));
    await a.settled();
    expect(sp.configs).toHaveLength(2);
    expect(a.peerType('198.18.0.254')).toMatchObject({ type: 'global', resource: 'BGPPeer tor' });
    a.stop();
  });

  it('without a BGP address there is no speaker, and the status says why', async () => {
    const sp = recorder();
    const a = new BgpAgent({ nodeName: 'n1', speaker: sp, log: quiet, coalesceMs: 1 });
    a.callbacks.onUpdates(sets([node('n1')]));
    a.callbacks.onInSync();
    await a.settled();
    expect(sp.configs).toHaveLength(0);
    expect(a.status().running).toBe(false);
    expect(a.status().problems.join('\n')).toMatch(/n1/);
  });

  it('a config the speaker rejects is reported, not retried in a loop', async () => {
    const sp = recorder(true);
    const a = new BgpAgent({ nodeName: 'n1', speaker: sp, log: quiet, coalesceMs: 1 });
    a.callbacks.onUpdates(sets([node('n1', '198.18.0.1/24')]));
    a.callbacks.onInSync();
    await a.settled();
    expect(a.status()).toMatchObject({ running: false, lastError: 'speaker says no' });
  });
});
