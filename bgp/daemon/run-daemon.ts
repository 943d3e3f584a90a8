// Daemon mode of twill-bgp (see ./main.ts): SIGTERM / SIGINT send CEASE to every peer (with graceful restart on: close
// those sessions without CEASE and keep kernel routes) and exit 0; SIGHUP reloads the config
// file (sessions whose identity did not change stay up; a bad file is logged and ignored).
import { errorMessage } from '../../src/errors.js';
import { BgpSpeaker } from '../server/speaker.js';
import type { CliIo } from '../../src/lib/cli-io.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../src/lib/exit-codes.js';
import { createLogger } from '../../src/lib/logger.js';
import { packageVersion } from '../../src/lib/package-info.js';
import type { DaemonArgs } from './cli/program.js';
import { loadConfig, type DaemonConfig } from './config.js';
import { Daemon, type KernelFactory } from './daemon.js';
import { ConfigError } from './errors.js';

/** How long a shutdown may take before we give up on a clean CEASE. */
const STOP_TIMEOUT_MS = 10_000;

const openKernel: KernelFactory = async (cfg, logger) => {
  // Loaded only when kernel install is on: netlink pulls in the FFI layer.
  const [{ openNetlink }, { KernelRouteSync }] = await Promise.all([import('../../src/netlink/index.js'), import('../kernel/index.js')]);
  const nl = await openNetlink();
  const sync = new KernelRouteSync(nl, {
    table: cfg.table,
    ...(cfg.metric !== undefined ? { metric: cfg.metric } : {}),
    ...(cfg.maxPaths !== undefined ? { maxPaths: cfg.maxPaths } : {}),
    log: logger,
  });
  return { sync, close: () => nl.close() };
};

export interface RunDaemonOptions {
  /** Reads args.config (default: the YAML config, loadConfig). The BGP benchmark reads its JSON. */
  loadConfig?: (file: string) => Promise<DaemonConfig>;
}

export async function runDaemon(args: DaemonArgs, io: CliIo, opts: RunDaemonOptions = {}): Promise<number> {
  let config: DaemonConfig;
  try {
    config = await (opts.loadConfig ?? loadConfig)(args.config);
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr(`${e.describe()}\n`);
      return EXIT_USAGE;
    }
    throw e;
  }
  if (args.check) {
    io.stdout(`${args.config}: OK (${config.speaker.neighbors.length} neighbours, ${config.speaker.originate?.length ?? 0} originated prefixes)\n`);
    return EXIT_OK;
  }
  const log = createLogger({ level: args.logLevel, ...(args.logFormat === 'auto' ? {} : { pretty: args.logFormat === 'pretty' }) });
  let daemon: Daemon;
  try {
    daemon = await Daemon.start({
      config,
      configFile: args.config,
      api: args.api,
      logger: log,
      createSpeaker: (cfg, opts) => new BgpSpeaker(cfg, opts),
      openKernel,
      version: packageVersion(),
    });
  } catch (e) {
    log.fatal({ error: errorMessage(e) }, 'twill-bgp could not start');
    return EXIT_FAILED;
  }

  // Keeps the process alive even with nothing else open (no API, no listener, no neighbours).
  const keepAlive = setInterval(() => undefined, 1 << 30);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, `${signal}: stopping`);
      clearInterval(keepAlive);
      const timer = setTimeout(() => {
        log.error({}, `shutdown took longer than ${STOP_TIMEOUT_MS / 1000} s; exiting anyway`);
        resolve(EXIT_FAILED);
      }, STOP_TIMEOUT_MS);
      daemon.stop().then(
        () => {
          clearTimeout(timer);
          resolve(EXIT_OK);
        },
        (e: unknown) => {
          clearTimeout(timer);
          log.error({ error: errorMessage(e) }, 'shutdown failed');
          resolve(EXIT_FAILED);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      if (stopping) return;
      if (!args.config) {
        log.warn({}, 'SIGHUP: reload needs --config (ignored)');
        return;
      }
      loadConfig(args.config)
        .then((next) => daemon.reload(next))
        .catch((e: unknown) => log.error({ error: errorMessage(e) }, 'SIGHUP: config not reloaded, the running one stays'));
    });
  });
}
