// twill-cni without a server: the call runs in this process, loading only what the command needs
// (the datastore backend the configuration names, netlink, IPAM).
import { hostname } from 'node:os';
import { runTwillCni, type CniOutput } from '../../cni/plugin.js';
import { openStore } from '../../cni/program-io.js';

export function runInProcess(stdin: string): Promise<CniOutput> {
  return runTwillCni({ env: process.env, stdin, openStore, hostname });
}
