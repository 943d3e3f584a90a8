// Kubernetes NetworkPolicy on live traffic: the built `twill-lab` brings up the xyz example
// (Kubernetes' own e2e layout: namespaces x, y, z × pods a, b, c, added through twill-cni as a
// Kubernetes node would), the built `twillctl` applies upstream-style networking.k8s.io/v1
// NetworkPolicies and a Pod label change, and `twill-lab verify` probes all 288 cells (9 × 8
// pairs × TCP/UDP 80/81) — each compared with the matrix Kubernetes expects, and by verify itself
// with felix/explain's prediction. Policy reaches the hosts asynchronously, so verify is re-run
// until the matrix settles (a bounded number of runs), then asserted in full.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { ALL, netpolCases } from '../support/netpol-cases.js';
import { ROOT } from '../support/bgp-peers.js';

const reason = missing({ root: true, tools: ['etcd', 'bird', 'birdc', 'socat', 'iptables-restore', 'ipset', 'nsenter', 'ping'] });
const LAB = join(ROOT, 'dist/src/lab/main.js');
const CTL = join(ROOT, 'dist/src/cli/main.js');
const LAB_ROOT = '/run/twill-lab-e2e-netpol';

interface Cell {
  from: string;
  to: string;
  port: number;
  protocol: 'TCP' | 'UDP';
  allowed: boolean;
}
interface Verify {
  ok: boolean;
  cells: Cell[];
  checks: { what: string; ok: boolean; detail: string }[];
}

function lab(args: string[], timeoutMs = 400_000): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [LAB, ...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, TWILL_LAB_ROOT: LAB_ROOT } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

const knp = (namespace: string, name: string, spec: unknown): unknown => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec });
const docs = (...d: unknown[]): string => d.map((x) => JSON.stringify(x)).join('\n---\n');

const ns = (id: string): string => id.split('/')[0]!;

describe.skipIf(reason)('Kubernetes NetworkPolicy on the xyz lab (e2e: twillctl apply of Kubernetes documents, real probes)', () => {
  const name = `np${process.pid % 1000}`;
  let st: { datastore: string; workloads: { name: string; namespace: string; ips: string[] }[] };
  let ctl: (args: string[], input: string) => { code: number; out: string; err: string };

  beforeAll(() => {
    const u = lab(['up', '--example', 'xyz', '--name', name]);
    expect(u.code, `${u.out}\n${u.err}`).toBe(0);
    st = JSON.parse(lab(['status', '--name', name, '-o', 'json']).out) as typeof st;
    ctl = (args, input) => {
      const r = spawnSync(process.execPath, [CTL, '--datastore', st.datastore, ...args], { input, encoding: 'utf8', timeout: 60_000 });
      return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
    };
  }, 400_000);
  afterAll(() => {
    lab(['down', '--name', name]);
  });

  /**
   * verify until every cell `judged` is as `want` says (or the runs are used up); returns the
   * mismatches and verify's own checks (each live cell against felix/explain's prediction).
   */
  const settle = async (want: (c: Cell) => boolean, judged: (c: Cell) => boolean = () => true): Promise<{ wrong: string[]; failedChecks: string[] }> => {
    let wrong: string[] = [];
    let failedChecks: string[] = [];
    for (let run = 0; run < 8; run++) {
      const v = lab(['verify', '--name', name, '-o', 'json']);
      expect(v.out.trim(), `twill-lab verify printed no report (exit ${v.code}):\n${v.err}`).not.toBe('');
      const rep = JSON.parse(v.out) as Verify;
      expect(rep.cells).toHaveLength(9 * 8 * 4);
      wrong = rep.cells.filter((c) => judged(c) && c.allowed !== want(c)).map((c) => `${c.from}→${c.to} ${c.protocol}/${c.port} ${c.allowed ? 'reached' : 'blocked'}`);
      failedChecks = rep.checks.filter((c) => !c.ok).map((c) => `${c.what}: ${c.detail}`);
      if (wrong.length === 0 && failedChecks.length === 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    return { wrong, failedChecks };
  };

  it('sequences: AND of pod and namespace selectors, a label change, deletion, egress to a named port with DNS allowed, UDP only, ipBlock except', async () => {
    // 1. "should support a 'default-deny-ingress' policy" stacked with "should enforce policy to
    //    allow traffic only from a pod in a different namespace based on PodSelector and
    //    NamespaceSelector": into x nothing, except y/b → x/a (peer: ns y AND pod b).
    const step1 = docs(
      knp('x', 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }),
      knp('x', 'allow-y-b-to-a', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { ns: 'y' } }, podSelector: { matchLabels: { pod: 'b' } } }] }] }),
    );
    const a1 = ctl(['apply', '-f', '-'], step1);
    expect(a1.code, a1.err).toBe(0);
    expect(a1.out).toContain('NetworkPolicy x/knp.default.allow-y-b-to-a created');
    const r1 = await settle((c) => ns(c.to) !== 'x' || (c.to === 'x/a' && c.from === 'y/b'));
    expect(r1).toEqual({ wrong: [], failedChecks: [] });

    // 2. A label change: pod y/c relabelled pod=b (a v1 Pod applied) now reaches x/a too.
    const a2 = ctl(['apply', '-f', '-'], docs({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'c', namespace: 'y', labels: { pod: 'b' } } }));
    expect(a2.code, a2.err).toBe(0);
    const r2 = await settle((c) => ns(c.to) !== 'x' || (c.to === 'x/a' && (c.from === 'y/b' || c.from === 'y/c')));
    expect(r2).toEqual({ wrong: [], failedChecks: [] });

    // 3. Deletion of both policies, and "should allow egress access on one named port" with DNS
    //    (UDP 53) allowed, for z: z's pods reach only TCP 80 (serve-80-tcp), everyone else all.
    const d3 = ctl(['delete', '-f', '-'], step1);
    expect(d3.code, d3.err).toBe(0);
    const step3 = docs(knp('z', 'allow-egress-80', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'serve-80-tcp' }] }, { ports: [{ protocol: 'UDP', port: 53 }] }] }));
    const a3 = ctl(['apply', '-f', '-'], step3);
    expect(a3.code, a3.err).toBe(0);
    const r3 = await settle((c) => ns(c.from) !== 'z' || (c.protocol === 'TCP' && c.port === 80));
    expect(r3).toEqual({ wrong: [], failedChecks: [] });

    // 4. "should not allow access by TCP when a policy specifies only UDP" (x/a: UDP 81 only) and
    //    "should enforce except clause while egress access to server in CIDR block" (z → 10.0.0.0/8
    //    except x/b's address), from a clean policy set.
    const xb = st.workloads.find((w) => w.namespace === 'x' && w.name === 'b')!.ips[0]!;
    const d4 = ctl(['delete', '-f', '-'], step3);
    expect(d4.code, d4.err).toBe(0);
    const step4 = docs(
      knp('x', 'allow-only-udp-ingress-on-port-81', { podSelector: { matchLabels: { pod: 'a' } }, ingress: [{ ports: [{ protocol: 'UDP', port: 81 }] }] }),
      knp('z', 'deny-egress-to-x-b-via-except', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: [`${xb}/32`] } }] }] }),
    );
    const a4 = ctl(['apply', '-f', '-'], step4);
    expect(a4.code, a4.err).toBe(0);
    const r4 = await settle((c) => !((c.to === 'x/a' && !(c.protocol === 'UDP' && c.port === 81)) || (ns(c.from) === 'z' && c.to === 'x/b')));
    expect(r4).toEqual({ wrong: [], failedChecks: [] });
    // Back to a clean policy set and the layout's own labels for the cases below.
    const d5 = ctl(['delete', '-f', '-'], step4);
    expect(d5.code, d5.err).toBe(0);
    const a5 = ctl(['apply', '-f', '-'], docs({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'c', namespace: 'y', labels: { pod: 'c' } } }));
    expect(a5.code, a5.err).toBe(0);
  }, 900_000);

  it('every upstream case, each from a clean policy set, on live TCP and UDP 80/81', async () => {
    const ips = new Map(st.workloads.map((w) => [`${w.namespace}/${w.name}`, w.ips.find((i) => !i.includes(':'))!]));
    for (const ip of ips.values()) expect(ip).toMatch(/^10\./);
    const cases = netpolCases({ ip: (id) => ips.get(id)!, podCidr: '10.0.0.0/8' });
    const failures: { case: string; wrong: string[]; failedChecks: string[] }[] = [];
    let probed = 0;
    for (const c of cases) {
      // The lab's pods serve TCP and UDP on 80 and 81 only: probes of other ports (DNS 53) are the unit test's.
      const probes = c.probes.filter((p) => p.port === 80 || p.port === 81);
      expect(probes.length, c.name).toBeGreaterThan(0);
      probed += probes.length;
      const cell = (cl: Cell): string | undefined => probes.find((p) => p.protocol === cl.protocol.toLowerCase() && p.port === cl.port)?.expect[ALL.indexOf(cl.from)]?.[ALL.indexOf(cl.to)];
      const applied = ctl(['apply', '-f', '-'], docs(...c.policies));
      expect(applied.code, `${c.name}: ${applied.err}`).toBe(0);
      const r = await settle((cl) => cell(cl) === '.', (cl) => cell(cl) !== undefined);
      if (r.wrong.length > 0 || r.failedChecks.length > 0) failures.push({ case: c.name, ...r });
      const removed = ctl(['delete', '-f', '-'], docs(...c.policies));
      expect(removed.code, `${c.name}: ${removed.err}`).toBe(0);
    }
    expect(failures).toEqual([]);
    expect(probed).toBeGreaterThanOrEqual(cases.length);
    // And back to everyone reaching everyone once the last case is deleted.
    expect(await settle(() => true)).toEqual({ wrong: [], failedChecks: [] });
    expect(lab(['down', '--name', name]).code).toBe(0);
  }, 900_000);
});
