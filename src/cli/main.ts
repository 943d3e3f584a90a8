#!/usr/bin/env node
// twillctl entry point: run the command against the real process I/O and exit with its code.

import { processIo } from '../lib/cli-io.js';
import { run } from './program.js';

const code = await run(process.argv.slice(2), processIo());
process.exitCode = code;
// Let stdout drain and the event loop end on its own; if a library left a handle open, do not hang.
setTimeout(() => process.exit(code), 1000).unref();
