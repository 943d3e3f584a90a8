import { describe, expect, test } from 'vitest';
import { KINDS, resolveAnyKind, resolveKind, UnknownKindError } from '../../../src/api/kinds.js';
import { INTERNAL_KINDS, NAMESPACED_KINDS, PUBLIC_KINDS } from '../../../src/api/types.js';
import { closest, editDistance } from '../../../src/api/suggest.js';
import { TwillError } from '../../../src/errors.js';

describe('resolveKind', () => {
  test.each([
    ['node', 'Node'], ['nodes', 'Node'], ['no', 'Node'],
    ['workloadendpoint', 'WorkloadEndpoint'], ['wep', 'WorkloadEndpoint'], ['weps', 'WorkloadEndpoint'],
    ['hostendpoint', 'HostEndpoint'], ['hep', 'HostEndpoint'],
    ['ippool', 'IPPool'], ['ippools', 'IPPool'], ['ipp', 'IPPool'], ['IPPool', 'IPPool'],
    ['profile', 'Profile'], ['pro', 'Profile'],
    ['networkpolicy', 'NetworkPolicy'], ['networkpolicies', 'NetworkPolicy'], ['np', 'NetworkPolicy'], ['netpol', 'NetworkPolicy'],
    ['globalnetworkpolicy', 'GlobalNetworkPolicy'], ['gnp', 'GlobalNetworkPolicy'], ['GNP', 'GlobalNetworkPolicy'],
    ['networkset', 'NetworkSet'], ['netset', 'NetworkSet'],
    ['globalnetworkset', 'GlobalNetworkSet'], ['gns', 'GlobalNetworkSet'],
    ['bgppeer', 'BGPPeer'], ['bgpp', 'BGPPeer'], ['BGPPeers', 'BGPPeer'],
    ['bgpconfiguration', 'BGPConfiguration'], ['bgpconfig', 'BGPConfiguration'],
    ['felixconfiguration', 'FelixConfiguration'], ['felixconfig', 'FelixConfiguration'],
    [' NetworkPolicy ', 'NetworkPolicy'],
  ])('%s → %s', (text, kind) => {
    expect(resolveKind(text)).toBe(kind);
  });

  test.each([
    ['netpolicy', 'networkpolicy'],
    ['ipool', 'ippool'],
    ['networkpolicys', 'networkpolicy'],
    ['globalnetworkpolcy', 'globalnetworkpolicy'],
    ['bgppeeer', 'bgppeer'],
    ['felixconfigurations2', 'felixconfiguration'],
  ])('unknown %s suggests %s', (text, suggestion) => {
    let err: unknown;
    try {
      resolveKind(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UnknownKindError);
    expect(err).toBeInstanceOf(TwillError);
    const e = err as UnknownKindError;
    expect(e.code).toBe('UnknownKind');
    expect(e.suggestion).toBe(suggestion);
    expect(e.message).toBe(`unknown resource kind "${text}" (did you mean ${suggestion}?)`);
    // The hint lists every public kind with its short names.
    expect(e.hint).toContain('networkpolicy (np, nps, netpol, netpols, policy, policies)');
    for (const k of PUBLIC_KINDS) expect(e.hint).toContain(k.toLowerCase());
  });

  test('nothing close: no suggestion, but the list of kinds', () => {
    expect(() => resolveKind('deployment')).toThrow('unknown resource kind "deployment"');
    try {
      resolveKind('deployment');
    } catch (e) {
      expect((e as UnknownKindError).suggestion).toBeUndefined();
      expect((e as UnknownKindError).describe()).toContain('hint: valid kinds: node (no), workloadendpoint (wep, weps)');
    }
  });

  test('internal kinds are not resolved for users, but resolveAnyKind knows them', () => {
    expect(() => resolveKind('ipamblock')).toThrow(/IPAMBlock is internal to Twill/);
    expect(resolveAnyKind('ipamblocks')).toBe('IPAMBlock');
    expect(resolveAnyKind('blockaffinity')).toBe('BlockAffinity');
  });
});

describe('KINDS', () => {
  test('covers every kind, with namespacing and internal flags from types.ts', () => {
    for (const k of [...PUBLIC_KINDS, ...INTERNAL_KINDS]) {
      expect(KINDS[k].kind).toBe(k);
      expect(KINDS[k].namespaced).toBe(NAMESPACED_KINDS.has(k));
      expect(KINDS[k].internal).toBe((INTERNAL_KINDS as readonly string[]).includes(k));
    }
  });

  test('no name resolves to two kinds', () => {
    const owner = new Map<string, string>();
    for (const info of Object.values(KINDS)) {
      for (const n of [info.kind.toLowerCase(), info.plural, ...info.shortNames]) {
        expect(owner.get(n) ?? info.kind, `${n} is used by two kinds`).toBe(info.kind);
        owner.set(n, info.kind);
      }
    }
  });
});

describe('suggestions', () => {
  test('edit distance counts a transposition as one edit', () => {
    expect(editDistance('ingress', 'ingress')).toBe(0);
    expect(editDistance('ingres', 'ingress')).toBe(1);
    expect(editDistance('ignress', 'ingress')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });

  test('closest picks a near candidate or none', () => {
    expect(closest('egres', ['ingress', 'egress'])).toBe('egress');
    expect(closest('zzz', ['ingress', 'egress'])).toBeUndefined();
    expect(closest('', ['a'])).toBeUndefined();
  });
});
