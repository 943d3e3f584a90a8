// Driving the built `twill-lab` as a user does, for the e2e tier: the CLI (sync, or async so that
// traffic measured meanwhile keeps being read), its status JSON, and what a lab left behind.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './bgp-peers.js';

/** Where the e2e labs keep their state (TWILL_LAB_ROOT), apart from a user's /run/twill-lab. */
export const E2E_LAB_ROOT = '/run/twill-lab-e2e';
const LAB = join(ROOT, 'dist/src/lab/main.js');
const env = (): NodeJS.ProcessEnv => ({ ...process.env, TWILL_LAB_ROOT: E2E_LAB_ROOT });

export interface LabRun {
  code: number;
  out: string;
  err: string;
}

export function lab(args: string[], timeoutMs = 400_000): LabRun {
  const r = spawnSync(process.execPath, [LAB, ...args], { encoding: 'utf8', timeout: timeoutMs, env: env() });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

export function labAsync(args: string[], timeoutMs = 400_000): Promise<LabRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [LAB, ...args], { encoding: 'utf8', timeout: timeoutMs, env: env(), maxBuffer: 64 * 1024 * 1024 }, (err, out, errOut) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, out, err: errOut });
    });
  });
}

/** The lab's namespaces and directory still on the machine. */
export function leftovers(name: string): string[] {
  const ns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(`${name}-`)) : [];
  return [...ns, ...(existsSync(join(E2E_LAB_ROOT, name)) ? [join(E2E_LAB_ROOT, name)] : [])];
}

/** `twill-lab status -o json`, the parts the tests read. */
export interface LabStatusJson {
  name: string;
  dir: string;
  datastore: string;
  hosts: { name: string; netns: string; address: string; agent: string; ready: boolean; reasons: string[]; sessions: { peerAddress: string; state: string }[] }[];
  tors: { rack: string; netns: string; daemon: string; router: string; sessions: { peer: string; peerAddress: string; state: string }[] }[];
  outside: { name: string; netns: string; address: string }[];
  workloads: { name: string; namespace: string; host: string; netns: string; ips: string[]; ports: { port: number; protocol: string }[] }[];
}

/** `twill-lab verify -o json`, the parts the tests read. */
export interface LabVerifyJson {
  ok: boolean;
  cells: { from: string; to: string; port: number; protocol: string; allowed: boolean; predicted?: boolean }[];
  expectations: { from: string; to: string; port: number; ok: boolean }[];
  checks: { what: string; ok: boolean; detail: string }[];
}
