// Backend detection against the real kernel, in fresh namespaces.
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { detectBackend, iptables, NetfilterCommandError } from '../../../src/iptables/index.js';
import { missing } from '../../support/env.js';
import { addNetns, delNetns, inNetns } from '../../support/iptables-netns.js';

const skip = missing({
  root: true,
  tools: ['ip', 'nsenter', 'iptables', 'iptables-nft-save', 'iptables-legacy-save', 'ip6tables-nft-save', 'ip6tables-legacy-save'],
});

function systemDefault(): 'nft' | 'legacy' {
  return inNetns(addTemp(), ['iptables', '--version']).includes('nf_tables') ? 'nft' : 'legacy';
}

const made: string[] = [];
function addTemp(): string {
  const n = addNetns('id');
  made.push(n);
  return n;
}

describe.skipIf(skip !== undefined)('detectBackend (real kernel)', () => {
  afterEach(() => {
    for (const n of made.splice(0)) delNetns(n);
  });

  it('an empty namespace gets the system default, and detection creates no legacy table', async () => {
    const netns = addTemp();
    const choice = await detectBackend({ netns });
    expect(choice.backend).toBe(systemDefault());
    expect(choice.reason).toContain('nft has 0 rules, legacy has 0');
    expect(inNetns(netns, ['cat', '/proc/net/ip_tables_names']).trim()).toBe('');
  });

  it('picks legacy when the legacy backend holds the rules', async () => {
    const netns = addTemp();
    await iptables({ family: 4, backend: 'legacy', netns }).restore('*filter\n:tw-x - [0:0]\n-A INPUT -j tw-x\n-A tw-x -j ACCEPT\nCOMMIT\n');
    const choice = await detectBackend({ netns });
    expect(choice).toMatchObject({ backend: 'legacy', reason: 'nft has 0 rules, legacy has 2' });
  });

  it('counts IPv6 rules too', async () => {
    const netns = addTemp();
    await iptables({ family: 6, backend: 'legacy', netns }).restore('*filter\n-A INPUT -j ACCEPT\nCOMMIT\n');
    expect((await detectBackend({ netns })).backend).toBe('legacy');
  });

  it('picks nft when nft holds more rules than legacy', async () => {
    const netns = addTemp();
    await iptables({ family: 4, backend: 'legacy', netns }).restore('*filter\n-A INPUT -j ACCEPT\nCOMMIT\n');
    await iptables({ family: 4, backend: 'nft', netns }).restore('*filter\n-A INPUT -j ACCEPT\n-A OUTPUT -j ACCEPT\nCOMMIT\n');
    expect((await detectBackend({ netns })).backend).toBe('nft');
  });

  it("follows kubelet's KUBE-IPTABLES-HINT chain over a rule count", async () => {
    const netns = addTemp();
    await iptables({ family: 4, backend: 'legacy', netns }).restore('*mangle\n:KUBE-IPTABLES-HINT - [0:0]\nCOMMIT\n');
    await iptables({ family: 4, backend: 'nft', netns }).restore('*filter\n-A INPUT -j ACCEPT\n-A OUTPUT -j ACCEPT\nCOMMIT\n');
    const choice = await detectBackend({ netns });
    expect(choice.backend).toBe('legacy');
    expect(choice.reason).toContain('KUBE-IPTABLES-HINT');
  });

  it('an explicit override wins without looking', async () => {
    const netns = addTemp();
    await iptables({ family: 4, backend: 'legacy', netns }).restore('*filter\n-A INPUT -j ACCEPT\nCOMMIT\n');
    expect(await detectBackend({ netns, override: 'NFT' })).toEqual({ backend: 'nft', reason: 'configured: NFT' });
    expect((await detectBackend({ netns, override: 'Auto' })).backend).toBe('legacy');
  });

  it('accepts a namespace file path, and a missing namespace is a clear error', async () => {
    const netns = addTemp();
    expect((await detectBackend({ netns: `/run/netns/${netns}` })).backend).toBe(systemDefault());
    const err = await detectBackend({ netns: 'tw-no-such-netns' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetfilterCommandError);
    expect((err as NetfilterCommandError).message).toContain('tw-no-such-netns');
  });

  it('reads the host namespace without changing it', async () => {
    const names = (): string | undefined =>
      existsSync('/proc/net/ip_tables_names') ? readFileSync('/proc/net/ip_tables_names', 'utf8') : undefined;
    const before = names();
    const choice = await detectBackend();
    expect(['nft', 'legacy']).toContain(choice.backend);
    expect(names()).toBe(before);
  });
});
