// Runs the BUILT twill-cni (dist/src/cni/main.js) exactly as a container runtime does: inside the
// host's network namespace (nsenter --net), CNI_* in the environment, the configuration on stdin.
// Also a chain runner that calls a conflist's plugins the way libcni does (ADD in order with
// prevResult, DEL in reverse).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(__dirname, '../../..');
export const TWILL_CNI = join(ROOT, 'dist/src/cni/main.js');
export const TWILLCTL = join(ROOT, 'dist/src/cli/main.js');
/** Debian's containernetworking-plugins. */
export const CNI_PLUGINS = '/usr/lib/cni';

export interface Proc {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function assertBuilt(): void {
  if (!existsSync(TWILL_CNI) || !existsSync(TWILLCTL)) throw new Error(`${TWILL_CNI} is missing: run "npm run build" first`);
}

export function run(argv: string[], env: Record<string, string>, stdin: string, killAfterMs?: number): Promise<Proc> {
  return new Promise((done, fail) => {
    const p = spawn(argv[0] as string, argv.slice(1), { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', fail);
    p.stdin.on('error', () => undefined);
    p.stdin.end(stdin);
    const t = killAfterMs !== undefined ? setTimeout(() => p.kill('SIGKILL'), killAfterMs) : undefined;
    p.on('close', (code) => {
      if (t) clearTimeout(t);
      done({ code, stdout, stderr });
    });
  });
}

export interface Call {
  command: string;
  containerID?: string;
  netns?: string;
  ifname?: string;
  args?: string;
}

export function cniEnv(c: Call): Record<string, string> {
  const env: Record<string, string> = { CNI_COMMAND: c.command, CNI_PATH: CNI_PLUGINS };
  if (c.containerID !== undefined) env.CNI_CONTAINERID = c.containerID;
  if (c.netns !== undefined) env.CNI_NETNS = c.netns;
  if (c.ifname !== undefined) env.CNI_IFNAME = c.ifname;
  if (c.args !== undefined) env.CNI_ARGS = c.args;
  return env;
}

/** One twill-cni call in the host namespace. */
export function twillCni(hostNs: string, c: Call, conf: unknown, killAfterMs?: number): Promise<Proc> {
  const stdin = typeof conf === 'string' ? conf : JSON.stringify(conf);
  return run(['nsenter', `--net=/run/netns/${hostNs}`, process.execPath, TWILL_CNI], cniEnv(c), stdin, killAfterMs);
}

/** twillctl against the datastore (from the test's own namespace). */
export function twillctl(datastore: string, ...args: string[]): Promise<Proc> {
  return run([process.execPath, TWILLCTL, '--datastore', datastore, ...args], {}, '');
}

export interface ConfList {
  cniVersion: string;
  name: string;
  plugins: Record<string, unknown>[];
}

/** One plugin's configuration in a chain: the list's version and name, the runtime config its capabilities ask for. */
function pluginConf(list: ConfList, p: Record<string, unknown>, runtimeConfig: Record<string, unknown>, prev: unknown): Record<string, unknown> {
  const conf: Record<string, unknown> = { ...p, cniVersion: list.cniVersion, name: list.name };
  const caps = (p.capabilities ?? {}) as Record<string, boolean>;
  const rc: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(runtimeConfig)) if (caps[k]) rc[k] = v;
  if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
  if (prev !== undefined) conf.prevResult = prev;
  return conf;
}

function pluginBin(type: string, binDir: string): string {
  return type === 'twill-cni' ? '' : join(binDir, type);
}

/** Calls a conflist as libcni does: ADD through the plugins with prevResult; returns the last result. */
export async function chainAdd(hostNs: string, list: ConfList, c: Call, runtimeConfig: Record<string, unknown> = {}): Promise<{ result: unknown; failed?: Proc }> {
  let prev: unknown;
  for (const p of list.plugins) {
    const conf = pluginConf(list, p, runtimeConfig, prev);
    const r = await invoke(hostNs, p.type as string, { ...c, command: 'ADD' }, conf);
    if (r.code !== 0) return { result: undefined, failed: r };
    prev = JSON.parse(r.stdout);
  }
  return { result: prev };
}

/** DEL through the plugins in reverse order, each given the final result as prevResult. */
export async function chainDel(hostNs: string, list: ConfList, c: Call, prevResult: unknown, runtimeConfig: Record<string, unknown> = {}): Promise<Proc[]> {
  const out: Proc[] = [];
  for (const p of [...list.plugins].reverse()) {
    const conf = pluginConf(list, p, runtimeConfig, prevResult);
    out.push(await invoke(hostNs, p.type as string, { ...c, command: 'DEL' }, conf));
  }
  return out;
}

function invoke(hostNs: string, type: string, c: Call, conf: unknown): Promise<Proc> {
  const bin = pluginBin(type, CNI_PLUGINS);
  if (bin === '') return twillCni(hostNs, c, conf);
  return run(['nsenter', `--net=/run/netns/${hostNs}`, bin], cniEnv(c), JSON.stringify(conf));
}
