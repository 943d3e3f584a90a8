// The soak, shortened (the 30-minute one is `npm run bench -- soak`): on a 3-host lab, ~55 s of
// the same churn engine (test/support/soak.ts) — workloads added and removed through twill-cni
// (`twill-lab add/remove`), NetworkPolicies created/updated/deleted with twillctl, one twill-node
// restarted — then what a user checks and what is not noise:
// - no failed ADD, DEL, policy change or restart;
// - no fd leak: each twill-node that lived through the churn has, once it stops, no more open fds
//   than the fewest it had after warm-up, plus a small constant (RSS and time are noise: the bench);
// - no leaked veth, endpoint or address: `twillctl ipam check` clean, as many endpoints as
//   workloads, on every host as many workload veths as workloads;
// - `twill-lab verify` clean, every remaining workload reachable.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missing } from '../support/env.js';
import { ROOT } from '../support/bgp-peers.js';
import { E2E_LAB_ROOT, leftovers } from '../support/lab.js';
import { labCmd, runSoak, sampleLab, soakChecks, soakModel, type SoakSample } from '../support/soak.js';

const reason = missing({ root: true, tools: ['etcd', 'bird', 'birdc', 'socat', 'iptables-restore', 'ipset', 'nsenter'] });
const CHURN_MS = 55_000;
const WARMUP_MS = 10_000;
/** Open fds a twill-node may hold above its post-warm-up low once the churn stopped (a connection in flight, a timer's fd). */
const FD_SLACK = 2;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(reason)('soak (e2e: ~1 min of workload, policy and restart churn leaks nothing)', () => {
  const name = `es${process.pid % 1000}`;
  const c = { root: E2E_LAB_ROOT, dist: join(ROOT, 'dist'), lab: name };
  const dir = mkdtempSync(join(tmpdir(), 'twill-soak-e2e-'));

  afterAll(async () => {
    const d = await labCmd(c, ['down', '--name', name]);
    rmSync(dir, { recursive: true, force: true });
    expect(d.code, d.err).toBe(0);
    expect(leftovers(name)).toEqual([]);
  });

  it('churn through twill-cni, twillctl and a node restart: no failure, no fd leak, no leaked veth/endpoint/IP, verify clean', async () => {
    const file = join(dir, 'model.yaml');
    writeFileSync(file, soakModel(3, 1));
    const up = await labCmd(c, ['up', '-f', file, '--name', name]);
    expect(up.code, `${up.out}\n${up.err}`).toBe(0);

    const run = await runSoak({
      ...c,
      durationMs: CHURN_MS,
      sampleEveryMs: 2500,
      firstRestartMs: 3000,
      restartEveryMs: CHURN_MS, // one restart (h1, graceful), early: its new process lives through the rest
      maxChurned: 6,
      opPauseMs: 100,
      churners: 2,
      policyEveryMs: 2000,
      namespace: 'soak',
      say: () => {},
    });
    const k = run.counts;
    expect(k.failures).toEqual([]);
    // Some churn happened (a loaded machine does fewer operations: the counts are only a floor).
    expect({ restarts: k.restarts, someAdds: k.adds >= 5, someDels: k.dels >= 3, somePolicy: k.policyChanges >= 3 }, JSON.stringify({ ...k, failures: undefined })).toEqual({
      restarts: 1,
      someAdds: true,
      someDels: true,
      somePolicy: true,
    });

    // Once the churn stopped (and its last policies are deleted): the fewest fds of three samples.
    await sleep(3000);
    const end: SoakSample[] = [];
    for (let i = 0; i < 3; i++) {
      end.push(...(await sampleLab(c, run.durationMs + i)));
      await sleep(1000);
    }
    const nodes = [...new Set(end.filter((s) => s.kind === 'twill-node').map((s) => s.pid))];
    expect(nodes).toHaveLength(3);
    const grew: string[] = [];
    const seen: string[] = [];
    for (const pid of nodes) {
      const mine = run.samples.filter((s) => s.pid === pid);
      const born = mine[0]!.t;
      const after = mine.filter((s) => s.t - born >= WARMUP_MS);
      expect(after.length, `pid ${pid}: samples after warm-up`).toBeGreaterThan(3);
      const baseline = Math.min(...after.map((s) => s.fds));
      const final = Math.min(...end.filter((s) => s.pid === pid).map((s) => s.fds));
      const line = `${mine[0]!.name} (pid ${pid}): ${baseline} → ${final} open fds`;
      seen.push(line);
      if (final > baseline + FD_SLACK) grew.push(line);
    }
    expect(grew, `post-warm-up low → after the churn: ${seen.join('; ')}`).toEqual([]);

    const checks = await soakChecks(c);
    expect(checks.filter((x) => !x.ok)).toEqual([]);
  }, 240_000);
});
