// The converter, rule by rule: what each Kubernetes field becomes, and the fields it refuses.
import { describe, expect, it } from 'vitest';
import type { Resource } from '../../../src/api/types.js';
import { validateResource } from '../../../src/api/validate.js';
import { convertNamespace, convertNetworkPolicy, convertPod, KubeConvertError } from '../../../src/kube/index.js';
import { endpoint } from './xyz.js';

function problemsOf(r: Resource): unknown[] {
  const v = validateResource(r);
  return v.ok ? [] : v.problems;
}

const K8S = 'twill.io/orchestrator == "k8s"';

function knp(spec: unknown, name = 'p', namespace = 'x'): unknown {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec };
}

function refused(doc: unknown, field: string): string {
  try {
    convertNetworkPolicy(doc);
  } catch (e) {
    expect(e).toBeInstanceOf(KubeConvertError);
    expect((e as KubeConvertError).field).toBe(field);
    return (e as KubeConvertError).message;
  }
  throw new Error(`expected ${field} to be refused`);
}

describe('NetworkPolicy → Twill NetworkPolicy', () => {
  it('is named knp.default.<name> in its namespace, order 1000, selecting Kubernetes pods; the result validates', () => {
    const r = convertNetworkPolicy(knp({ podSelector: { matchLabels: { pod: 'a' } }, ingress: [{}] }, 'allow', 'y'));
    expect(r.metadata).toEqual({ name: 'knp.default.allow', namespace: 'y' });
    expect(r.spec).toEqual({ order: 1000, selector: `${K8S} && pod == "a"`, types: ['Ingress'], ingress: [{ action: 'Allow' }] });
    expect(problemsOf(r)).toEqual([]);
  });

  it('namespace defaults to "default"; {} and absent podSelector select every pod', () => {
    const r = convertNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'p' }, spec: {} });
    expect(r.metadata.namespace).toBe('default');
    expect(r.spec.selector).toBe(K8S);
    expect(convertNetworkPolicy(knp({ podSelector: {} })).spec.selector).toBe(K8S);
  });

  it('policyTypes: absent → Ingress, plus Egress when egress has rules; given → exactly those; empty lists isolate', () => {
    expect(convertNetworkPolicy(knp({ podSelector: {} })).spec).toMatchObject({ types: ['Ingress'], ingress: [] });
    expect(convertNetworkPolicy(knp({ podSelector: {}, egress: [] })).spec.types).toEqual(['Ingress']);
    expect(convertNetworkPolicy(knp({ podSelector: {}, egress: [{}] })).spec).toMatchObject({ types: ['Ingress', 'Egress'], ingress: [], egress: [{ action: 'Allow' }] });
    const e = convertNetworkPolicy(knp({ podSelector: {}, policyTypes: ['Egress'], ingress: [{}] })).spec;
    expect(e.types).toEqual(['Egress']);
    expect(e.egress).toEqual([]);
    expect(e.ingress).toBeUndefined(); // a direction the policy does not govern: its rules are ignored, as Kubernetes does
  });

  it('matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist) become one && selector', () => {
    const r = convertNetworkPolicy(
      knp({
        podSelector: {
          matchLabels: { tier: 'web', app: 'shop' },
          matchExpressions: [
            { key: 'env', operator: 'In', values: ['prod', 'staging'] },
            { key: 'zone', operator: 'NotIn', values: ['dmz'] },
            { key: 'team', operator: 'Exists' },
            { key: 'legacy', operator: 'DoesNotExist' },
          ],
        },
      }),
    );
    expect(r.spec.selector).toBe(`${K8S} && app == "shop" && tier == "web" && env in {"prod", "staging"} && zone not in {"dmz"} && has(team) && !has(legacy)`);
  });

  it('peers: podSelector alone = own namespace; namespaceSelector {} = all(); both = AND in one rule; several = one rule each (OR)', () => {
    const r = convertNetworkPolicy(
      knp({
        podSelector: {},
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: { pod: 'b' } } },
              { namespaceSelector: {} },
              { namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'a' } } },
              { namespaceSelector: { matchLabels: { ns: 'z' } } },
            ],
          },
        ],
      }),
    );
    expect(r.spec.ingress).toEqual([
      { action: 'Allow', source: { selector: `${K8S} && pod == "b"` } },
      { action: 'Allow', source: { selector: K8S, namespaceSelector: 'all()' } },
      { action: 'Allow', source: { selector: `${K8S} && pod == "a"`, namespaceSelector: 'ns == "y"' } },
      { action: 'Allow', source: { selector: K8S, namespaceSelector: 'ns == "z"' } },
    ]);
  });

  it('ipBlock with except → nets and notNets (pod addresses match too); host bits are dropped', () => {
    const r = convertNetworkPolicy(knp({ podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.65.1.9/16', except: ['10.65.1.0/24', '10.65.2.1/32'] } }] }] }));
    expect(r.spec.egress).toEqual([{ action: 'Allow', destination: { nets: ['10.65.0.0/16'], notNets: ['10.65.1.0/24', '10.65.2.1/32'] } }]);
  });

  it('ports: one rule per (peer, protocol); TCP by default; UDP and SCTP kept; names, numbers and endPort ranges; a protocol without port = all its ports', () => {
    const r = convertNetworkPolicy(
      knp({
        podSelector: {},
        ingress: [
          {
            from: [{ podSelector: {} }, { ipBlock: { cidr: '198.19.0.0/24' } }],
            ports: [{ port: 80 }, { port: 'serve-81-tcp', protocol: 'TCP' }, { protocol: 'UDP', port: 53 }, { port: 8000, endPort: 8080 }, { protocol: 'SCTP' }, { port: 90, endPort: 90 }],
          },
        ],
      }),
    );
    const dst = { protocol: 'TCP', destination: { ports: [80, 'serve-81-tcp', '8000:8080', 90] } };
    expect(r.spec.ingress).toEqual([
      { action: 'Allow', source: { selector: K8S }, ...dst },
      { action: 'Allow', source: { selector: K8S }, protocol: 'UDP', destination: { ports: [53] } },
      { action: 'Allow', source: { selector: K8S }, protocol: 'SCTP' },
      { action: 'Allow', source: { nets: ['198.19.0.0/24'] }, ...dst },
      { action: 'Allow', source: { nets: ['198.19.0.0/24'] }, protocol: 'UDP', destination: { ports: [53] } },
      { action: 'Allow', source: { nets: ['198.19.0.0/24'] }, protocol: 'SCTP' },
    ]);
    expect(problemsOf(r)).toEqual([]);
  });

  it('an egress named port without a pod selector is resolved on pods of every namespace', () => {
    const r = convertNetworkPolicy(knp({ podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'dns', protocol: 'UDP' }] }] }));
    expect(r.spec.egress).toEqual([{ action: 'Allow', protocol: 'UDP', destination: { ports: ['dns'], selector: K8S, namespaceSelector: 'all()' } }]);
  });

  it('refuses what it cannot honour, naming the field', () => {
    expect(refused(knp({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] }), 'spec.ingress[0].from[0].ipBlock')).toMatch(/cannot be combined/);
    refused(knp({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/16', except: ['10.1.0.0/24'] } }] }] }), 'spec.ingress[0].from[0].ipBlock.except[0]');
    refused(knp({ podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0/16' } }] }] }), 'spec.ingress[0].from[0].ipBlock.cidr');
    refused(knp({ podSelector: {}, ingress: [{ from: [{}] }] }), 'spec.ingress[0].from[0]');
    refused(knp({ podSelector: {}, ingress: [{ ports: [{ protocol: 'ICMP' }] }] }), 'spec.ingress[0].ports[0].protocol');
    refused(knp({ podSelector: {}, ingress: [{ ports: [{ port: 'http', endPort: 90 }] }] }), 'spec.ingress[0].ports[0].endPort');
    refused(knp({ podSelector: {}, ingress: [{ ports: [{ port: 90, endPort: 80 }] }] }), 'spec.ingress[0].ports[0].endPort');
    refused(knp({ podSelector: {}, ingress: [{ ports: [{ port: 70000 }] }] }), 'spec.ingress[0].ports[0].port');
    refused(knp({ podSelector: {}, ingress: [{ ports: [{ port: 'Not_A_Name' }] }] }), 'spec.ingress[0].ports[0].port');
    refused(knp({ podSelector: { matchExpressions: [{ key: 'a', operator: 'Gt', values: ['1'] }] } }), 'spec.podSelector.matchExpressions[0].operator');
    refused(knp({ podSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] } }), 'spec.podSelector.matchExpressions[0].values');
    refused(knp({ podSelector: { matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] } }), 'spec.podSelector.matchExpressions[0].values');
    refused(knp({ podSelector: { matchLabels: { 'bad key!': 'v' } } }), 'spec.podSelector.matchLabels.bad key!');
    refused(knp({ podSelector: { matchLabels: { k: "it's" } } }), 'spec.podSelector.matchLabels.k');
    refused(knp({ podSelector: {}, policyTypes: ['Both'] }), 'spec.policyTypes[0]');
    // A field the converter does not know could change the meaning: refused rather than dropped.
    refused(knp({ podSelector: {}, ingress: [{ from: [{ podSelector: {}, serviceAccountSelector: {} }] }] }), 'spec.ingress[0].from[0].serviceAccountSelector');
    refused(knp({ podSelector: {}, futureField: true }), 'spec.futureField');
    refused({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { namespace: 'x' } }, 'metadata.name');
    refused(knp({}, 'Bad_Name'), 'metadata.name');
  });
});

describe('Namespace → Profile kns.<ns>', () => {
  it('its labels are the namespace labels; the profile allows both ways', () => {
    const p = convertNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x', labels: { ns: 'x', 'kubernetes.io/metadata.name': 'x' } } });
    expect(p).toEqual({
      apiVersion: 'twill.io/v1',
      kind: 'Profile',
      metadata: { name: 'kns.x' },
      spec: { labelsToApply: { ns: 'x', 'kubernetes.io/metadata.name': 'x' }, ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] },
    });
    expect(problemsOf(p)).toEqual([]);
    expect(() => convertNamespace({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'a.b' } })).toThrow(/metadata.name/);
  });
});

describe('Pod → its WorkloadEndpoint', () => {
  const eps = [endpoint('x/a'), endpoint('y/a'), endpoint('x/b')];

  it('sets the labels of exactly the endpoint with that namespace and spec.pod; named container ports replace the ports', () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'a', namespace: 'x', labels: { pod: 'a', role: 'web' } },
      spec: { containers: [{ name: 'c', ports: [{ name: 'http', containerPort: 8080 }, { containerPort: 9090 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }] },
    };
    const [e, ...rest] = convertPod(pod, eps);
    expect(rest).toEqual([]);
    expect(e!.metadata).toMatchObject({ name: 'h1-k8s-a-eth0', namespace: 'x', labels: { pod: 'a', role: 'web' } });
    expect(e!.spec.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 8080 }, { name: 'dns', protocol: 'UDP', port: 53 }]);
    expect(e!.spec.ipNetworks).toEqual(endpoint('x/a').spec.ipNetworks);
  });

  it('a Pod without containers keeps the endpoint\'s ports; no labels removes them', () => {
    const [e] = convertPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'b', namespace: 'x' } }, eps);
    expect(e!.metadata.labels).toBeUndefined();
    expect(e!.spec.ports).toEqual(endpoint('x/b').spec.ports);
  });

  it('a pod with no endpoint is an error naming it', () => {
    expect(() => convertPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'c', namespace: 'x' } }, eps)).toThrow(/Pod x\/c: metadata.name: no WorkloadEndpoint in namespace x has spec.pod c/);
  });
});
