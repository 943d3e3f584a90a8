// The shared iptables/ipset contract against the in-memory fake, for both backends.
import { createFakeNetfilter } from '../../../src/iptables/fake/index.js';
import { iptablesContract } from '../../support/iptables-contract.js';

for (const backend of ['nft', 'legacy'] as const) {
  iptablesContract('fake', backend, async () => {
    const nf = createFakeNetfilter();
    return {
      iptables: (family) => nf.iptables({ family, backend }),
      ipset: () => nf.ipset(),
      cleanup: async () => {},
    };
  });
}
