// `policy explain` (felix/explain: calc's state walked in felix's order) against the rules felix
// renders for the same hosts, run through the fake iptables evaluator: for a table of policies,
// endpoints and flows, and for random ones, both give the same verdict — per side, with the
// same policy or profile chain deciding, and for the packet's real path.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Explainer, type Explanation } from '../../../../felix/explain/index.js';
import type { Resource } from '../../../../src/api/types.js';
import { gnp, np, profile, wep } from '../calc/builders.js';
import { randomCluster } from './random-cluster.js';
import { expectedDecider, RenderedCluster, renderedVerdict, type Flow, type RenderedVerdict } from './rendered-verdict.js';

const http = { name: 'http', port: 8080, protocol: 'TCP' as const };

const cluster: Resource[] = [
  profile('kns.shop', { labelsToApply: { env: 'prod' }, ingress: [{ action: 'Allow' }], egress: [{ action: 'Pass', protocol: 'SCTP' }, { action: 'Allow' }] }),
  profile('kns.dev', { labelsToApply: { env: 'dev' }, ingress: [{ action: 'Allow', source: { namespaceSelector: 'env == "prod"' } }], egress: [{ action: 'Allow' }] }),
  wep('web', { ns: 'shop', node: 'h1', ips: ['10.65.0.1/32'], labels: { app: 'web' }, profiles: ['kns.shop'], ports: [http] }),
  wep('api', { ns: 'shop', node: 'h2', ips: ['10.65.1.1/32'], labels: { app: 'api' }, profiles: ['kns.shop'], ports: [{ ...http, port: 9090 }, { name: 'dns', port: 53, protocol: 'UDP' }] }),
  wep('db', { ns: 'shop', node: 'h2', ips: ['10.65.1.2/32'], labels: { app: 'db' }, profiles: ['kns.shop'] }),
  wep('dual', { ns: 'shop', node: 'h3', ips: ['10.65.2.2/32', 'fd00::2/128'], labels: { app: 'web' }, profiles: ['kns.shop'], ports: [http] }),
  wep('tool', { ns: 'dev', node: 'h1', ips: ['10.65.0.2/32'], labels: { app: 'tool' }, profiles: ['kns.dev'] }),
  wep('probe', { ns: 'dev', node: 'h3', ips: ['10.65.2.3/32'], labels: { app: 'probe' }, profiles: ['kns.dev'] }),
  wep('bare', { ns: 'dev', node: 'h3', ips: ['10.65.2.1/32'] }), // no policy, no profile
  gnp('log-web', { order: 1, selector: 'app == "web"', types: ['Ingress'], ingress: [{ action: 'Log' }] }),
  gnp('pass-out', { order: 2, selector: 'app == "db"', types: ['Egress'], egress: [{ action: 'Pass', protocol: 'TCP' }] }),
  gnp('edge', {
    order: 5,
    selector: 'app in {"web", "api", "db"}',
    types: ['Ingress'],
    ingress: [
      { action: 'Deny', source: { nets: ['198.51.100.0/24'] } },
      { action: 'Pass', source: { selector: 'app == "tool"' } },
    ],
  }),
  np('web', {
    order: 10,
    selector: 'app == "web"',
    ingress: [{ action: 'Allow', protocol: 'TCP', destination: { ports: ['http', 443] } }],
    egress: [
      { action: 'Allow', protocol: 'TCP', destination: { selector: 'app == "api"', ports: ['http'] } },
      { action: 'Allow', protocol: 'UDP', destination: { ports: [53] } },
      { action: 'Deny' },
    ],
  }, 'shop'),
  np('api', {
    order: 20,
    selector: 'app == "api"',
    ingress: [
      { action: 'Allow', protocol: 'TCP', source: { selector: 'app == "web"' }, destination: { ports: ['http'] } },
      { action: 'Allow', protocol: 'UDP', destination: { ports: ['dns'] } },
      { action: 'Allow', protocol: 'ICMP', icmp: { type: 8 } },
    ],
  }, 'shop'),
  np('db', {
    order: 30,
    selector: 'app == "db"',
    types: ['Ingress', 'Egress'],
    ingress: [
      { action: 'Allow', protocol: 'TCP', source: { selector: 'app == "api"' }, destination: { ports: [5432] } },
      { action: 'Allow', protocol: 'TCP', source: { namespaceSelector: 'env == "dev"' }, destination: { ports: ['5400:5500'], notPorts: [5432] } },
    ],
  }, 'shop'),
  gnp('src-ports', { order: 35, selector: 'app == "db"', types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'UDP', source: { notPorts: [53] } }] }),
  gnp('outside-in', { order: 40, selector: 'app == "web"', types: ['Ingress'], ingress: [{ action: 'Allow', protocol: 'TCP', source: { nets: ['0.0.0.0/0'], notNets: ['198.19.0.0/16', '10.65.0.0/16'] }, destination: { ports: [80] } }] }),
  np('tool-out', { order: 10, selector: 'app == "tool"', types: ['Egress'], egress: [{ action: 'Allow', notProtocol: 'UDP' }, { action: 'Deny', protocol: 'UDP' }] }, 'dev'),
];

type Row = [from: string, to: string, protocol: Flow['protocol'], port: number | undefined, verdict: 'allow' | 'deny', why: string];

const ROWS: Row[] = [
  ['shop/web', 'shop/api', 'tcp', 9090, 'allow', 'egress named port on the selected peer; ingress named port, host to host'],
  ['shop/web', 'shop/api', 'tcp', 8080, 'deny', "egress: 8080 is web's http, not api's; the Deny rule"],
  ['shop/web', 'shop/api', 'udp', 53, 'allow', 'UDP, named port dns'],
  ['shop/web', 'shop/api', 'icmp', undefined, 'deny', 'egress Deny catches ICMP'],
  ['dev/tool', 'shop/api', 'icmp', undefined, 'allow', 'notProtocol egress; ingress Pass to the profile'],
  ['dev/tool', 'shop/db', 'udp', 5432, 'deny', 'egress Deny UDP'],
  ['dev/tool', 'shop/db', 'tcp', 5432, 'allow', 'Pass skips db, the profile allows'],
  ['shop/api', 'shop/db', 'tcp', 5432, 'allow', 'same host: profile egress, policy ingress'],
  ['shop/api', 'shop/db', 'tcp', 5433, 'deny', 'end of tier'],
  ['shop/db', 'shop/api', 'udp', 53, 'deny', 'egress isolated by a policy with no egress rules'],
  ['shop/db', '203.0.113.1', 'tcp', 443, 'allow', "Pass to the profiles, whose own Pass rule (SCTP) does not match"],
  ['198.51.100.7', 'shop/web', 'tcp', 80, 'deny', 'CIDR Deny at order 5 before the Allow at 40'],
  ['203.0.113.9', 'shop/web', 'tcp', 80, 'allow', 'nets 0.0.0.0/0 minus notNets'],
  ['198.19.0.5', 'shop/web', 'tcp', 80, 'deny', 'in notNets'],
  ['203.0.113.9', 'shop/web', 'tcp', 8080, 'allow', 'own named port'],
  ['203.0.113.9', 'shop/web', 'tcp', 9090, 'deny', "another endpoint's named port"],
  ['dev/bare', 'shop/web', 'tcp', 443, 'deny', 'no policy and no profile: egress dropped'],
  ['shop/api', 'dev/bare', 'tcp', 80, 'deny', 'no policy and no profile: ingress dropped'],
  ['shop/web', '8.8.8.8', 'udp', 53, 'allow', 'to outside'],
  ['dev/tool', '203.0.113.1', 'tcp', 443, 'allow', 'to outside'],
  ['203.0.113.1', '198.51.100.1', 'tcp', 22, 'allow', 'outside to outside: no side of ours'],
  ['shop/web', 'dev/tool', 'tcp', 22, 'deny', 'same host, egress Deny'],
  ['dev/tool', 'shop/web', 'tcp', 443, 'allow', 'same host: Log goes on, Pass, profile'],
  ['shop/api', 'dev/tool', 'tcp', 1234, 'allow', 'profile ingress rule with a namespaceSelector'],
  ['198.19.0.1', 'dev/tool', 'tcp', 80, 'deny', 'profile rule does not match an outside source'],
  ['dev/probe', 'shop/db', 'tcp', 5450, 'allow', 'namespaceSelector, port range'],
  ['dev/probe', 'shop/db', 'tcp', 5432, 'deny', 'notPorts'],
  ['dev/probe', 'shop/db', 'udp', 5450, 'allow', 'source notPorts: the client sends from an ephemeral port'],
  ['fd00::99', 'fd00::2', 'tcp', 8080, 'allow', 'IPv6: named port'],
  ['fd00::99', 'fd00::2', 'tcp', 80, 'deny', 'IPv6: an IPv4-only rule does not exist there'],
  ['fd00::2', 'fd00::99', 'udp', 53, 'allow', 'IPv6 egress'],
  ['fd00::2', 'fd00::99', 'tcp', 9090, 'deny', 'IPv6 egress Deny'],
  ['fd00::99', 'fd00::2', 'icmpv6', undefined, 'deny', 'ICMPv6, end of tier'],
  ['10.65.2.2', 'shop/api', 'tcp', 9090, 'allow', 'an endpoint named by its IP'],
];

/** Both verdicts agree overall and per side, with the same policy or profile chain deciding. */
export function expectSame(e: Explanation, r: RenderedVerdict, label: string): void {
  expect({ label, verdict: r.verdict }).toEqual({ label, verdict: e.verdict });
  expect({ label, egress: r.egress?.verdict }).toEqual({ label, egress: e.egress?.verdict });
  expect({ label, ingress: r.ingress?.verdict }).toEqual({ label, ingress: e.ingress?.verdict });
  if (e.egress) expect({ label, egress: r.egress?.decider }).toEqual({ label, egress: expectedDecider(e.egress.decidedBy, 'out') });
  if (e.ingress) expect({ label, ingress: r.ingress?.decider }).toEqual({ label, ingress: expectedDecider(e.ingress.decidedBy, 'in') });
}

describe('policy explain agrees with the rendered iptables rules', () => {
  // Whole hosts once (the lab's verify), and only the question's endpoints (twillctl).
  const x = new Explainer(cluster);
  const one = new Explainer(cluster, { scope: 'endpoints' });
  const rendered = new RenderedCluster(cluster);

  it.each(ROWS)('%s → %s %s %s: %s (%s)', async (from, to, protocol, port, verdict) => {
    const flow: Flow = { from, to, protocol, ...(port !== undefined ? { port } : {}) };
    const e = x.explain(flow);
    expect(e.verdict).toBe(verdict);
    const r = await renderedVerdict(rendered, x, flow);
    expectSame(e, r, `${from} → ${to} ${protocol} ${port ?? ''}`);
    expectSame(one.explain(flow), r, `${from} → ${to} ${protocol} ${port ?? ''} (scope endpoints)`);
  });

  it('on random clusters and flows too (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(randomCluster(), fc.constantFrom('hosts' as const, 'endpoints' as const), async ({ resources, flows }, scope) => {
        const ex = new Explainer(resources, { scope });
        const rc = new RenderedCluster(resources);
        for (const flow of flows) {
          const label = `${flow.from} → ${flow.to} ${flow.protocol} ${flow.port ?? ''}`;
          expectSame(ex.explain(flow), await renderedVerdict(rc, ex, flow), label);
        }
      }),
      { numRuns: Number(process.env.TW_EXPLAIN_RUNS ?? 100), seed: process.env.TW_EXPLAIN_SEED !== undefined ? Number(process.env.TW_EXPLAIN_SEED) : undefined },
    );
  }, 120_000);
});
