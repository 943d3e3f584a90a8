// Runs twillctl in-process, as a user would run it in a shell: each call is one invocation with
// its own argv, stdin and environment. A `file:` datastore in a temp dir persists between calls.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type RunOptions } from '../../../src/cli/program.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Cli {
  (argv: string[], stdin?: string | Buffer): Promise<CliResult>;
  readonly dir: string;
  readonly datastore: string;
  cleanup(): void;
}

export function makeCli(opts: { datastore?: string; env?: Record<string, string | undefined> } & RunOptions = {}): Cli {
  const dir = mkdtempSync(join(tmpdir(), 'twill-cli-'));
  const datastore = opts.datastore ?? `file:${join(dir, 'store.json')}`;
  const env = { TWILL_DATASTORE: datastore, HOME: dir, ...opts.env };
  const cli = async (argv: string[], stdin?: string | Buffer): Promise<CliResult> => {
    let stdout = '';
    let stderr = '';
    const code = await run(argv, {
      stdout: (s) => void (stdout += s),
      stderr: (s) => void (stderr += s),
      readStdin: async () => stdin ?? '',
      env,
    }, opts.openDatastore ? { openDatastore: opts.openDatastore } : {});
    return { code, stdout, stderr };
  };
  return Object.assign(cli, { dir, datastore, cleanup: () => rmSync(dir, { recursive: true, force: true }) });
}
