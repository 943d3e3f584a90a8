// Upstream's NetworkPolicy e2e cases (test/support/netpol-cases.ts) on the unit layout: each
// policy goes through the converter, then felix/explain's Explainer (calc's own reading of the
// result) judges all 72 pod pairs against the case's expected matrix. The same cases run on live
// traffic in test/e2e/netpol.test.ts.
import { describe, expect, it } from 'vitest';
import { Explainer } from '../../../felix/explain/index.js';
import { convertNetworkPolicy } from '../../../src/kube/index.js';
import { ALL, netpolCases, type Proto } from '../../support/netpol-cases.js';
import { podIp, xyzResources } from './xyz.js';

/** The matrix felix/explain predicts for these Kubernetes policies. */
function matrix(policies: unknown[], protocol: Proto, port: number): string[] {
  const x = new Explainer([...xyzResources(), ...policies.map(convertNetworkPolicy)]);
  return ALL.map((from) =>
    ALL.map((to) => (from === to ? '.' : x.explain({ from, to, protocol, port }).verdict === 'allow' ? '.' : 'X')).join(''),
  );
}

const cases = netpolCases({ ip: podIp, podCidr: '10.65.0.0/16' });

describe('upstream NetworkPolicy cases on x/y/z × a/b/c (converter → felix/explain)', () => {
  for (const c of cases) {
    it(c.name, () => {
      for (const p of c.probes) {
        expect({ probe: `${p.protocol}/${p.port}`, matrix: matrix(c.policies, p.protocol, p.port) }).toEqual({ probe: `${p.protocol}/${p.port}`, matrix: p.expect });
      }
    });
  }
});
