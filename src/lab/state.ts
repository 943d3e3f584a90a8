// What a running lab consists of, written to /run/twill-lab/<name>/state.json before each thing is
// created, so `down` can take down a lab that was half brought up or whose processes were killed.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TwillError } from '../errors.js';
import type { LabModel } from './model.js';
import type { LabPlan } from './plan.js';
import type { ProcRecord } from './procs.js';

export const LAB_ROOT = process.env.TWILL_LAB_ROOT ?? '/run/twill-lab';

export interface WorkloadState {
  id: string;
  ns: string;
  host: string;
  ips: string[];
  iface?: string;
}

export interface LabState {
  name: string;
  createdAt: string;
  dir: string;
  model: LabModel;
  plan: LabPlan;
  /** Namespaces this lab created (deleted by exact name on down). */
  namespaces: string[];
  procs: ProcRecord[];
  etcd?: { port: number; dataDir: string };
  /** etcd URL usable from the machine's own namespace (and, bridged, from every host namespace). */
  datastore?: string;
  workloads: WorkloadState[];
  /** Set once `up` finished. */
  ready: boolean;
}

export class LabStateError extends TwillError {
  constructor(message: string, hint: string) {
    super('LabState', message, { hint });
  }
}

export function labDir(name: string): string {
  return join(LAB_ROOT, name);
}

export function saveState(s: LabState): void {
  mkdirSync(s.dir, { recursive: true });
  const tmp = join(s.dir, 'state.json.tmp');
  writeFileSync(tmp, JSON.stringify(s, null, 2));
  renameSync(tmp, join(s.dir, 'state.json'));
}

export function loadState(name: string): LabState | undefined {
  const f = join(labDir(name), 'state.json');
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, 'utf8')) as LabState;
}

/** The one lab that is up, when --name is not given. */
export function resolveLabName(name: string | undefined): string {
  if (name) return name;
  const labs = existsSync(LAB_ROOT) ? readdirSync(LAB_ROOT).filter((d) => existsSync(join(LAB_ROOT, d, 'state.json'))) : [];
  if (labs.length === 1) return labs[0]!;
  if (labs.length === 0) throw new LabStateError('no lab is up', 'start one with "twill-lab up -f MODEL" or "twill-lab demo"');
  throw new LabStateError(`${labs.length} labs are up (${labs.join(', ')})`, 'pick one with --name NAME');
}
