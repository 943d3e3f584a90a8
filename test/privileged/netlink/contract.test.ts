// The netlink contract against the real kernel, in throwaway namespaces.
import { describe } from 'vitest';
import { monitor, openNetlink } from '../../../src/netlink/index.js';
import { missing, uniquePrefix } from '../../support/env.js';
import { netlinkContract } from '../../support/netlink-contract.js';
import { NetnsPool } from '../../support/netns.js';

const reason = missing({ root: true, tools: ['ip'] });

describe.skipIf(reason)('kernel', () => {
  netlinkContract('kernel', () => {
    const pool = new NetnsPool(uniquePrefix('nl'));
    return {
      newNetns: async (tag) => ({ name: pool.create(tag) }),
      open: (ref) => openNetlink(ref),
      monitor: (ref, groups, onEvent) => monitor(ref, groups, onEvent),
      missingNetns: () => ({ name: `${pool.prefix}-missing` }),
      byPath: (ref) => ('name' in ref ? { path: `/run/netns/${ref.name}` } : ref),
      cleanup: async () => pool.cleanup(),
    };
  });
});
