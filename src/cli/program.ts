// twillctl's command tree. run() parses argv with commander (which never calls process.exit here),
// runs one command against the injected CliIo, always closes the datastore, and returns the exit
// code (see ./exit.ts for what each code means).
//
// Adding a command group: write src/cli/commands/<name>.ts exporting
//   export function register(program: Command, ctx: CliContext): void
// (import CliContext from '../context.js', NOT from '../program.js': that would be an import
// cycle) and add it to COMMAND_GROUPS below.

import { Command } from 'commander';
import type { DatastoreOptions } from '../datastore/index.js';
import { datastoreUrlFromEnv } from '../datastore/url.js';
import type { Datastore } from '../datastore/types.js';
import * as apply from './commands/apply.js';
import * as get from './commands/get.js';
import * as ipam from './commands/ipam.js';
import * as label from './commands/label.js';
import * as policy from './commands/policy.js';
import * as node from './commands/node.js';
import * as verify from './commands/verify.js';
import * as validate from './commands/validate.js';
import * as version from './commands/version.js';
import type { CliContext, CliIo, GlobalOptions } from './context.js';
import { EXIT_OK, EXIT_USAGE, reportError } from './exit.js';
import { commanderExitCode } from '../lib/exit-codes.js';
import { addEtcdTlsOptions, etcdTlsFiles } from '../lib/etcd-flags.js';
import { packageVersion } from '../lib/package-info.js';

export type { CliContext, CliIo, GlobalOptions } from './context.js';

interface CommandGroup {
  register(program: Command, ctx: CliContext): void;
}

/** Every command group, in the order `twillctl --help` lists them. */
const COMMAND_GROUPS: readonly CommandGroup[] = [
  apply, // apply, create, replace, delete
  get,
  label,
  validate,
  version,
  ipam, // ipam show / check / release (src/cli/commands/ipam.ts, owned by IPAM)
  policy, // policy explain (felix/explain)
  node, // node status / routes: asks the running twill-node over its local API
  verify, // verify: each node's kernel against its agent's desired state (local API)
  // New command groups go here.
];

function buildProgram(ctx: CliContext, io: CliIo): Command {
  const program = new Command('twillctl');
  program
    .description('Manage Twill resources: IP pools, policies, BGP peers, endpoints and more.')
    .version(packageVersion(), '--version', 'print the client version (see also: twillctl version)')
    .option('--datastore <url>', 'datastore: etcd://host:port[,host:port], file:PATH or memory: (default: $TWILL_DATASTORE, else the local file store)');
  addEtcdTlsOptions(program)
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: (s, write) => write(s.startsWith('error:') ? s : `error: ${s}`),
    })
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const group of COMMAND_GROUPS) group.register(program, ctx);
  // Subcommands inherit the output and exit behaviour.
  for (const cmd of program.commands) applyInherited(cmd, io);
  return program;
}

function applyInherited(cmd: Command, io: CliIo): void {
  cmd.exitOverride().configureOutput({
    writeOut: (s) => io.stdout(s),
    writeErr: (s) => io.stderr(s),
    outputError: (s, write) => write(s.startsWith('error:') ? s : `error: ${s}`),
  });
  for (const sub of cmd.commands) applyInherited(sub, io);
}

/** How long twillctl waits for another process to release a file datastore. */
const FILE_LOCK_WAIT_MS = 10_000;

export interface RunOptions {
  /** How to open the datastore (default: openDatastore). Tests wrap it to interpose on calls. */
  openDatastore?: (url: string, opts: DatastoreOptions) => Promise<Datastore>;
}

export async function run(argv: string[], io: CliIo, options: RunOptions = {}): Promise<number> {
  // The datastore backends (etcd3, gRPC) take ~0.5 s to load: only commands that use the
  // datastore pay for it, not help, validate or version --client.
  const open =
    options.openDatastore ??
    (async (url: string, o: DatastoreOptions) => (await import('../datastore/index.js')).openDatastore(url, o));
  let store: Promise<Datastore> | undefined;
  let program: Command | undefined;
  const globals = (): GlobalOptions => (program ? program.opts<GlobalOptions>() : {});
  const ctx: CliContext = {
    io,
    exitCode: EXIT_OK,
    datastoreUrl: () => globals().datastore ?? datastoreUrlFromEnv(io.env),
    openStore: () => {
      if (!store) {
        const g = globals();
        // A file store is held by one process at a time: wait for a concurrent twillctl to finish.
        store = open(ctx.datastoreUrl(), { lockWaitMs: FILE_LOCK_WAIT_MS, ...etcdTlsFiles(g) });
      }
      return store;
    },
  };
  program = buildProgram(ctx, io);
  try {
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return EXIT_USAGE;
    }
    await program.parseAsync(argv, { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    // Help and --version end with exit code 0; usage errors were already printed by commander.
    return commanderExitCode(e) ?? reportError(e, io);
  } finally {
    if (store) {
      try {
        await (await store).close();
      } catch {
        // Opening failed (already reported) or closing failed: nothing more to do.
      }
    }
  }
}
