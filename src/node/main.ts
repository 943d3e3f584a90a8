#!/usr/bin/env node
// twill-node: the per-host agent. Runs in the network namespace it is started in
// (`ip netns exec host1 twill-node ...` manages host1). SIGTERM / SIGINT stop it and leave the
// dataplane exactly as programmed (exit 0), so a restart drops no traffic.
import { errorMessage } from '../errors.js';
import { parseNodeArgs } from './args.js';
import { startNode } from './node.js';

async function main(): Promise<number> {
  let args;
  try {
    args = parseNodeArgs(process.argv.slice(2));
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode;
    if (code === 0) return 0; // --help / --version
    if ((e as { code?: string }).code?.startsWith('commander.')) return 2;
    process.stderr.write(`twill-node: ${errorMessage(e)}\n`);
    return 2;
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
      finish!(0);
      return;
    }
    const r = running;
    r.log.info({ signal: sig }, 'stopping; the dataplane stays as programmed');
    r.stop().then(
      () => finish!(0),
      (e: unknown) => {
        r.log.error({ err: errorMessage(e) }, 'error while stopping');
        finish!(0);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    const started = await Promise.race([startNode(args), done.then(() => undefined)]);
    if (started === undefined) return 0; // stopped while starting
    running = started;
  } catch (e) {
    if (stopping) return 0;
    process.stderr.write(`twill-node: cannot start: ${errorMessage(e)}\n`);
    return 1;
  }
  if (stopping) {
    await running.stop();
    return 0;
  }
  return done;
}

const code = await main();
process.exitCode = code;
setTimeout(() => process.exit(code), 1000).unref();
