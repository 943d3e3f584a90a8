// What only the real adapter does: namespaces, the xtables lock, argument checks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IptablesUsageError,
  NetfilterCommandError,
  ipset,
  iptables,
  type IptablesBackend,
} from '../../../src/iptables/index.js';
import { missing } from '../../support/env.js';
import { addNetns, delNetns, inNetns } from '../../support/iptables-netns.js';

const skip = missing({ root: true, tools: ['ip', 'nsenter', 'ipset', 'iptables-nft-restore', 'iptables-legacy-restore'] });

describe.skipIf(skip !== undefined)('real iptables adapter', () => {
  let netns: string;
  beforeAll(() => {
    netns = addNetns('ir');
  });
  afterAll(() => delNetns(netns));

  it('writes into the named namespace only', async () => {
    await iptables({ family: 4, backend: 'nft', netns }).restore('*filter\n:tw-only-here - [0:0]\nCOMMIT'); // no final newline
    expect(inNetns(netns, ['iptables-nft-save', '-t', 'filter'])).toContain(':tw-only-here - [0:0]');
    const other = addNetns('ir');
    try {
      expect(inNetns(other, ['iptables-nft-save', '-t', 'filter'])).not.toContain('tw-only-here');
    } finally {
      delNetns(other);
    }
  });

  it('a missing namespace is a NetfilterCommandError, not a restore error', async () => {
    const ipt = iptables({ family: 4, backend: 'nft', netns: 'tw-no-such-ns' });
    const e = await ipt.restore('*filter\nCOMMIT\n').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NetfilterCommandError);
    expect((e as NetfilterCommandError).hint).toContain('/run/netns/tw-no-such-ns');
    await expect(ipset({ netns: 'tw-no-such-ns' }).listNames()).rejects.toBeInstanceOf(NetfilterCommandError);
  });

  it('refuses an unknown table or backend before running anything', async () => {
    await expect(iptables({ family: 4, backend: 'nft', netns }).save('bogus')).rejects.toBeInstanceOf(IptablesUsageError);
    expect(() => iptables({ family: 4, backend: 'iptables' as IptablesBackend, netns })).toThrow(IptablesUsageError);
  });

  for (const backend of ['legacy', 'nft'] as const) {
    it(`concurrent restores (${backend}) all land: --wait takes the xtables lock in turn`, async () => {
      const ipt = iptables({ family: 4, backend, netns });
      await Promise.all(
        Array.from({ length: 6 }, (_, i) => ipt.restore(`*filter\n:tw-par-${i} - [0:0]\n-A tw-par-${i} -j ACCEPT\nCOMMIT\n`)),
      );
      const t = await ipt.save('filter');
      for (let i = 0; i < 6; i++) expect(t.chains.get(`tw-par-${i}`)?.rules.map((r) => r.spec)).toEqual(['-j ACCEPT']);
    });
  }
});
