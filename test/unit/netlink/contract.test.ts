// The netlink contract against the in-memory fake.
import { FakeKernel } from '../../../src/netlink/fake/index.js';
import { netlinkContract } from '../../support/netlink-contract.js';

netlinkContract('fake', () => {
  const k = new FakeKernel();
  return {
    newNetns: async (tag) => {
      k.addNetns(tag);
      return { name: tag };
    },
    open: (ref) => k.open(ref),
    monitor: (ref, groups, onEvent) => k.monitor(ref, groups, onEvent),
    missingNetns: () => ({ name: 'no-such-netns' }),
    byPath: (ref) => ('name' in ref ? { path: `/run/netns/${ref.name}` } : ref),
    cleanup: async () => {
      for (const n of k.netnsNames()) k.deleteNetns(n);
    },
  };
});
