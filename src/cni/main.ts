#!/usr/bin/env node
// twill-cni: the CNI plugin program. A container runtime runs it with CNI_COMMAND=ADD|DEL|CHECK|
// GC|STATUS|VERSION and the network configuration on stdin. When a `twill-cni serve` listens on
// the configured socket the call is handed to it (thin path: nothing else is loaded); otherwise
// it runs in-process, loading only what the command needs.
//
// `twill-cni install --bin-dir DIR --conf-dir DIR [--datastore URL] [--nodename NAME]` installs
// the plugin (a wrapper script running this file with this node) and the conflist;
// `twill-cni serve [--socket PATH]` runs the standalone server (twill-node serves the same by default).
import { readStdin, socketFor, viaServer } from './thin.js';


const mode = process.argv[2];
if (mode === 'install') {
  const { runInstall } = await import('./install.js');
  process.exit(await runInstall(process.argv.slice(3)));
} else if (mode === 'serve') {
  const { runServe } = await import('./serve.js');
  process.exit(await runServe(process.argv.slice(3)));
}
const stdin = await readStdin();
let out = await viaServer(socketFor(stdin, process.env), process.env, stdin);
if (out === undefined) {
  const [{ runTwillCni }, { openStore }, { hostname }] = await Promise.all([import('../../cni/plugin.js'), import('../../cni/program-io.js'), import('node:os')]);
  out = await runTwillCni({ env: process.env, stdin, openStore, hostname });
}
const { stdout, exitCode } = out;
process.stdout.write(stdout, () => process.exit(exitCode));
