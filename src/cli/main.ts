#!/usr/bin/env node
// twillctl entry point: run the command against the real process I/O and exit with its code.

import { run } from './program.js';
import type { CliIo } from './context.js';

async function readAllStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

const realIo: CliIo = {
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
  readStdin: readAllStdin,
  env: process.env,
};

const code = await run(process.argv.slice(2), realIo);
process.exitCode = code;
// Let stdout drain and the event loop end on its own; if a library left a handle open, do not hang.
setTimeout(() => process.exit(code), 1000).unref();
