// Delegating to another CNI plugin (an IPAM plugin such as host-local), the way libcni does it:
// find the binary in CNI_PATH, run it with the same CNI_* environment (CNI_COMMAND as asked) and
// the network configuration on stdin, read its result or error JSON from stdout.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CniCode, CniError, type CniResult } from './protocol.js';

export function findPlugin(type: string, cniPath: string): string {
  if (type.includes('/')) throw new CniError(CniCode.InvalidNetworkConfig, `plugin type "${type}" must be a bare name, found in CNI_PATH`);
  const dirs = cniPath.split(delimiter).filter((d) => d !== '');
  for (const d of dirs) {
    const p = join(d, type);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  throw new CniError(
    CniCode.InvalidEnvironment,
    `plugin "${type}" was not found in CNI_PATH (${dirs.join(', ') || 'empty'}): install it (Debian: containernetworking-plugins) or fix CNI_PATH`,
  );
}

/** Runs the delegate; resolves with its parsed result (undefined for an empty stdout), rejects with its CNI error. */
export function execPlugin(
  type: string,
  command: string,
  env: Record<string, string | undefined>,
  stdin: string,
): Promise<CniResult | undefined> {
  const bin = findPlugin(type, env.CNI_PATH ?? '');
  return new Promise((resolve, reject) => {
    const p = spawn(bin, [], { env: { ...env, CNI_COMMAND: command }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.on('error', (e) => reject(new CniError(CniCode.IoFailure, `could not run ${bin}: ${e.message}`)));
    p.stdin.on('error', () => undefined);
    p.stdin.end(stdin);
    p.on('close', (code) => {
      let parsed: unknown;
      try {
        parsed = out.trim() === '' ? undefined : JSON.parse(out);
      } catch {
        parsed = undefined;
      }
      if (code === 0) return resolve(parsed as CniResult | undefined);
      const e = parsed as { code?: unknown; msg?: unknown; details?: unknown } | undefined;
      const msg = typeof e?.msg === 'string' ? e.msg : (err.trim() || out.trim() || `exit code ${code}`);
      reject(new CniError(typeof e?.code === 'number' ? e.code : CniCode.Internal, `${type} ${command} failed: ${msg}`, typeof e?.details === 'string' ? e.details : undefined));
    });
  });
}
