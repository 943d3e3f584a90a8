// Which process `twill-lab stop|start|restart PART` acts on: a host's twill-node, a ToR's BIRD or
// etcd — never a workload server or an etcd bridge — and an unknown part is named with the choices.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TwillError } from '../../../src/errors.js';
import { findPart } from '../../../src/lab/control.js';
import { parseModel } from '../../../src/lab/model.js';
import { planLab } from '../../../src/lab/plan.js';
import type { ProcRecord } from '../../../src/lab/procs.js';
import type { LabState } from '../../../src/lab/state.js';

const model = parseModel(readFileSync(join(__dirname, '../../../manifests/lab/zones.yaml'), 'utf8'), 'zones.yaml');
const proc = (role: string, name: string, pid: number): ProcRecord => ({ role, name, pid, startTime: 1, log: '/dev/null', argv: [name] });
const state: LabState = {
  name: 'zones',
  createdAt: '2026-01-01T00:00:00Z',
  dir: '/nonexistent',
  model,
  plan: planLab(model),
  namespaces: [],
  procs: [proc('etcd', 'etcd', 10), proc('bridge', 'etcd-bridge-h1-in', 11), proc('tor', 'tor-r1', 12), proc('node', 'h1', 13), proc('node', 'h3', 14), proc('server', 'zones/web1', 15)],
  workloads: [],
  ready: true,
};

describe('twill-lab stop/start/restart: the part', () => {
  it('is a host (its twill-node), tor-RACK (its BIRD) or etcd', () => {
    expect(findPart(state, 'h3').pid).toBe(14);
    expect(findPart(state, 'tor-r1')).toMatchObject({ role: 'tor', pid: 12 });
    expect(findPart(state, 'etcd')).toMatchObject({ role: 'etcd', pid: 10 });
  });

  it('an unknown part, a workload server or a bridge is refused, naming what can be stopped', () => {
    for (const part of ['h9', 'zones/web1', 'etcd-bridge-h1-in']) {
      let err: unknown;
      try {
        findPart(state, part);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TwillError);
      expect((err as TwillError).code).toBe('LabControl');
      expect(`${(err as TwillError).message} ${(err as TwillError).hint ?? ''}`).toMatch(new RegExp(`${part.replace('/', '\\/')} is not a part of lab zones[\\s\\S]*etcd, tor-r1, h1, h3`));
    }
  });
});
