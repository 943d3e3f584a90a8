#!/usr/bin/env node
// twill-cni: the CNI plugin program. A container runtime runs it with CNI_COMMAND=ADD|DEL|CHECK|
// GC|STATUS|VERSION and the network configuration on stdin. Start-up is kept thin: the datastore
// backend, IPAM and netlink are loaded only by the commands that use them.
//
// `twill-cni install --bin-dir DIR --conf-dir DIR [--datastore URL] [--nodename NAME]` installs
// the plugin (a wrapper script running this file with this node) and the conflist.
import { hostname } from 'node:os';
import { runTwillCni } from './plugin.js';
import { openStore, readStdin } from './program-io.js';

if (process.argv[2] === 'install') {
  const { runInstall } = await import('./install.js');
  process.exit(await runInstall(process.argv.slice(3)));
}
const out = await runTwillCni({ env: process.env, stdin: await readStdin(), openStore, hostname });
process.stdout.write(out.stdout, () => process.exit(out.exitCode));
