// felix/calc: what a user would check in the desired state for given datastore content.
import { describe, expect, it } from 'vitest';
import { CalcGraph, isEmptyDelta } from '../../../../felix/calc/index.js';
import type { DesiredState, IpSetState } from '../../../../felix/calc/types.js';
import type { NetworkPolicyResource, WorkloadEndpointResource } from '../../../../src/api/types.js';
import type { SyncEvent } from '../../../../src/datastore/syncer.js';
import { dropAllRule } from '../../../../felix/calc/convert-rule.js';
import {
  affinity,
  block,
  del,
  felixConfig,
  gnetset,
  gnp,
  netset,
  np,
  pool,
  profile,
  set,
  wep,
} from './builders.js';

function run(events: SyncEvent[], node = 'host1'): { g: CalcGraph; s: DesiredState } {
  const g = new CalcGraph({ nodeName: node });
  g.apply(events);
  g.flush();
  return { g, s: g.snapshot() };
}

/** The ipset a rule side refers to. */
function setOf(s: DesiredState, id: string | undefined): IpSetState {
  expect(id).toBeDefined();
  const st = s.ipsets.get(id!);
  expect(st, `ipset ${id}`).toBeDefined();
  return st!;
}

describe('local endpoints and labels', () => {
  it('keeps only endpoints on this node, keyed by interface, with canonical addresses', () => {
    const { s } = run([
      set(wep('a', { ips: ['10.65.0.1/32', 'FD00::1/128'] })),
      set(wep('b', { node: 'host2', ips: ['10.65.1.1/32'] })),
    ]);
    expect([...s.endpoints.keys()]).toEqual(['twa']);
    const a = s.endpoints.get('twa')!;
    expect(a.ipv4Nets).toEqual(['10.65.0.1/32']);
    expect(a.ipv6Nets).toEqual(['fd00::1/128']);
    expect(a.namespace).toBe('default');
  });

  it('labels: own labels win over profile labels, the first profile wins, twill.io/* labels added', () => {
    const { s } = run([
      set(profile('p1', { labelsToApply: { tier: 'p1', color: 'red' } })),
      set(profile('p2', { labelsToApply: { tier: 'p2', size: 'big', color: 'blue' } })),
      set(wep('a', { ns: 'shop', labels: { color: 'green' }, profiles: ['p1', 'p2'], orchestrator: 'k8s', sa: 'web-sa' })),
    ]);
    expect(s.endpoints.get('twa')!.labels).toEqual({
      color: 'green',
      size: 'big',
      tier: 'p1',
      'twill.io/namespace': 'shop',
      'twill.io/orchestrator': 'k8s',
      'twill.io/serviceaccount': 'web-sa',
    });
  });

  it('kns.<namespace> profile labels are namespace labels, not pod labels', () => {
    const { s } = run([
      set(profile('kns.shop', { labelsToApply: { team: 'blue' } })),
      set(wep('a', { ns: 'shop', labels: { app: 'web' }, profiles: ['kns.shop'] })),
      set(np('by-pod-label', { selector: 'team == "blue"', ingress: [] }, 'shop')),
    ]);
    const a = s.endpoints.get('twa')!;
    expect(a.labels.team).toBeUndefined();
    expect(a.namespaceLabels).toEqual({ team: 'blue', 'twill.io/name': 'shop' });
    expect(a.ingressPolicies).toEqual([]);
    expect(a.profileIds).toEqual(['prof/kns.shop']);
  });

  it('lists only profiles that exist, in the endpoint order', () => {
    const { s } = run([set(profile('p2')), set(profile('p1')), set(wep('a', { profiles: ['p2', 'missing', 'p1'] }))]);
    expect(s.endpoints.get('twa')!.profileIds).toEqual(['prof/p2', 'prof/p1']);
    expect([...s.profiles.keys()]).toEqual(['prof/p1', 'prof/p2']);
  });

  it('a profile label change re-selects endpoints of every node', () => {
    const g = new CalcGraph({ nodeName: 'host1' });
    g.apply([
      set(profile('p', { labelsToApply: { role: 'x' } })),
      set(wep('a', { ips: ['10.0.0.1/32'] })),
      set(wep('b', { node: 'host2', ips: ['10.0.0.2/32'], profiles: ['p'] })),
      set(np('pol', { ingress: [{ action: 'Allow', source: { selector: 'role == "y"' } }] })),
    ]);
    const sid = g.snapshot().policies.get('np/default/pol')!.ingress![0]!.source.selectorSetId;
    expect(setOf(g.snapshot(), sid).members4).toEqual([]);
    g.flush();
    g.apply([set(profile('p', { labelsToApply: { role: 'y' } }))]);
    const d = g.flush();
    expect(d.ipsets.upserts.get(sid!)!.members4).toEqual(['10.0.0.2']);
    expect(d.endpoints.upserts.size).toBe(0);
  });
});

describe('policy selection, ordering and types', () => {
  it('orders by order (absent last), then name', () => {
    const { s } = run([
      set(wep('a', { ips: ['10.0.0.1/32'] })),
      set(np('zeta', { order: 10, ingress: [] })),
      set(np('alpha', { order: 10, ingress: [] })),
      set(np('first', { order: 1.5, ingress: [] })),
      set(np('none-b', { ingress: [] })),
      set(gnp('none-a', { ingress: [] })),
      set(gnp('neg', { order: -5, ingress: [] })),
    ]);
    expect(s.endpoints.get('twa')!.ingressPolicies.map((r) => r.id)).toEqual([
      'gnp/neg',
      'np/default/first',
      'np/default/alpha',
      'np/default/zeta',
      'np/default/none-b', // "default/none-b" < "none-a"
      'gnp/none-a',
    ]);
  });

  it('defaults types from the rules present; explicit types win', () => {
    const { s } = run([
      set(wep('a', { ips: ['10.0.0.1/32'] })),
      set(np('none', {})),
      set(np('in', { ingress: [{ action: 'Allow' }] })),
      set(np('out', { egress: [{ action: 'Allow' }] })),
      set(np('both', { ingress: [{ action: 'Allow' }], egress: [{ action: 'Allow' }] })),
      set(np('explicit', { types: ['Egress'], ingress: [{ action: 'Allow' }] })),
    ]);
    const a = s.endpoints.get('twa')!;
    expect(a.ingressPolicies.map((r) => r.id).sort()).toEqual(['np/default/both', 'np/default/in', 'np/default/none']);
    expect(a.egressPolicies.map((r) => r.id).sort()).toEqual(['np/default/both', 'np/default/explicit', 'np/default/out']);
    const explicit = s.policies.get('np/default/explicit')!;
    expect(explicit.types).toEqual(['Egress']);
    expect(explicit.ingress).toBeUndefined(); // ingress rules are not in force
    expect(explicit.egress).toEqual([]);
  });

  it('NetworkPolicy applies in its namespace only; GlobalNetworkPolicy across namespaces and by namespaceSelector', () => {
    const { s } = run([
      set(profile('kns.prod', { labelsToApply: { env: 'prod' } })),
      set(wep('a', { ns: 'dev', labels: { app: 'web' }, profiles: ['kns.dev'] })),
      set(wep('b', { ns: 'prod', labels: { app: 'web' }, profiles: ['kns.prod'] })),
      set(np('web', { selector: 'app == "web"', ingress: [] }, 'prod')),
      set(gnp('all-web', { selector: 'app == "web"', ingress: [] })),
      set(gnp('prod-only', { namespaceSelector: 'env == "prod"', ingress: [] })),
      set(gnp('by-ns-label', { selector: 'twill.io/namespace == "dev"', ingress: [] })),
    ]);
    expect(s.endpoints.get('twa')!.ingressPolicies.map((r) => r.id)).toEqual(['gnp/all-web', 'gnp/by-ns-label']);
    expect(s.endpoints.get('twb')!.ingressPolicies.map((r) => r.id)).toEqual(['gnp/all-web', 'gnp/prod-only', 'np/prod/web']);
  });

  it('only policies that apply locally, and only their sets, are in the state', () => {
    const { s } = run([
      set(wep('a', { ips: ['10.0.0.1/32'], labels: { app: 'a' } })),
      set(np('here', { selector: 'app == "a"', ingress: [{ action: 'Allow', source: { selector: 'x == "1"' } }] })),
      set(np('elsewhere', { selector: 'app == "b"', ingress: [{ action: 'Allow', source: { selector: 'x == "2"' } }] })),
    ]);
    expect([...s.policies.keys()]).toEqual(['np/default/here']);
    expect([...s.ipsets.values()].map((x) => x.description)).toEqual(['ns="default" ; sel=x == "1"']);
  });

  it('a namespace label change re-selects endpoints for namespaceSelector policies', () => {
    const g = new CalcGraph({ nodeName: 'host1' });
    g.apply([set(wep('a', { ns: 'n1', profiles: ['kns.n1'] })), set(gnp('g', { namespaceSelector: 'env == "prod"', ingress: [] }))]);
    expect(g.snapshot().endpoints.get('twa')!.ingressPolicies).toEqual([]);
    g.flush();
    g.apply([set(profile('kns.n1', { labelsToApply: { env: 'prod' } }))]);
    const d = g.flush();
    expect(d.endpoints.upserts.get('twa')!.ingressPolicies.map((r) => r.id)).toEqual(['gnp/g']);
    expect(d.policies.upserts.has('gnp/g')).toBe(true);
  });
});

describe('rule selectors → ipsets', () => {
  const base = [
    set(profile('kns.prod', { labelsToApply: { env: 'prod' } })),
    set(wep('local', { ns: 'prod', ips: ['10.0.0.1/32'], labels: { app: 'db' } })),
    set(wep('w-prod', { ns: 'prod', node: 'host2', ips: ['10.0.1.1/32', 'fd00::11/128'], labels: { app: 'web' } })),
    set(wep('w-dev', { ns: 'dev', node: 'host2', ips: ['10.0.2.1/32'], labels: { app: 'web' } })),
    set(netset('ns-prod', ['192.168.0.0/24'], { app: 'web' }, 'prod')),
    set(gnetset('gns', ['172.16.0.0/12', '172.16.5.5/32'], { app: 'web' })),
  ];

  it('NetworkPolicy rule selector: same namespace (endpoints on any node and NetworkSets)', () => {
    const { s } = run([...base, set(np('p', { ingress: [{ action: 'Allow', source: { selector: 'app == "web"' } }] }, 'prod'))]);
    const st = setOf(s, s.policies.get('np/prod/p')!.ingress![0]!.source.selectorSetId);
    expect(st.type).toBe('hash:net');
    expect(st.members4).toEqual(['10.0.1.1', '192.168.0.0/24']);
    expect(st.members6).toEqual(['fd00::11']);
  });

  it('GlobalNetworkPolicy rule selector: every namespace and GlobalNetworkSets', () => {
    const { s } = run([...base, set(gnp('p', { ingress: [{ action: 'Allow', source: { selector: 'app == "web"' } }] }))]);
    const st = setOf(s, s.policies.get('gnp/p')!.ingress![0]!.source.selectorSetId);
    expect(st.members4).toEqual(['10.0.1.1', '10.0.2.1', '172.16.0.0/12', '172.16.5.5', '192.168.0.0/24']);
  });

  it('namespaceSelector scopes the selector; global() selects GlobalNetworkSets', () => {
    const { s } = run([
      ...base,
      set(
        np(
          'p',
          {
            ingress: [
              { action: 'Allow', source: { namespaceSelector: 'env == "prod"', selector: 'app == "web"' } },
              { action: 'Allow', source: { namespaceSelector: 'global()' } },
              { action: 'Allow', source: { namespaceSelector: 'twill.io/name == "dev"' } },
            ],
          },
          'prod',
        ),
      ),
    ]);
    const rules = s.policies.get('np/prod/p')!.ingress!;
    expect(setOf(s, rules[0]!.source.selectorSetId).members4).toEqual(['10.0.1.1', '192.168.0.0/24']);
    expect(setOf(s, rules[1]!.source.selectorSetId).members4).toEqual(['172.16.0.0/12', '172.16.5.5']);
    expect(setOf(s, rules[2]!.source.selectorSetId).members4).toEqual(['10.0.2.1']);
  });

  it('notSelector and serviceAccounts', () => {
    const { s } = run([
      set(wep('a', { ips: ['10.0.0.1/32'], labels: { app: 'x' }, sa: 'robot' })),
      set(wep('b', { ips: ['10.0.0.2/32'], labels: { app: 'y' }, sa: 'human' })),
      set(
        np('p', {
          ingress: [
            { action: 'Deny', source: { notSelector: 'app == "x"' } },
            { action: 'Allow', source: { serviceAccounts: { names: ['robot'] } } },
          ],
        }),
      ),
    ]);
    const rules = s.policies.get('np/default/p')!.ingress!;
    expect(rules[0]!.source.selectorSetId).toBeUndefined();
    expect(setOf(s, rules[0]!.source.notSelectorSetId).members4).toEqual(['10.0.0.1']);
    expect(setOf(s, rules[1]!.source.selectorSetId).members4).toEqual(['10.0.0.1']);
  });

  it('one set per distinct scoped selector, shared by rules and released when unused', () => {
    const g = new CalcGraph({ nodeName: 'host1' });
    g.apply([
      set(wep('a', { ips: ['10.0.0.1/32'], labels: { app: 'a' } })),
      set(np('p1', { ingress: [{ action: 'Allow', source: { selector: "app == 'a'" } }] })),
      set(np('p2', { egress: [{ action: 'Allow', destination: { selector: 'app=="a"' } }] })),
    ]);
    const s = g.snapshot();
    expect(s.ipsets.size).toBe(1);
    g.flush();
    g.apply([del(np('p1', {}))]);
    expect(isEmptyDelta(g.flush())).toBe(false);
    expect(g.snapshot().ipsets.size).toBe(1);
    g.apply([del(np('p2', {}))]);
    const d = g.flush();
    expect(d.ipsets.deletes).toHaveLength(1);
    expect(g.snapshot().ipsets.size).toBe(0);
  });

  it('multiple nets become a nets set; notNets always a set', () => {
    const { s } = run([
      set(wep('a', { ips: ['10.0.0.1/32'] })),
      set(
        np('p', {
          ingress: [{ action: 'Allow', source: { nets: ['10.1.0.0/16', '10.2.0.1', 'fd00::/64'], notNets: ['10.1.2.0/24'] } }],
        }),
      ),
    ]);
    const r = s.policies.get('np/default/p')!.ingress![0]!;
    expect(r.source.nets).toEqual(['10.1.0.0/16', '10.2.0.1/32', 'fd00::/64']);
    expect(r.ipVersions).toEqual([4, 6]);
    const nets = setOf(s, r.source.netSetId);
    expect(nets.members4).toEqual(['10.1.0.0/16', '10.2.0.1']);
    expect(nets.members6).toEqual(['fd00::/64']);
    expect(setOf(s, r.source.notNetSetId).members4).toEqual(['10.1.2.0/24']);
  });

  it('a /0 in a set (nets, notNets, a network set) becomes its two /1 halves: ipset refuses a zero prefix', () => {
    const { s } = run([
      set(wep('a', { ips: ['10.0.0.1/32'] })),
      set(gnetset('anywhere', ['0.0.0.0/0', '::/0'], { kind: 'any' })),
      set(
        np('p', {
          ingress: [
            { action: 'Allow', source: { nets: ['10.1.0.0/16', '0.0.0.0/0'], notNets: ['::/0'] } },
            { action: 'Allow', source: { selector: 'kind == "any"', namespaceSelector: 'global()' } },
          ],
        }),
      ),
    ]);
    const [r0, r1] = s.policies.get('np/default/p')!.ingress!;
    expect(r0!.source.nets).toEqual(['0.0.0.0/0', '10.1.0.0/16']);
    expect(setOf(s, r0!.source.netSetId).members4).toEqual(['0.0.0.0/1', '10.1.0.0/16', '128.0.0.0/1']);
    expect(setOf(s, r0!.source.notNetSetId).members6).toEqual(['8000::/1', '::/1']);
    const any = setOf(s, r1!.source.selectorSetId);
    expect([any.members4, any.members6]).toEqual([['0.0.0.0/1', '128.0.0.0/1'], ['8000::/1', '::/1']]);
  });
});

describe('named ports', () => {
  it('resolves to ip,proto:port of the endpoints in scope with that port name and protocol', () => {
    const { s, g } = run([
      set(wep('a', { ips: ['10.0.0.1/32', 'fd00::1/128'], labels: { app: 'web' }, ports: [{ name: 'http', protocol: 'TCP', port: 8080 }] })),
      set(wep('b', { node: 'h2', ips: ['10.0.0.2/32'], labels: { app: 'web' }, ports: [{ name: 'http', protocol: 'TCP', port: 80 }] })),
      set(wep('c', { node: 'h2', ips: ['10.0.0.3/32'], labels: { app: 'web' }, ports: [{ name: 'http', protocol: 'UDP', port: 80 }] })),
      set(wep('d', { node: 'h2', ips: ['10.0.0.4/32'], labels: { app: 'db' }, ports: [{ name: 'http', protocol: 'TCP', port: 81 }] })),
      set(wep('e', { ns: 'other', node: 'h2', ips: ['10.0.0.5/32'], labels: { app: 'web' }, ports: [{ name: 'http', protocol: 'TCP', port: 82 }] })),
      set(
        np('p', {
          ingress: [
            { action: 'Allow', protocol: 'TCP', destination: { selector: 'app == "web"', ports: ['http', 443] } },
            { action: 'Allow', protocol: 'TCP', destination: { notPorts: ['http'] } },
          ],
        }),
      ),
      set(np('q', { ingress: [{ action: 'Allow', destination: { ports: ['http'] } }] })),
    ]);
    const rules = s.policies.get('np/default/p')!.ingress!;
    const np0 = setOf(s, rules[0]!.destination.namedPortSetIds[0]);
    expect(np0.type).toBe('hash:ip,port');
    expect(np0.members4).toEqual(['10.0.0.1,tcp:8080', '10.0.0.2,tcp:80']);
    expect(np0.members6).toEqual(['fd00::1,tcp:8080']);
    expect(rules[0]!.destination.ports).toEqual([{ first: 443, last: 443 }]);
    // no selector: every endpoint of the policy's namespace with the port
    const np1 = setOf(s, rules[1]!.destination.notNamedPortSetIds[0]);
    expect(np1.members4).toEqual(['10.0.0.1,tcp:8080', '10.0.0.2,tcp:80', '10.0.0.4,tcp:81']);
    // without a protocol the rule is unusable: the direction fails closed, and says so
    expect(s.policies.get('np/default/q')!.ingress).toEqual([dropAllRule()]);
    expect(g.problems().map((p) => p.message).join('\n')).toMatch(/named ports \(http\) need protocol.*all traffic in this direction is dropped/);
  });
});

describe('routes, pools, config', () => {
  it('routes each local address to its interface and blackholes confirmed own blocks', () => {
    const { s } = run([
      set(wep('a', { ips: ['10.65.0.1/32', 'fd00::1/128'] })),
      set(wep('b', { node: 'host2', ips: ['10.65.0.70/32'] })),
      set(block('10.65.0.0/26', 'host1')),
      set(affinity('host1', '10.65.0.0/26', 'confirmed')),
      set(block('10.65.0.64/26', 'host1')),
      set(affinity('host1', '10.65.0.64/26', 'pending')),
      set(block('10.65.0.128/26', 'host2')),
      set(affinity('host2', '10.65.0.128/26', 'confirmed')),
      set(block('10.65.0.192/26', 'host1', true)),
      set(affinity('host1', '10.65.0.192/26', 'confirmed')),
    ]);
    expect([...s.routes.values()]).toEqual([
      { dst: '10.65.0.0/26', family: 4, type: 'blackhole' },
      { dst: '10.65.0.1/32', family: 4, type: 'local', interfaceName: 'twa' },
      { dst: 'fd00::1/128', family: 6, type: 'local', interfaceName: 'twa' },
    ]);
  });

  it('a block losing its affinity loses its blackhole', () => {
    const g = new CalcGraph({ nodeName: 'host1' });
    g.apply([set(block('10.65.0.0/26', 'host1')), set(affinity('host1', '10.65.0.0/26', 'confirmed'))]);
    expect(g.flush().routes.upserts.has('10.65.0.0/26')).toBe(true);
    g.apply([set(affinity('host1', '10.65.0.0/26', 'pendingDeletion'))]);
    expect(g.flush().routes.deletes).toEqual(['10.65.0.0/26']);
  });

  it('pools carry natOutgoing; config overlays default then node.<name>', () => {
    const { s } = run([
      set(pool('a', '10.65.0.0/16', true)),
      set(pool('b', 'fd00::/48')),
      set(felixConfig('default', { interfacePrefix: 'cali', iptablesMarkMask: 0xff00, defaultEndpointToHostAction: 'Accept' })),
      set(felixConfig('node.host1', { interfacePrefix: 'veth' })),
      set(felixConfig('node.host2', { interfacePrefix: 'nope' })),
    ]);
    expect([...s.pools.values()]).toEqual([
      { cidr: '10.65.0.0/16', family: 4, natOutgoing: true, disabled: false },
      { cidr: 'fd00::/48', family: 6, natOutgoing: false, disabled: false },
    ]);
    expect(s.config.interfacePrefix).toBe('veth');
    expect(s.config.iptablesMarkMask).toBe(0xff00);
    expect(s.config.defaultEndpointToHostAction).toBe('Accept');
    expect(s.config.ipv6Support).toBe(true);
  });

  it('the constructor prefix is a fallback under FelixConfiguration', () => {
    const g = new CalcGraph({ nodeName: 'h', interfacePrefix: 'cali' });
    expect(g.snapshot().config.interfacePrefix).toBe('cali');
    g.apply([set(felixConfig('default', { interfacePrefix: 'tw' }))]);
    expect(g.snapshot().config.interfacePrefix).toBe('tw');
  });
});

describe('deltas', () => {
  it('report only changed keys; an undone change reports nothing', () => {
    const g = new CalcGraph({ nodeName: 'host1' });
    g.apply([set(wep('a', { ips: ['10.0.0.1/32'] })), set(wep('b', { ips: ['10.0.0.2/32'] }))]);
    const first = g.flush();
    expect(first.config).toBeDefined();
    expect([...first.endpoints.upserts.keys()]).toEqual(['twa', 'twb']);
    expect(isEmptyDelta(g.flush())).toBe(true);

    g.apply([set(wep('a', { ips: ['10.0.0.1/32'], labels: { x: '1' } }))]);
    const d = g.flush();
    expect([...d.endpoints.upserts.keys()]).toEqual(['twa']);
    expect(d.routes.upserts.size + d.routes.deletes.length).toBe(0);
    expect(d.config).toBeUndefined();

    g.apply([set(wep('a', { ips: ['10.0.0.9/32'] })), set(wep('a', { ips: ['10.0.0.1/32'], labels: { x: '1' } }))]);
    expect(isEmptyDelta(g.flush())).toBe(true);

    g.apply([del(wep('b'))]);
    const d2 = g.flush();
    expect(d2.endpoints.deletes).toEqual(['twb']);
    expect(d2.routes.deletes).toEqual(['10.0.0.2/32']);
  });

  it('an endpoint moving to another node leaves this one', () => {
    const g = new CalcGraph({ nodeName: 'host1' });
    g.apply([set(wep('a', { ips: ['10.0.0.1/32'] }))]);
    g.flush();
    g.apply([set(wep('a', { node: 'host2', ips: ['10.0.0.1/32'] }))]);
    const d = g.flush();
    expect(d.endpoints.deletes).toEqual(['twa']);
    expect(d.routes.deletes).toEqual(['10.0.0.1/32']);
  });
});

describe('incremental work', () => {
  it('a label change re-evaluates only selectors that read the changed key', () => {
    const g = new CalcGraph({ nodeName: 'host1' });
    const events: SyncEvent[] = [];
    for (let i = 0; i < 50; i++) {
      events.push(set(np(`p${i}`, { selector: `k${i} == "v"`, ingress: [{ action: 'Allow', source: { selector: `s${i} == "v"` } }] })));
      events.push(set(wep(`w${i}`, { ips: [`10.0.0.${i + 1}/32`], labels: { [`k${i}`]: 'v' } })));
    }
    g.apply(events);
    g.flush();
    const before = g.evaluations;
    g.apply([set(wep('w7', { ips: ['10.0.0.8/32'], labels: { k7: 'w', s3: 'v' } }))]);
    const d = g.flush();
    const after = g.evaluations;
    // k7 is read by one policy selector (local index), s3 by one rule selector (all index)
    expect(after.local - before.local).toBe(1);
    expect(after.all - before.all).toBe(1);
    expect([...d.endpoints.upserts.keys()]).toEqual(['tww7']);
    expect(d.endpoints.upserts.get('tww7')!.ingressPolicies).toEqual([]);
    // p7 no longer applies here: it and its source set go; s3's set gains w7
    expect(d.policies.deletes).toEqual(['np/default/p7']);
    expect(d.ipsets.deletes).toHaveLength(1);
    expect([...d.ipsets.upserts.values()].map((x) => x.members4)).toEqual([['10.0.0.8']]);
    expect(d.policies.upserts.size).toBe(0);
  });
});

describe('problems', () => {
  it('reports bad selectors, shared interfaces and interfaces outside the prefix, and keeps going', () => {
    const { g, s } = run([
      set(wep('a', { iface: 'twx', ips: ['10.0.0.1/32'] })),
      set(wep('b', { iface: 'twx', ips: ['10.0.0.2/32'] })),
      set(wep('c', { iface: 'eth9', ips: ['10.0.0.3/32'] })),
      set(np('bad', { selector: 'app = "x"', ingress: [] })),
    ]);
    expect(s.endpoints.get('twx')!.name).toBe('a');
    // fail closed: the unparseable selector selects every endpoint of the namespace, dropping
    expect(s.policies.get('np/default/bad')!.ingress).toEqual([dropAllRule()]);
    expect(s.endpoints.get('twx')!.ingressPolicies.map((p) => p.id)).toEqual(['np/default/bad']);
    const text = g.problems().map((p) => `${p.object}: ${p.message}`).join('\n');
    expect(text).toMatch(/NetworkPolicy default\/bad: selector: .*applies to every endpoint of namespace default/);
    expect(text).toMatch(/WorkloadEndpoint default\/b: interface twx is already used by WorkloadEndpoint default\/a/);
    expect(text).toMatch(/interface eth9 does not start with the interface prefix "tw"/);
  });
});

describe('problems of policies that apply to no endpoint here', () => {
  // calc converts a policy's rules when it first applies to an endpoint, or when asked for problems.
  it('are reported all the same, and the policy is right once it applies', () => {
    const bad = np('unused', { selector: 'app == "db"', ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['http'] } }, { action: 'Drop' as never }] });
    const { g, s } = run([set(wep('a', { ips: ['10.0.0.1/32'], labels: { app: 'web' } })), set(bad)]);
    expect(s.policies.has('np/default/unused')).toBe(false);
    expect(g.problems().map((p) => `${p.object}: ${p.message}`).join('\n')).toMatch(/NetworkPolicy default\/unused: ingress\[1\]: unknown action "Drop"/);
    g.apply([set(wep('a', { ips: ['10.0.0.1/32'], labels: { app: 'db' } }))]);
    g.flush();
    expect(g.snapshot().policies.get('np/default/unused')!.ingress).toEqual([dropAllRule()]);
    const fresh = new CalcGraph({ nodeName: 'host1' });
    fresh.apply([set(wep('a', { ips: ['10.0.0.1/32'], labels: { app: 'db' } })), set(bad)]);
    expect(fresh.snapshot().policies.get('np/default/unused')).toEqual(g.snapshot().policies.get('np/default/unused'));
    expect(fresh.problems()).toEqual(g.problems());
  });
});

describe('fail closed on objects written behind validation', () => {
  // What etcd can hold when a writer skipped validation: the type says one thing, the value another.
  const raw = <T>(v: unknown): T => v as T;

  const twoPods = [
    set(wep('a', { ips: ['10.0.0.1/32'], labels: { app: 'db' } })),
    set(wep('b', { ips: ['10.0.0.2/32'], labels: { app: 'web' } })),
    set(wep('c', { ns: 'other', ips: ['10.0.0.3/32'], labels: { app: 'db' } })),
  ];
  const problemText = (g: CalcGraph): string => g.problems().map((p) => `${p.object}: ${p.message}`).join('\n');

  it('ingress as a map: that policy drops ingress of its endpoints, the rest of the batch applies', () => {
    const { g, s } = run([
      set(np('map', { selector: 'app == "db"', ingress: raw({ action: 'Allow' }) })),
      ...twoPods,
      set(np('fine', { selector: 'app == "web"', ingress: [{ action: 'Allow' }] })),
    ]);
    expect([...s.endpoints.keys()]).toEqual(['twa', 'twb', 'twc']);
    expect(s.policies.get('np/default/map')!.ingress).toEqual([dropAllRule()]);
    expect(s.policies.get('np/default/map')!.types).toEqual(['Ingress']);
    expect(s.endpoints.get('twa')!.ingressPolicies.map((p) => p.id)).toEqual(['np/default/map']);
    expect(s.endpoints.get('twb')!.ingressPolicies.map((p) => p.id)).toEqual(['np/default/fine']);
    expect(s.policies.get('np/default/fine')!.ingress![0]!.action).toBe('Allow');
    expect(problemText(g)).toMatch(/NetworkPolicy default\/map: ingress: is not a list .*all traffic in this direction is dropped/);
  });

  it.each([
    ['an unparseable selector', { action: 'Deny', source: { selector: 'app = = "x"' } }, /source|expected|selector/],
    ['an unknown action', { action: 'Drop' }, /unknown action "Drop"/],
    ['a CIDR that does not parse', { action: 'Deny', source: { nets: ['10.0.0.300/8'] } }, /10\.0\.0\.300/],
    ['an unknown protocol', { action: 'Deny', protocol: 'TCPP' }, /unknown protocol "TCPP"/],
    ['ports as a string', { action: 'Deny', protocol: 'TCP', destination: { ports: '80' } }, /ports is not a list/],
    ['a rule that is not an object', 'Deny', /not an object/],
  ])('a Deny next to an Allow with %s: the direction drops everything, the other direction is untouched', (_what, bad, msg) => {
    const { g, s } = run([
      ...twoPods,
      set(
        np('p', {
          selector: 'app == "db"',
          types: ['Ingress', 'Egress'],
          ingress: [raw(bad), { action: 'Allow' }],
          egress: [{ action: 'Allow' }],
        }),
      ),
    ]);
    const p = s.policies.get('np/default/p')!;
    expect(p.ingress).toEqual([dropAllRule()]);
    expect(p.egress![0]!.action).toBe('Allow');
    expect(p.egress![0]!.ipVersions).toEqual([4, 6]);
    expect(s.endpoints.get('twa')!.ingressPolicies.map((x) => x.id)).toEqual(['np/default/p']);
    expect(s.endpoints.get('twb')!.ingressPolicies).toEqual([]);
    const text = problemText(g);
    expect(text).toMatch(/NetworkPolicy default\/p: ingress\[0\]: .*all traffic in this direction is dropped/);
    expect(text).toMatch(msg);
  });

  it('a rule that cannot match in a family is not an error: it renders nowhere there, nothing fails closed', () => {
    const { g, s } = run([
      ...twoPods,
      set(
        np('p', {
          selector: 'app == "db"',
          ingress: [
            { action: 'Deny', ipVersion: 6, source: { nets: ['10.9.0.0/16'] } },
            { action: 'Deny', protocol: 'ICMP', ipVersion: 6 },
            { action: 'Allow' },
          ],
        }),
      ),
    ]);
    const rules = s.policies.get('np/default/p')!.ingress!;
    expect(rules.map((r) => [r.action, r.ipVersions])).toEqual([
      ['Deny', []],
      ['Deny', []],
      ['Allow', [4, 6]],
    ]);
    expect(g.problems()).toEqual([]);
  });

  it('a policy selector that does not parse: a NetworkPolicy covers its namespace, a global one every endpoint', () => {
    const { g, s } = run([
      ...twoPods,
      set(np('badsel', { selector: 'app ==', types: ['Egress'], egress: [{ action: 'Allow' }] })),
      set(gnp('gbad', { selector: '((', ingress: [{ action: 'Allow' }] })),
    ]);
    expect(s.policies.get('np/default/badsel')!.egress).toEqual([dropAllRule()]);
    expect(s.policies.get('np/default/badsel')!.ingress).toBeUndefined();
    expect(s.policies.get('gnp/gbad')!.ingress).toEqual([dropAllRule()]);
    for (const ifc of ['twa', 'twb']) expect(s.endpoints.get(ifc)!.egressPolicies.map((p) => p.id)).toEqual(['np/default/badsel']);
    expect(s.endpoints.get('twc')!.egressPolicies).toEqual([]);
    for (const ifc of ['twa', 'twb', 'twc']) expect(s.endpoints.get(ifc)!.ingressPolicies.map((p) => p.id)).toEqual(['gnp/gbad']);
    expect(problemText(g)).toMatch(/GlobalNetworkPolicy gbad: selector: .*every endpoint on the host/);
  });

  it('a profile with a non-list rules field drops that direction for its endpoints', () => {
    const { g, s } = run([
      set(profile('pr', { ingress: raw('allow everything'), egress: [{ action: 'Allow' }] })),
      set(wep('a', { ips: ['10.0.0.1/32'], profiles: ['pr'] })),
    ]);
    expect(s.profiles.get('prof/pr')!.ingress).toEqual([dropAllRule()]);
    expect(s.profiles.get('prof/pr')!.egress[0]!.action).toBe('Allow');
    expect(problemText(g)).toMatch(/Profile pr: ingress: is not a list/);
  });

  it('an object that makes calc throw is reported by key and the rest of the batch still applies', () => {
    const { g, s } = run([
      set(raw<WorkloadEndpointResource>({ ...wep('x', { ips: ['10.0.0.9/32'] }), spec: { ...wep('x').spec, profiles: raw(5) } })),
      set(raw<NetworkPolicyResource>({ ...np('thrower', {}), spec: raw(new Proxy({}, { get: () => { throw new Error('boom'); } })) })),
      ...twoPods,
    ]);
    expect([...s.endpoints.keys()]).toEqual(['twa', 'twb', 'twc']);
    expect(s.policies.get('np/default/thrower')!.ingress).toEqual([dropAllRule()]);
    expect(s.policies.get('np/default/thrower')!.egress).toEqual([dropAllRule()]);
    const text = problemText(g);
    expect(text).toMatch(/WorkloadEndpoint default\/x: cannot be used: .*\(ignored\)/);
    expect(text).toMatch(/NetworkPolicy default\/thrower: cannot be used: boom/);
  });
});
