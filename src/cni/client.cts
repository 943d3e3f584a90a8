#!/usr/bin/env node
// twill-cni: the CNI plugin program. A container runtime runs it with CNI_COMMAND=ADD|DEL|CHECK|
// GC|STATUS|VERSION and the network configuration on stdin. When a CNI server (twill-node, or
// `twill-cni serve`) listens on the configured socket the call is handed to it: this CommonJS
// entry and thin.cjs are all that is loaded (no ESM loader, no datastore client). Otherwise the
// call runs in-process (in-process.ts), loading only what the command needs.
//
// `twill-cni install --bin-dir DIR --conf-dir DIR [--datastore URL] [--nodename NAME]` installs
// the plugin (a wrapper script running this file with this node) and the conflist;
// `twill-cni serve [--socket PATH]` runs the standalone server (twill-node serves the same by default).
// main.js (ESM) is the same program.
import { finish, readStdin, socketFor, viaServer } from './thin.cjs';

async function main(): Promise<void> {
  const mode = process.argv[2];
  if (mode === 'install') {
    const { runInstall } = await import('./install.js');
    process.exit(await runInstall(process.argv.slice(3)));
  } else if (mode === 'serve') {
    const { runServe } = await import('./serve.js');
    process.exit(await runServe(process.argv.slice(3)));
  }
  const stdin = await readStdin();
  const served = await viaServer(socketFor(stdin, process.env), process.env, stdin);
  if (served !== undefined) return finish(served);
  const { runInProcess } = await import('./in-process.js');
  finish(await runInProcess(stdin));
}

void main();
