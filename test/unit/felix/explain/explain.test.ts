import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Explainer, ExplainInputError } from '../../../../felix/explain/index.js';
import { gnp, np, profile, wep } from '../calc/builders.js';
import { randomCluster } from './random-cluster.js';

// The zones: DMZ from anywhere on 443, App only from the DMZ on 8080, Backend only from App on 5432.
const zones = [
  profile('kns.zones', { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] }),
  wep('web', { ns: 'zones', node: 'h1', ips: ['10.70.0.1/32'], labels: { zone: 'dmz' }, profiles: ['kns.zones'] }),
  wep('app', { ns: 'zones', node: 'h2', ips: ['10.70.0.65/32'], labels: { zone: 'app' }, profiles: ['kns.zones'], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }),
  wep('db', { ns: 'zones', node: 'h3', ips: ['10.70.0.129/32'], labels: { zone: 'backend' }, profiles: ['kns.zones'] }),
  np('dmz', { order: 100, selector: 'zone == "dmz"', types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: [443] } }] }, 'zones'),
  np('app', { order: 100, selector: 'zone == "app"', types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: 'zone == "dmz"' }, destination: { ports: ['http'] } }] }, 'zones'),
  np('backend', { order: 100, selector: 'zone == "backend"', types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: 'zone == "app"' }, destination: { ports: [5432] } }] }, 'zones'),
];

describe('policy explain (felix semantics, from the datastore alone)', () => {
  const x = new Explainer(zones);

  it('allows DMZ → App on the named port and names the rule that allowed it', () => {
    const e = x.explain({ from: 'zones/web', to: 'zones/app', protocol: 'tcp', port: 8080 });
    expect(e.verdict).toBe('allow');
    expect(e.egress?.reason).toBe('Profile kns.zones egress rule 0 (Allow)');
    expect(e.ingress?.reason).toBe('NetworkPolicy zones/app ingress rule 0 (Allow)');
    expect(e.ingress?.steps[0]?.matched[0]?.rule).toEqual({ action: 'Allow', protocol: 'TCP', source: { selector: 'zone == "dmz"' }, destination: { ports: ['http'] } });
  });

  it('denies DMZ → Backend at the end of the tier, and App on the wrong port', () => {
    const e = x.explain({ from: 'zones/web', to: 'zones/db', protocol: 'tcp', port: 5432 });
    expect(e.verdict).toBe('deny');
    expect(e.ingress?.decidedBy).toEqual({ kind: 'end-of-tier', tier: 'default' });
    expect(e.ingress?.steps.map((s) => [s.what, s.outcome])).toEqual([['NetworkPolicy zones/backend', 'no match']]);
    expect(x.explain({ from: 'zones/web', to: 'zones/app', protocol: 'tcp', port: 8081 }).verdict).toBe('deny');
    expect(x.explain({ from: 'zones/web', to: 'zones/app', protocol: 'udp', port: 8080 }).verdict).toBe('deny');
  });

  it('an address outside the cluster has no side of ours; an endpoint can be named by IP', () => {
    const e = x.explain({ from: '198.19.101.1', to: '10.70.0.1', protocol: 'tcp', port: 443 });
    expect(e.egress).toBeUndefined();
    expect(e.to.endpoint?.name).toBe('web');
    expect(e.verdict).toBe('allow');
    expect(x.explain({ from: '198.19.101.1', to: 'zones/app', protocol: 'tcp', port: 8080 }).verdict).toBe('deny');
  });

  it('Deny rules, Pass to the profiles, and a global policy before a namespaced one', () => {
    const y = new Explainer([
      ...zones,
      gnp('no-8080-from-web', { order: 10, selector: 'zone == "app"', types: ['Ingress'], ingress: [{ action: 'Deny', source: { selector: 'zone == "dmz"' } }] }),
    ]);
    const e = y.explain({ from: 'zones/web', to: 'zones/app', protocol: 'tcp', port: 8080 });
    expect(e.verdict).toBe('deny');
    expect(e.ingress?.reason).toBe('GlobalNetworkPolicy no-8080-from-web ingress rule 0 (Deny)');
    const z = new Explainer([
      ...zones,
      gnp('pass-all', { order: 10, selector: 'zone == "backend"', types: ['Ingress'], ingress: [{ action: 'Pass' }] }),
    ]);
    const p = z.explain({ from: 'zones/web', to: 'zones/db', protocol: 'tcp', port: 5432 });
    expect(p.ingress?.steps.map((s) => s.outcome)).toEqual(['pass', 'allow']);
    expect(p.verdict).toBe('allow');
  });

  it('an endpoint that loses its interface to another endpoint of its host is not explained as if programmed', () => {
    const y = new Explainer([...zones, wep('aaa', { ns: 'zones', node: 'h1', iface: 'twweb', ips: ['10.70.0.9/32'], profiles: ['kns.zones'] })]);
    expect(() => y.explain({ from: 'zones/web', to: 'zones/app', protocol: 'tcp', port: 8080 })).toThrow(/zones\/aaa claims the same interface twweb/);
    expect(y.explain({ from: 'zones/aaa', to: 'zones/app', protocol: 'tcp', port: 8080 }).verdict).toBe('deny');
  });

  it('errors name the problem', () => {
    expect(() => x.explain({ from: 'zones/nope', to: 'zones/app', protocol: 'tcp', port: 1 })).toThrow(ExplainInputError);
    expect(() => x.explain({ from: 'zones/web', to: 'zones/app', protocol: 'tcp' })).toThrow(/needs a destination port/);
  });
});

// twillctl's scope: calc for the question's two endpoints, fed only the endpoints that hold one of
// the packet's addresses (the only ones whose set memberships the walk can meet). Its answers must
// be exactly those of calc over whole hosts.
describe("scope 'endpoints' explains exactly as whole hosts", () => {
  const outcome = (x: Explainer, flow: Parameters<Explainer['explain']>[0]): unknown => {
    try {
      return x.explain(flow);
    } catch (e) {
      return { threw: e instanceof Error ? e.message : String(e) };
    }
  };

  it('keeps a third endpoint whose network holds the source: its labels put the source in a rule\'s set', () => {
    // lb (on another host) claims 10.70.0.0/26, which holds web's address; lb is zone=app, so web's
    // packets match backend's "source zone == app" rule, on the rendered rules as here.
    const lb = wep('lb', { ns: 'zones', node: 'h4', ips: ['10.70.0.0/26'], labels: { zone: 'app' }, profiles: ['kns.zones'] });
    const flow = { from: 'zones/web', to: 'zones/db', protocol: 'tcp' as const, port: 5432 };
    const one = new Explainer([...zones, lb], { scope: 'endpoints' }).explain(flow);
    expect(one.verdict).toBe('allow');
    expect(one.ingress?.reason).toBe('NetworkPolicy zones/backend ingress rule 0 (Allow)');
    expect(one).toEqual(new Explainer([...zones, lb]).explain(flow));
    expect(new Explainer(zones, { scope: 'endpoints' }).explain(flow).verdict).toBe('deny');
  });

  it('on random clusters and flows (fast-check)', () => {
    fc.assert(
      fc.property(randomCluster(), ({ resources, flows }) => {
        const hosts = new Explainer(resources);
        const one = new Explainer(resources, { scope: 'endpoints' });
        for (const flow of flows) expect(outcome(one, flow)).toEqual(outcome(hosts, flow));
      }),
      { numRuns: Number(process.env.TW_EXPLAIN_RUNS ?? 100), seed: process.env.TW_EXPLAIN_SEED !== undefined ? Number(process.env.TW_EXPLAIN_SEED) : undefined },
    );
  });
});
