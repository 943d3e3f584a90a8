// twill-bgp's command line. Without a subcommand it runs the daemon (`--config FILE.yaml`); the
// subcommands are clients of a running daemon's API. run() never calls process.exit: it returns the exit code (the table of
// src/lib/exit-codes.ts: 2 for a bad command line or config, 3 when the daemon's API is unreachable).
import { Command, InvalidArgumentError, Option } from 'commander';
import { TwillError, errorMessage } from '../../../src/errors.js';
import type { CliIo } from '../../../src/lib/cli-io.js';
import { EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, EXIT_USAGE, commanderExitCode } from '../../../src/lib/exit-codes.js';
import { LOG_LEVELS, type LogLevel } from '../../../src/lib/logger.js';
import { packageVersion } from '../../../src/lib/package-info.js';
import type { LocalPath, RouteQuery } from '../../server/types.js';
import { DEFAULT_API } from '../api/address.js';
import { BgpApiClient } from '../api/client.js';
import { ApiUnreachableError } from '../errors.js';
import { formatEvent, formatPeers, formatRoutes, formatStatus, toJson, type OutputFormat } from './format.js';

export interface DaemonArgs {
  config: string;
  api: string | false;
  logLevel: LogLevel;
  logFormat: 'json' | 'pretty' | 'auto';
  /** Only check the config and exit. */
  check: boolean;
}

export interface CliDeps {
  /** Runs the daemon until it is told to stop; resolves with the exit code. */
  runDaemon(args: DaemonArgs, io: CliIo): Promise<number>;
  /** For `events`: resolves when the user interrupts (Ctrl-C). Default: SIGINT/SIGTERM. */
  interrupted?: () => Promise<void>;
  now?: () => Date;
}

interface GlobalOpts {
  api: string;
}

function outputOption(): Option {
  return new Option('-o, --output <format>', 'table or json').choices(['table', 'json']).default('table');
}

function intArg(name: string, min: number, max: number): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number ${min}..${max}`);
    return n;
  };
}

function defaultInterrupted(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

/** Builds the program; `result.code` receives the exit code of the command that ran. */
function buildProgram(io: CliIo, deps: CliDeps, result: { code: number }): Command {
  const now = deps.now ?? (() => new Date());
  const program = new Command('twill-bgp');
  const withClient = async (cmd: Command, fn: (c: BgpApiClient) => Promise<void>): Promise<void> => {
    const { api } = cmd.optsWithGlobals<GlobalOpts>();
    const client = new BgpApiClient(api, { timeoutMs: 10_000 });
    try {
      await fn(client);
    } finally {
      client.close();
    }
  };

  program
    .description(
      'A standalone BGP speaker (route reflectors outside the cluster, interop, benchmarks).\n' +
        'Without a subcommand it runs the daemon; the subcommands talk to a running daemon.',
    )
    .version(packageVersion(), '--version', 'print the version')
    .option('-c, --config <file>', 'run the daemon with this YAML config')
    .option('--api <address>', 'the gRPC API: unix:///path or host:port; "none" serves no API', DEFAULT_API)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(new Option('--log-format <format>', 'json lines, or pretty (default: pretty on a terminal)').choices(['json', 'pretty', 'auto']).default('auto'))
    .option('--check', 'check the config and exit (0 when it is valid)')
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .showHelpAfterError('(run twill-bgp --help for usage)')
    .exitOverride()
    .action(async (o: { config?: string; api: string; logLevel: LogLevel; logFormat: 'json' | 'pretty' | 'auto'; check?: boolean }) => {
      if (!o.config) {
        io.stderr('error: twill-bgp needs --config FILE.yaml to run the daemon, or a subcommand (neighbors, routes, status, ...)\n');
        io.stderr('(run twill-bgp --help for usage)\n');
        result.code = EXIT_USAGE;
        return;
      }
      const args: DaemonArgs = {
        config: o.config,
        api: o.api === 'none' ? false : o.api,
        logLevel: o.logLevel,
        logFormat: o.logFormat,
        check: !!o.check,
      };
      result.code = await deps.runDaemon(args, io);
    });

  program
    .command('neighbors')
    .alias('neighbours')
    .alias('peers')
    .description('list the neighbours: state, uptime, prefix counts, last error')
    .argument('[address]', 'only this neighbour')
    .addOption(outputOption())
    .action(async (address: string | undefined, o: { output: OutputFormat }, cmd: Command) =>
      withClient(cmd, async (c) => {
        const peers = await c.listPeers(address);
        io.stdout(o.output === 'json' ? toJson(peers) : formatPeers(peers, now()));
      }),
    );

  program
    .command('routes')
    .description('list routes: the Loc-RIB (default), or what a peer sent (--table in) or was sent (--table out)')
    .argument('[prefix]', 'only this exact prefix')
    .addOption(new Option('-t, --table <table>', 'loc, in or out').choices(['loc', 'in', 'out']).default('loc'))
    .option('-p, --peer <address>', 'the neighbour (needed for --table in/out)')
    .option('-4', 'IPv4 only')
    .option('-6', 'IPv6 only')
    .option('-a, --all', 'every candidate path with why it won or lost (Loc-RIB), or rejected ones (in)')
    .option('-l, --limit <n>', 'at most this many routes (0 = all)', intArg('--limit', 0, 2 ** 31), 1000)
    .addOption(outputOption())
    .action(async (prefix: string | undefined, o: { table: 'loc' | 'in' | 'out'; peer?: string; 4?: boolean; 6?: boolean; all?: boolean; limit: number; output: OutputFormat }, cmd: Command) =>
      withClient(cmd, async (c) => {
        if (o.table !== 'loc' && !o.peer) throw new TwillError('BgpCliUsage', `--table ${o.table} needs --peer ADDRESS`);
        const q: RouteQuery = { table: o.table, limit: o.limit };
        if (o.peer) q.peer = o.peer;
        if (o[4] && !o[6]) q.family = 4;
        if (o[6] && !o[4]) q.family = 6;
        if (prefix) q.prefix = prefix;
        if (o.all) q.all = true;
        const routes = await c.listRoutes(q);
        if (o.output === 'json') io.stdout(toJson(routes));
        else {
          io.stdout(formatRoutes(routes, o.table, { reasons: !!o.all || o.table === 'in' }));
          if (o.limit > 0 && routes.length >= o.limit) io.stderr(`(showing the first ${o.limit} routes; --limit 0 shows all)\n`);
        }
      }),
    );

  program
    .command('status')
    .description("the daemon's identity, uptime and totals")
    .addOption(outputOption())
    .action(async (o: { output: OutputFormat }, cmd: Command) =>
      withClient(cmd, async (c) => {
        const s = await c.status();
        io.stdout(o.output === 'json' ? toJson(s) : formatStatus(s, now()));
      }),
    );

  program
    .command('events')
    .description('print session changes and NOTIFICATIONs as they happen (Ctrl-C to stop)')
    .option('--best', 'also print every best-path change')
    .addOption(outputOption())
    .action(async (o: { best?: boolean; output: OutputFormat }, cmd: Command) =>
      withClient(cmd, async (c) => {
        await c.waitReady();
        const w = c.watchEvents((e) => io.stdout(o.output === 'json' ? JSON.stringify(e) + '\n' : formatEvent(e)), { bestChanges: !!o.best });
        const stop = (deps.interrupted ?? defaultInterrupted)().then(() => w.cancel());
        const err = await w.done;
        void stop;
        if (err) throw err;
      }),
    );

  program
    .command('announce')
    .description('originate a prefix (until withdrawn or the daemon restarts)')
    .argument('<prefix>', 'e.g. 10.1.0.0/24 or 2001:db8:1::/48')
    .option('--next-hop <address>', 'default: our own address towards each peer')
    .option('--community <c...>', 'ASN:VALUE (repeatable)')
    .option('--local-pref <n>', 'LOCAL_PREF towards iBGP peers', intArg('--local-pref', 0, 0xffffffff))
    .option('--med <n>', 'MULTI_EXIT_DISC', intArg('--med', 0, 0xffffffff))
    .action(async (prefix: string, o: { nextHop?: string; community?: string[]; localPref?: number; med?: number }, cmd: Command) =>
      withClient(cmd, async (c) => {
        const p: LocalPath = { prefix };
        if (o.nextHop) p.nextHop = o.nextHop;
        if (o.community) p.communities = o.community;
        if (o.localPref !== undefined) p.localPref = o.localPref;
        if (o.med !== undefined) p.med = o.med;
        await c.addPath(p);
        io.stdout(`announcing ${prefix}\n`);
      }),
    );

  program
    .command('withdraw')
    .description('stop originating a prefix')
    .argument('<prefix>')
    .action(async (prefix: string, _o: object, cmd: Command) =>
      withClient(cmd, async (c) => {
        if (await c.deletePath(prefix)) io.stdout(`withdrew ${prefix}\n`);
        else {
          io.stderr(`twill-bgp does not originate ${prefix}: nothing withdrawn\n`);
          result.code = EXIT_FAILED;
        }
      }),
    );

  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) });
  }
  return program;
}

export async function run(argv: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const result = { code: EXIT_OK };
  const program = buildProgram(io, deps, result);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return result.code;
  } catch (e) {
    // --help and --version end with exit code 0; usage errors were already printed.
    const parsed = commanderExitCode(e);
    if (parsed !== undefined) return parsed;
    io.stderr(`error: ${errorMessage(e)}\n`);
    if (e instanceof ApiUnreachableError) return EXIT_UNREACHABLE;
    return e instanceof TwillError && e.code === 'BgpCliUsage' ? EXIT_USAGE : EXIT_FAILED;
  }
}
