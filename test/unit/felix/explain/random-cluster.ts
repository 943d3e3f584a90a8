// Random small clusters and flows for the explain equivalence property test: endpoints on two
// hosts in two namespaces (IPv4, some dual-stack, named ports), namespace profiles with labels,
// NetworkPolicies and GlobalNetworkPolicies with random orders, types, selectors and rules
// (every action, protocols and notProtocol, ports, named ports and ranges, notPorts, nets and
// notNets, selectors, notSelectors, namespaceSelectors, ICMP types, ipVersion), and flows between
// endpoints and outside addresses. Some rules are unusable on purpose (named ports without a
// port protocol...): calc then fails closed, and both sides must still agree.
import fc from 'fast-check';
import type { EntityRule, Port, Protocol, Resource, Rule } from '../../../../src/api/types.js';
import { gnp, np, profile, wep } from '../calc/builders.js';
import type { Flow } from './rendered-verdict.js';

const NAMESPACES = ['a', 'b'] as const;
const SELECTORS = ['app == "x"', 'app == "y"', 'has(tier)', 'all()', 'tier == "1" || app == "y"', '!has(app)'];
const NS_SELECTORS = ['env == "prod"', 'env == "dev"', 'all()', 'global()'];
const NETS = ['10.0.0.0/30', '10.0.0.4/30', '10.0.0.2/32', '203.0.113.0/24', 'fd00::/126', 'fd00::4/126', '0.0.0.0/0'];
const PORTS: Port[] = [80, 443, 53, '80:90', 'http', 'dns', '8000:9000'];
const OUTSIDE = ['203.0.113.5', '10.0.0.200', '198.51.100.1', 'fd00::99'];

const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq: 2 });
/** `a` in about `pct` % of the samples, else undefined. */
const sometimes = <T>(a: fc.Arbitrary<T>, pct: number): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 100 - pct }, { arbitrary: a, weight: pct });
const some = <T>(xs: readonly T[], pct: number, max = 2): fc.Arbitrary<T[] | undefined> =>
  sometimes(fc.uniqueArray(fc.constantFrom(...xs), { minLength: 1, maxLength: max }), pct);

function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && !(Array.isArray(v) && v.length === 0))) as T;
}

// Each constraint is rare, so that rules match often enough to decide flows.
const entity: fc.Arbitrary<EntityRule | undefined> = sometimes(
  fc
    .record({
      nets: some(NETS, 20),
      notNets: some(NETS, 12, 1),
      selector: sometimes(fc.constantFrom(...SELECTORS), 30),
      notSelector: sometimes(fc.constantFrom(...SELECTORS), 10),
      namespaceSelector: sometimes(fc.constantFrom(...NS_SELECTORS), 15),
      ports: some(PORTS, 35),
      notPorts: some(PORTS, 12, 1),
    })
    .map(clean),
  60,
);

const PORT_PROTOCOLS: readonly Protocol[] = ['TCP', 'UDP', 'SCTP'];

const rule: fc.Arbitrary<Rule> = fc
  .record({
    action: fc.constantFrom('Allow', 'Allow', 'Allow', 'Deny', 'Deny', 'Pass', 'Log'),
    protocol: sometimes(fc.constantFrom<Protocol>('TCP', 'UDP', 'ICMP', 'ICMPv6', 'SCTP', 'TCP', 'UDP'), 60),
    notProtocol: sometimes(fc.constantFrom<Protocol>('TCP', 'UDP', 'ICMP'), 12),
    icmp: sometimes(fc.record({ type: fc.constantFrom(8, 0, 128) }), 30),
    ipVersion: sometimes(fc.constantFrom<4 | 6>(4, 6), 15),
    portProtocol: fc.constantFrom<Protocol | undefined>('TCP', 'UDP', 'TCP', 'SCTP', undefined),
    source: entity,
    destination: entity,
  })
  .map(({ portProtocol, ...r }) => {
    const out = clean(r) as Rule;
    // An ICMP type only with an ICMP protocol (otherwise validation would refuse the rule outright).
    if (out.icmp && out.protocol !== 'ICMP' && out.protocol !== 'ICMPv6') delete out.icmp;
    // Ports mostly with a port protocol; without one (1 in 5) calc fails the direction closed.
    const ports = [out.source, out.destination].some((e) => e?.ports !== undefined || e?.notPorts !== undefined);
    if (ports && !PORT_PROTOCOLS.includes(out.protocol ?? 0) && portProtocol !== undefined) out.protocol = portProtocol;
    return out;
  });

const rules = fc.array(rule, { maxLength: 4 });
/** A namespace profile's rules, ending in "Allow everything" half of the time (as Kubernetes' do). */
const directionRules = fc.tuple(rules, fc.boolean()).map(([rs, open]) => (open ? [...rs, { action: 'Allow' as const }] : rs));
const profileRules = fc.record({ ingress: directionRules, egress: directionRules });

interface EpSpec {
  ns: number;
  node: number;
  labels: Record<string, string>;
  dual: boolean;
  profiles: number;
  ports: number;
}

const endpointSpec: fc.Arbitrary<EpSpec> = fc.record({
  ns: fc.nat(1),
  node: fc.nat(1),
  labels: fc.record({ app: maybe(fc.constantFrom('x', 'y')), tier: maybe(fc.constantFrom('1', '2')) }).map(clean) as fc.Arbitrary<Record<string, string>>,
  dual: fc.boolean(),
  profiles: fc.constantFrom(0, 1, 1, 1, 2, 2, 3),
  ports: fc.nat(3),
});

const PORT_DECLS = [
  [],
  [{ name: 'http', port: 80, protocol: 'TCP' as const }],
  [{ name: 'http', port: 8080, protocol: 'TCP' as const }, { name: 'dns', port: 53, protocol: 'UDP' as const }],
  [{ name: 'dns', port: 5353, protocol: 'UDP' as const }],
];

const policySpec = fc.record({
  global: fc.boolean(),
  ns: fc.nat(1),
  order: maybe(fc.constantFrom(1, 5, 10)),
  selector: maybe(fc.constantFrom(...SELECTORS)),
  namespaceSelector: fc.option(fc.constantFrom(...NS_SELECTORS.slice(0, 3)), { nil: undefined, freq: 4 }),
  types: maybe(fc.constantFrom<('Ingress' | 'Egress')[]>(['Ingress'], ['Egress'], ['Ingress', 'Egress'])),
  ingress: maybe(rules),
  egress: maybe(rules),
});

const flowSpec = fc.record({
  from: fc.nat(40),
  to: fc.nat(40),
  outsideFrom: fc.nat(4),
  outsideTo: fc.nat(4),
  v6: fc.boolean(),
  protocol: fc.constantFrom('tcp', 'udp', 'icmp', 'sctp', 'tcp') as fc.Arbitrary<'tcp' | 'udp' | 'icmp' | 'sctp'>,
  port: fc.constantFrom(53, 80, 85, 443, 5353, 8080, 9999),
});

export interface RandomCluster {
  resources: Resource[];
  flows: Flow[];
}

export function randomCluster(): fc.Arbitrary<RandomCluster> {
  return fc
    .record({
      endpoints: fc.array(endpointSpec, { minLength: 1, maxLength: 5 }),
      nsEnv: fc.tuple(fc.constantFrom('prod', 'dev'), fc.constantFrom('prod', 'dev')),
      nsRules: fc.tuple(profileRules, profileRules),
      p0: fc.record({ ingress: rules, egress: rules }),
      policies: fc.array(policySpec, { maxLength: 4 }),
      flows: fc.array(flowSpec, { minLength: 1, maxLength: 10 }),
    })
    .map((c) => {
      const resources: Resource[] = [];
      NAMESPACES.forEach((ns, i) => resources.push(profile(`kns.${ns}`, { labelsToApply: { env: c.nsEnv[i]! }, ...c.nsRules[i]! })));
      resources.push(profile('p0', { labelsToApply: { tier: '1' }, ...c.p0 }));
      const outside4 = OUTSIDE.filter((o) => !o.includes(':'));
      const outside6 = OUTSIDE.filter((o) => o.includes(':'));
      const refs4: string[] = [];
      const refs6: string[] = [];
      c.endpoints.forEach((e, i) => {
        const ns = NAMESPACES[e.ns]!;
        const ips = [`10.0.0.${i + 1}/32`, ...(e.dual ? [`fd00::${i + 1}/128`] : [])];
        const profiles = [[], [`kns.${ns}`], [`kns.${ns}`, 'p0'], ['p0']][e.profiles]!;
        resources.push(wep(`e${i}`, { ns, node: `h${e.node + 1}`, ips, labels: e.labels, profiles, ports: PORT_DECLS[e.ports]! }));
        refs4.push(`${ns}/e${i}`);
        if (e.dual) refs6.push(`fd00::${i + 1}`);
      });
      c.policies.forEach((p, i) => {
        const spec = clean({ order: p.order, selector: p.selector, types: p.types, ingress: p.ingress, egress: p.egress });
        if (p.global) resources.push(gnp(`g${i}`, clean({ ...spec, namespaceSelector: p.namespaceSelector })));
        else resources.push(np(`n${i}`, spec, NAMESPACES[p.ns]!));
      });
      // Mostly endpoint to endpoint; a side is outside 1 time in 5.
      const pick = (refs: string[], outside: string[], i: number, o: number): string => (o === 0 || refs.length === 0 ? outside[i % outside.length]! : refs[i % refs.length]!);
      const flows: Flow[] = c.flows.map((f) => {
        const v6 = f.v6 && refs6.length > 0;
        const [refs, outside] = v6 ? [refs6, outside6] : [refs4, outside4];
        const from = pick(refs, outside, f.from, f.outsideFrom);
        const to = pick(refs, outside, f.to, f.outsideTo);
        if (f.protocol === 'icmp') return { from, to, protocol: v6 ? 'icmpv6' : 'icmp' };
        return { from, to, protocol: f.protocol, port: f.port };
      });
      return { resources, flows };
    });
}
