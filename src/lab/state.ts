// What a running lab consists of, written to /run/twill-lab/<name>/state.json before each thing is
// created, so `down` can take down a lab that was half brought up or whose processes were killed.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

/** A lock held longer than this was left by a process that died while holding it. */
const STALE_LOCK_MS = 30_000;

/** The state of lab `name`, or LabStateError when no such lab is up. */
export function requireState(name: string): LabState {
  const s = loadState(name);
  if (!s) throw new LabStateError(`no lab named ${name}`, 'see which labs are up with "twill-lab status"');
  return s;
}

/**
 * Read-modify-write of a lab's state under a lock (a directory beside it), so that commands run
 * side by side (`add`, `remove`, `start`) never drop each other's changes. mutate's result is returned.
 */
export function updateState<T>(name: string, mutate: (s: LabState) => T): T {
  const lock = join(labDir(name), 'state.lock');
  const deadline = Date.now() + 2 * STALE_LOCK_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      let age = 0;
      try {
        age = Date.now() - statSync(lock).mtimeMs;
      } catch {
        continue; // released meanwhile
      }
      if (age > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new LabStateError(`the state of lab ${name} stayed locked (${lock})`, `if no twill-lab command is running, remove ${lock}`);
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    const s = requireState(name);
    const r = mutate(s);
    saveState(s);
    return r;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** The one lab that is up, when --name is not given. */
export function resolveLabName(name: string | undefined): string {
  if (name) return name;
  const labs = existsSync(LAB_ROOT) ? readdirSync(LAB_ROOT).filter((d) => existsSync(join(LAB_ROOT, d, 'state.json'))) : [];
  if (labs.length === 1) return labs[0]!;
  if (labs.length === 0) throw new LabStateError('no lab is up', 'start one with "twill-lab up -f MODEL" or "twill-lab demo"');
  throw new LabStateError(`${labs.length} labs are up (${labs.join(', ')})`, 'pick one with --name NAME');
}
