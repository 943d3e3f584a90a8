// twillctl apply / delete / validate -f with Kubernetes documents (networking.k8s.io/v1
// NetworkPolicy, v1 Namespace, v1 Pod) on the x/y/z × a/b/c layout, each invocation a separate
// in-process run against a file datastore: converted by src/kube, all or nothing.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { xyzResources } from '../kube/xyz.js';
import { makeCli, type Cli } from './harness.js';

const docs = (...d: unknown[]): string => d.map((x) => JSON.stringify(x)).join('\n---\n');
const knp = (namespace: string, name: string, spec: unknown): unknown => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec });
const pod = (namespace: string, name: string, labels: Record<string, string>, extra: Record<string, unknown> = {}): unknown => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels }, ...extra });
const namespace = (name: string, labels: Record<string, string>): unknown => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });

interface Obj {
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
  status?: unknown;
}

let cli: Cli;
beforeEach(async () => {
  cli = makeCli();
  const r = await cli(['apply', '-f', '-'], docs(...xyzResources()));
  expect(r.code, r.stderr).toBe(0);
});
afterEach(() => cli.cleanup());

async function getJson(...argv: string[]): Promise<Obj> {
  const r = await cli(['get', ...argv, '-o', 'json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Obj;
}
const storeBytes = (): string => readFileSync(cli.datastore.slice('file:'.length), 'utf8');

describe('twillctl with Kubernetes documents', () => {
  test('apply converts a NetworkPolicy, a Namespace and a Pod; get networkpolicy -n shows the converted policy; applying again changes nothing', async () => {
    const input = docs(
      namespace('x', { ns: 'x', 'kubernetes.io/metadata.name': 'x', team: 'blue' }),
      knp('x', 'allow-from-y', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } } }], ports: [{ port: 'serve-80-tcp' }] }] }),
      pod('x', 'a', { pod: 'a', role: 'web' }),
    );
    const r = await cli(['apply', '-f', '-'], input);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Profile kns.x configured');
    expect(r.stdout).toContain('NetworkPolicy x/knp.default.allow-from-y created');
    expect(r.stdout).toContain('WorkloadEndpoint x/h1-k8s-a-eth0 configured');

    const table = await cli(['get', 'networkpolicy', '-n', 'x']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('knp.default.allow-from-y');
    const p = await getJson('networkpolicy', 'knp.default.allow-from-y', '-n', 'x');
    expect(p.spec).toEqual({
      order: 1000,
      selector: 'twill.io/orchestrator == "k8s" && pod == "a"',
      types: ['Ingress'],
      ingress: [{ action: 'Allow', protocol: 'TCP', source: { selector: 'twill.io/orchestrator == "k8s"', namespaceSelector: 'ns == "y"' }, destination: { ports: ['serve-80-tcp'] } }],
    });
    expect((await getJson('profile', 'kns.x')).spec.labelsToApply).toEqual({ ns: 'x', 'kubernetes.io/metadata.name': 'x', team: 'blue' });
    const ep = await getJson('workloadendpoint', 'h1-k8s-a-eth0', '-n', 'x');
    expect(ep.metadata.labels).toEqual({ pod: 'a', role: 'web' });
    expect(ep.spec.ports).toHaveLength(4); // a Pod without containers keeps the endpoint's named ports
    // Only that pod's endpoint: y/a (same pod name, other namespace) is untouched.
    expect((await getJson('workloadendpoint', 'h1-k8s-a-eth0', '-n', 'y')).metadata.labels).toEqual({ pod: 'a' });

    const again = await cli(['apply', '-f', '-'], input);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.match(/unchanged/g)).toHaveLength(3);
  });

  test('a policy it cannot honour: exit 1 naming the document and field, nothing written (the good documents neither)', async () => {
    const before = storeBytes();
    const r = await cli(
      ['apply', '-f', '-'],
      docs(
        knp('x', 'good', { podSelector: {}, ingress: [{}] }),
        knp('x', 'icmp', { podSelector: {}, ingress: [{ ports: [{ protocol: 'ICMP' }] }] }),
        knp('x', 'mixed', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' }, namespaceSelector: {} }] }] }),
      ),
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('stdin#2: NetworkPolicy x/icmp: spec.ingress[0].ports[0].protocol: "ICMP" is not TCP, UDP or SCTP');
    expect(r.stderr).toContain('stdin#3: NetworkPolicy x/mixed: spec.ingress[0].from[0].ipBlock: cannot be combined');
    expect(r.stderr).toContain('nothing was written');
    expect(storeBytes()).toBe(before);
  });

  test('a Pod without a WorkloadEndpoint: exit 1 naming it, nothing written; create refuses Pods', async () => {
    const before = storeBytes();
    const r = await cli(['apply', '-f', '-'], docs(knp('x', 'good', { podSelector: {} }), pod('x', 'nope', { pod: 'nope' })));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('stdin#2: Pod x/nope: metadata.name: no WorkloadEndpoint in namespace x has spec.pod nope');
    expect(storeBytes()).toBe(before);
    const c = await cli(['create', '-f', '-'], docs(pod('x', 'a', { pod: 'a' })));
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('use apply or replace');
    expect(storeBytes()).toBe(before);
  });

  test('delete -f removes the converted policy and namespace profile; a Pod is refused; validate reads them offline', async () => {
    const file = docs(knp('y', 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }), namespace('q', { ns: 'q' }));
    expect((await cli(['apply', '-f', '-'], file)).code).toBe(0);
    const v = await cli(['validate', '-f', '-'], file);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain('stdin#1: NetworkPolicy y/knp.default.deny is valid');
    const d = await cli(['delete', '-f', '-'], file);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain('NetworkPolicy y/knp.default.deny deleted');
    expect(d.stdout).toContain('Profile kns.q deleted');
    expect((await cli(['get', 'networkpolicy', '-n', 'y', '-o', 'json'])).stdout).not.toContain('knp.default.deny');
    const before = storeBytes();
    const p = await cli(['delete', '-f', '-'], docs(pod('x', 'a', { pod: 'a' })));
    expect(p.code).toBe(1);
    expect(p.stderr).toContain('Pod x/a: kind:');
    expect(storeBytes()).toBe(before);
  });
});
