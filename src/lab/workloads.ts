// `twill-lab add` / `remove`: a workload added to or removed from a running lab as a runtime does
// it — its namespace, CNI ADD through twill-cni (or DEL), its server on its ports — and recorded
// in the lab's state, so `status` and `verify` include it (or no longer do). The state is changed
// under its lock (state.ts updateState): several adds, removes and restarts may run side by side.
import { TwillError } from '../errors.js';
import type { LabWorkload } from './model.js';
import { planWorkload, type PlannedWorkload } from './plan.js';
import { addNetns, delNetns, stopProc } from './procs.js';
import { requireState, updateState, type WorkloadState } from './state.js';
import { cniAdd, cniCall, startServer } from './up.js';

export class LabWorkloadError extends TwillError {
  constructor(message: string, hint: string) {
    super('LabWorkload', message, { hint });
  }
}

/** Adds w to the running lab: namespace, CNI ADD, server; returns what the state records. A failed ADD leaves nothing behind. */
export async function labAddWorkload(name: string, w: LabWorkload): Promise<WorkloadState> {
  const s = requireState(name);
  const host = s.plan.hosts.find((h) => h.name === w.host);
  if (!host) throw new LabWorkloadError(`${w.host} is not a host of lab ${name}`, `hosts: ${s.plan.hosts.map((h) => h.name).join(', ')}`);
  if (!s.model.namespaces.some((n) => n.name === w.namespace)) {
    throw new LabWorkloadError(`namespace ${w.namespace} is not in lab ${name}'s model`, `namespaces: ${s.model.namespaces.map((n) => n.name).join(', ')}`);
  }
  const pw = planWorkload(s.name, w, host.ns);
  // Claimed in the state first (namespace recorded, so `down` deletes it even if we die half way).
  updateState(name, (now) => {
    if (now.plan.workloads.some((x) => x.id === pw.id)) throw new LabWorkloadError(`lab ${name} already has a workload ${pw.id}`, `remove it first: twill-lab remove ${pw.id}`);
    now.plan.workloads.push(pw);
    now.namespaces.push(pw.ns);
  });
  let ws: WorkloadState;
  try {
    addNetns(pw.ns);
    ws = cniAdd(s, pw);
  } catch (e) {
    delNetns(pw.ns);
    forget(name, pw.id, pw.ns);
    throw e;
  }
  const server = startServer(s, pw);
  updateState(name, (now) => {
    now.workloads.push(ws);
    if (server) now.procs.push(server);
  });
  return ws;
}

function forget(name: string, id: string, ns: string): void {
  updateState(name, (now) => {
    now.plan.workloads = now.plan.workloads.filter((x) => x.id !== id);
    now.workloads = now.workloads.filter((x) => x.id !== id);
    now.namespaces = now.namespaces.filter((x) => x !== ns);
    now.procs = now.procs.filter((p) => !(p.role === 'server' && p.name === id));
  });
}

/** Removes a workload (NAMESPACE/NAME) from the running lab: its server, CNI DEL, its namespace. */
export async function labRemoveWorkload(name: string, id: string): Promise<PlannedWorkload> {
  const s = requireState(name);
  const pw = s.plan.workloads.find((w) => w.id === id);
  if (!pw) throw new LabWorkloadError(`lab ${name} has no workload ${id}`, `workloads: ${s.workloads.map((w) => w.id).join(', ')}`);
  const server = s.procs.find((p) => p.role === 'server' && p.name === id);
  if (server) await stopProc(server, 1000);
  cniCall(s, pw, 'DEL');
  delNetns(pw.ns);
  forget(name, id, pw.ns);
  return pw;
}
