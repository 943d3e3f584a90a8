#!/usr/bin/env node
// twill-ipam: the CNI IPAM plugin program. A container runtime (or a CNI plugin delegating IPAM)
// runs it with CNI_COMMAND=ADD|DEL|CHECK|VERSION and the network configuration on stdin.
// Startup is kept light: only the datastore backend the configuration names is loaded.

import { runIpamPlugin } from '../../cni/ipam-plugin.js';
import { openStore } from '../../cni/program-io.js';
import { readStdin } from './thin.cjs';

const out = await runIpamPlugin({ env: process.env, stdin: await readStdin(), openStore });
process.stdout.write(out.stdout, () => process.exit(out.exitCode));
