import { describe, expect, it } from 'vitest';
import {
  chooseBackend,
  evidenceFromSaves,
  normalizeOverride,
  parseVersionBackend,
  restoreCommand,
  saveCommand,
  type BackendEvidence,
} from '../../../src/iptables/detect.js';
import { IptablesUsageError } from '../../../src/iptables/errors.js';

function ev(backend: 'nft' | 'legacy', rules: number, kubeHint = false, available = true): BackendEvidence {
  return { backend, rules, kubeHint, available };
}

const LEGACY_KUBE = `*mangle
:PREROUTING ACCEPT [0:0]
:KUBE-IPTABLES-HINT - [0:0]
COMMIT
*filter
:INPUT ACCEPT [0:0]
-A INPUT -j ACCEPT
COMMIT
`;

describe('evidenceFromSaves', () => {
  it('counts rules over both families and spots kubelet hint chains', () => {
    expect(evidenceFromSaves('legacy', [LEGACY_KUBE, '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j DROP\n-A INPUT -j DROP\nCOMMIT\n'])).toEqual({
      backend: 'legacy',
      available: true,
      rules: 3,
      kubeHint: true,
    });
  });
  it('a backend whose tools did not run is unavailable', () => {
    expect(evidenceFromSaves('nft', [undefined, undefined])).toEqual({ backend: 'nft', available: false, rules: 0, kubeHint: false });
    expect(evidenceFromSaves('nft', ['', undefined]).available).toBe(true);
  });
});

describe('chooseBackend', () => {
  it('follows kubelet\'s hint chain even when the other backend has more rules', () => {
    const c = chooseBackend([ev('nft', 50), ev('legacy', 2, true)], 'nft');
    expect(c.backend).toBe('legacy');
    expect(c.reason).toContain('KUBE-IPTABLES-HINT');
  });
  it('otherwise picks the backend with more rules', () => {
    expect(chooseBackend([ev('nft', 0), ev('legacy', 7)], 'nft')).toMatchObject({ backend: 'legacy', reason: 'nft has 0 rules, legacy has 7' });
    expect(chooseBackend([ev('nft', 9), ev('legacy', 7)], 'legacy').backend).toBe('nft');
  });
  it('hints in both backends fall through to the rule count', () => {
    expect(chooseBackend([ev('nft', 1, true), ev('legacy', 4, true)], 'nft').backend).toBe('legacy');
  });
  it('a tie goes to the system default, then to nft', () => {
    expect(chooseBackend([ev('nft', 0), ev('legacy', 0)], 'legacy')).toMatchObject({ backend: 'legacy', reason: expect.stringContaining("system's iptables is legacy") });
    expect(chooseBackend([ev('nft', 3), ev('legacy', 3)], 'nft').backend).toBe('nft');
    expect(chooseBackend([ev('nft', 0), ev('legacy', 0)], undefined)).toMatchObject({ backend: 'nft', reason: expect.stringContaining('nft is the default') });
  });
  it('uses the only backend whose tools are installed', () => {
    expect(chooseBackend([ev('nft', 0, false, false), ev('legacy', 0)], 'nft')).toMatchObject({ backend: 'legacy', reason: 'only the legacy tools are installed' });
  });
});

describe('helpers', () => {
  it('reads the system default from iptables --version', () => {
    expect(parseVersionBackend('iptables v1.8.9 (nf_tables)\n')).toBe('nft');
    expect(parseVersionBackend('iptables v1.8.7 (legacy)\n')).toBe('legacy');
    expect(parseVersionBackend('iptables v1.6.1\n')).toBeUndefined();
  });
  it('accepts Auto / NFT / Legacy in any case and refuses anything else', () => {
    expect(normalizeOverride(undefined)).toBe('Auto');
    expect(normalizeOverride('nft')).toBe('NFT');
    expect(normalizeOverride('LEGACY')).toBe('Legacy');
    expect(() => normalizeOverride('iptables')).toThrow(IptablesUsageError);
  });
  it('names the per-backend tools', () => {
    expect(saveCommand(4, 'nft')).toBe('iptables-nft-save');
    expect(saveCommand(6, 'legacy')).toBe('ip6tables-legacy-save');
    expect(restoreCommand(6, 'nft')).toBe('ip6tables-nft-restore');
  });
});
