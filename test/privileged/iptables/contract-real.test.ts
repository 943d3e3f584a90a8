// The shared iptables/ipset contract against the real kernel, in a fresh network namespace per
// test, for both backends.
import { ipset, iptables } from '../../../src/iptables/index.js';
import { missing } from '../../support/env.js';
import { addNetns, delNetns } from '../../support/iptables-netns.js';
import { iptablesContract } from '../../support/iptables-contract.js';

const skip = missing({
  root: true,
  tools: ['ip', 'nsenter', 'ipset', 'iptables-nft-restore', 'ip6tables-nft-restore', 'iptables-legacy-restore', 'ip6tables-legacy-restore'],
});

for (const backend of ['nft', 'legacy'] as const) {
  iptablesContract(
    'real kernel',
    backend,
    async () => {
      const netns = addNetns('it');
      return {
        iptables: (family) => iptables({ family, backend, netns }),
        ipset: () => ipset({ netns }),
        cleanup: async () => delNetns(netns),
      };
    },
    skip,
  );
}
