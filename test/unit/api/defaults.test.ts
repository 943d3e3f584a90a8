import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
  BGP_CONFIGURATION_DEFAULTS,
  FELIX_CONFIGURATION_DEFAULTS,
  withDefaults,
} from '../../../src/api/defaults.js';
import { parseDuration, durationProblem } from '../../../src/api/duration.js';
import { validateResource } from '../../../src/api/validate.js';
import { PUBLIC_KINDS, type Resource } from '../../../src/api/types.js';
import { VALID, withField } from './fixtures.js';

function valid(input: unknown): Resource {
  const r = validateResource(input);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.resource;
}

describe('withDefaults', () => {
  test('does not mutate its input', () => {
    const r = { ...(VALID.IPPool as unknown as Resource) };
    const before = structuredClone(r);
    withDefaults(r);
    expect(r).toEqual(before);
  });

  test.each([...PUBLIC_KINDS])('is idempotent for %s', (kind) => {
    const once = withDefaults(VALID[kind] as unknown as Resource);
    expect(withDefaults(once)).toEqual(once);
  });

  test('IPv4 and IPv6 pools get their block sizes, all() and false flags', () => {
    const v4 = valid({ apiVersion: 'twill.io/v1', kind: 'IPPool', metadata: { name: 'a' }, spec: { cidr: '10.65.0.0/16' } });
    const v6 = valid({ apiVersion: 'twill.io/v1', kind: 'IPPool', metadata: { name: 'b' }, spec: { cidr: 'fd5e:7a11::/48' } });
    expect(v4.spec).toEqual({ cidr: '10.65.0.0/16', blockSize: 26, natOutgoing: false, disabled: false, nodeSelector: 'all()' });
    expect(v6.spec).toEqual({ cidr: 'fd5e:7a11::/48', blockSize: 122, natOutgoing: false, disabled: false, nodeSelector: 'all()' });
  });

  test('explicit values are kept', () => {
    const p = valid(withField(withField(VALID.IPPool, 'spec.blockSize', 28), 'spec.nodeSelector', 'has(edge)'));
    expect(p.spec).toMatchObject({ blockSize: 28, nodeSelector: 'has(edge)', natOutgoing: true });
  });

  test.each([
    ['no rules', {}, ['Ingress']],
    ['ingress rules only', { ingress: [{ action: 'Allow' }] }, ['Ingress']],
    ['egress rules only', { egress: [{ action: 'Allow' }] }, ['Egress']],
    ['both', { ingress: [{ action: 'Deny' }], egress: [{ action: 'Allow' }] }, ['Ingress', 'Egress']],
    ['an empty egress list', { egress: [] }, ['Ingress']],
  ])('policy types default as Calico does: %s', (_what, spec, types) => {
    for (const kind of ['NetworkPolicy', 'GlobalNetworkPolicy']) {
      const r = valid({ apiVersion: 'twill.io/v1', kind, metadata: { name: 'p' }, spec });
      expect((r.spec as { types?: string[] }).types).toEqual(types);
      expect((r.spec as { selector?: string }).selector).toBe('all()');
    }
  });

  test('explicit policy types are kept', () => {
    const r = valid({ apiVersion: 'twill.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p' }, spec: { types: ['Egress'] } });
    expect((r.spec as { types?: string[] }).types).toEqual(['Egress']);
  });

  test('namespaced kinds get namespace "default"; cluster kinds get none', () => {
    const np = valid({ apiVersion: 'twill.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p' } });
    const gnp = valid({ apiVersion: 'twill.io/v1', kind: 'GlobalNetworkPolicy', metadata: { name: 'p' } });
    expect(np.metadata.namespace).toBe('default');
    expect('namespace' in gnp.metadata).toBe(false);
  });

  test('cluster BGP and agent defaults only on the objects named "default"', () => {
    const bgp = valid({ apiVersion: 'twill.io/v1', kind: 'BGPConfiguration', metadata: { name: 'default' } });
    expect(bgp.spec).toEqual({ asNumber: 64512, nodeToNodeMeshEnabled: true, listenPort: 179, logSeverityScreen: 'Info' });
    expect(bgp.spec).toMatchObject(BGP_CONFIGURATION_DEFAULTS);
    const perNode = valid({ apiVersion: 'twill.io/v1', kind: 'BGPConfiguration', metadata: { name: 'node.host-1' }, spec: { asNumber: 65001 } });
    expect(perNode.spec).toEqual({ asNumber: 65001 });

    const felix = valid({ apiVersion: 'twill.io/v1', kind: 'FelixConfiguration', metadata: { name: 'default' }, spec: { mtu: 1400 } });
    expect(felix.spec).toMatchObject({ interfacePrefix: 'tw', iptablesMarkMask: 0xffff0000, mtu: 1400 });
    expect(felix.spec).toMatchObject(FELIX_CONFIGURATION_DEFAULTS);
    const felixNode = valid({ apiVersion: 'twill.io/v1', kind: 'FelixConfiguration', metadata: { name: 'node.host-1' } });
    expect(felixNode.spec).toEqual({});
  });

  test('the defaults themselves are valid', () => {
    const felix = { apiVersion: 'twill.io/v1', kind: 'FelixConfiguration', metadata: { name: 'x' }, spec: FELIX_CONFIGURATION_DEFAULTS };
    const bgp = { apiVersion: 'twill.io/v1', kind: 'BGPConfiguration', metadata: { name: 'x' }, spec: BGP_CONFIGURATION_DEFAULTS };
    expect(validateResource(felix).ok).toBe(true);
    expect(validateResource(bgp).ok).toBe(true);
  });

  test('validating a validated resource changes nothing (defaulting is idempotent end to end)', () => {
    for (const kind of PUBLIC_KINDS) {
      const once = valid(VALID[kind]);
      expect(valid(once)).toEqual(once);
    }
  });

  test('network sets default to an empty list', () => {
    const r = valid({ apiVersion: 'twill.io/v1', kind: 'GlobalNetworkSet', metadata: { name: 's' } });
    expect(r.spec).toEqual({ nets: [] });
  });
});

describe('durations', () => {
  test.each([
    ['90s', 90_000], ['2m', 120_000], ['1m30s', 90_000], ['500ms', 500], ['1h', 3_600_000], ['1.5s', 1500], ['0', 0], ['0s', 0],
  ])('%s = %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(durationProblem(text)).toBeUndefined();
  });

  test.each(['', '90', '-5s', 's', '1d', '5 s', '1m30', 'abc'])('rejects %j', (text) => {
    expect(parseDuration(text)).toBeUndefined();
    expect(durationProblem(text)).toMatch(/write e\.g\./);
  });

  test('any sum of parts parses to the sum', () => {
    fc.assert(
      fc.property(fc.nat(100), fc.nat(59), fc.nat(999), (m, s, ms) => parseDuration(`${m}m${s}s${ms}ms`) === m * 60_000 + s * 1000 + ms),
    );
  });
});
