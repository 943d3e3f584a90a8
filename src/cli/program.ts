// twillctl's command tree. run() parses argv with commander (which never calls process.exit here),
// runs one command against the injected CliIo, always closes the datastore, and returns the exit
// code (see ./exit.ts for what each code means).
//
// Adding a command group: write src/cli/commands/<name>.ts exporting
//   export function register(program: Command, ctx: CliContext): void
// (import CliContext from '../context.js', NOT from '../program.js': that would be an import
// cycle) and add it to COMMAND_GROUPS below, with the top-level commands it registers.
//
// Groups are imported on demand: a command loads only its own group (and what that imports),
// so `twillctl policy explain` does not pay for YAML, validation or IPAM. Help, an unknown
// command or an unusual command line loads every group, and commander answers as before.

import { Command } from 'commander';
import type { DatastoreOptions } from '../datastore/index.js';
import { datastoreUrlFromEnv } from '../datastore/url.js';
import type { Datastore } from '../datastore/types.js';
import type { CliContext, CliIo, GlobalOptions } from './context.js';
import { EXIT_OK, EXIT_USAGE, reportError } from './exit.js';
import { commanderExitCode } from '../lib/exit-codes.js';
import { addEtcdTlsOptions, etcdTlsFiles } from '../lib/etcd-flags.js';
import { packageVersion } from '../lib/package-info.js';

export type { CliContext, CliIo, GlobalOptions } from './context.js';

export interface CommandGroup {
  /** The top-level commands the group registers (checked by test/unit/cli/command-groups.test.ts). */
  commands: readonly string[];
  load(): Promise<{ register(program: Command, ctx: CliContext): void }>;
}

/** Every command group, in the order `twillctl --help` lists them. */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { commands: ['apply', 'create', 'replace', 'delete'], load: () => import('./commands/apply.js') },
  { commands: ['get'], load: () => import('./commands/get.js') },
  { commands: ['label'], load: () => import('./commands/label.js') },
  { commands: ['validate'], load: () => import('./commands/validate.js') },
  { commands: ['version'], load: () => import('./commands/version.js') },
  { commands: ['ipam'], load: () => import('./commands/ipam.js') }, // show / check / release (owned by IPAM)
  { commands: ['policy'], load: () => import('./commands/policy.js') }, // policy explain (felix/explain)
  { commands: ['node'], load: () => import('./commands/node.js') }, // status / routes / denied: the running twill-node's local API
  { commands: ['verify'], load: () => import('./commands/verify.js') }, // each node's kernel against its agent's desired state
  // New command groups go here.
];

/**
 * The groups a command line needs: the one owning its command word (the first argument that is
 * neither a global option nor its value), or every group when there is none or it is unknown
 * (help, a typo: commander then lists or suggests from all of them).
 */
export function groupsFor(argv: readonly string[], root: Command): readonly CommandGroup[] {
  const takesValue = new Set(root.options.filter((o) => o.required || o.optional).flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined)));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('-')) {
      if (!a.includes('=') && takesValue.has(a)) i++;
      continue;
    }
    const owner = COMMAND_GROUPS.find((g) => g.commands.includes(a));
    return owner ? [owner] : COMMAND_GROUPS;
  }
  return COMMAND_GROUPS;
}

async function buildProgram(argv: readonly string[], ctx: CliContext, io: CliIo): Promise<Command> {
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
  const groups = await Promise.all(groupsFor(argv, program).map((g) => g.load()));
  for (const group of groups) group.register(program, ctx);
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
    readForQuery: async (spec) => {
      // An injected opener (tests) is used as for every other command: list what the spec names.
      if (options.openDatastore) return (await import('../datastore/query.js')).snapshotOf(await ctx.openStore(), spec);
      return (await import('../datastore/read-query.js')).readForQuery(ctx.datastoreUrl(), spec, etcdTlsFiles(globals()));
    },
  };
  try {
    program = await buildProgram(argv, ctx, io);
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
