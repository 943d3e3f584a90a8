#!/usr/bin/env node
// twill-node: the per-host agent. Runs in the network namespace it is started in
// (`ip netns exec host1 twill-node ...` manages host1). SIGTERM / SIGINT stop it and leave the
// dataplane exactly as programmed (exit 0), so a restart drops no traffic.
import { errorMessage } from '../errors.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, commanderExitCode } from '../lib/exit-codes.js';
import { parseNodeArgs } from './args.js';
import { startNode } from './node.js';

async function main(): Promise<number> {
  let args;
  try {
    args = parseNodeArgs(process.argv.slice(2));
  } catch (e) {
    const parsed = commanderExitCode(e); // --help / --version, or a usage error commander printed
    if (parsed !== undefined) return parsed;
    process.stderr.write(`twill-node: ${errorMessage(e)}\n`);
    return EXIT_USAGE;
  }
  // Signals first: a SIGTERM while still starting (e.g. waiting for etcd) also exits 0.
  let running: Awaited<ReturnType<typeof startNode>> | undefined;
  let finish: ((code: number) => void) | undefined;
  const done = new Promise<number>((resolve) => (finish = resolve));
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    if (!running) {
      finish!(EXIT_OK);
      return;
    }
    const r = running;
    r.log.info({ signal: sig }, 'stopping; the dataplane stays as programmed');
    r.stop().then(
      () => finish!(EXIT_OK),
      (e: unknown) => {
        r.log.error({ err: errorMessage(e) }, 'error while stopping');
        finish!(EXIT_OK);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    const started = await Promise.race([startNode(args), done.then(() => undefined)]);
    if (started === undefined) return EXIT_OK; // stopped while starting
    running = started;
  } catch (e) {
    if (stopping) return EXIT_OK;
    process.stderr.write(`twill-node: cannot start: ${errorMessage(e)}\n`);
    return EXIT_FAILED;
  }
  if (stopping) {
    await running.stop();
    return EXIT_OK;
  }
  return done;
}

const code = await main();
process.exitCode = code;
setTimeout(() => process.exit(code), 1000).unref();
