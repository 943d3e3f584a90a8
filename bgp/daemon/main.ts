#!/usr/bin/env node
// twill-bgp: the standalone BGP daemon and its client subcommands (see ./cli/program.ts for the
// command line, ./run-daemon.ts for the daemon's lifecycle and signals).
import { errorMessage } from '../../src/errors.js';
import { processIo } from '../../src/lib/cli-io.js';
import { EXIT_FAILED } from '../../src/lib/exit-codes.js';
import { run } from './cli/program.js';
import { runDaemon } from './run-daemon.js';

run(process.argv.slice(2), processIo(), { runDaemon }).then(
  (code) => {
    process.exitCode = code;
    // The daemon's sockets and timers are closed by now; anything left (a gRPC channel being
    // torn down) must not keep the process alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (e: unknown) => {
    process.stderr.write(`twill-bgp: ${errorMessage(e)}\n`);
    process.exit(EXIT_FAILED);
  },
);
