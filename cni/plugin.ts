// twill-cni as a function of (environment, stdin) → (stdout, exit code), so tests can run it
// in-process; src/cni/main.ts is the program around it. Only what a command needs is loaded:
// VERSION touches neither the datastore nor netlink, DEL of an unknown container costs one
// netlink call and two datastore reads.
import { readTwillCniConfig } from './config.js';
import { CniContext, type CniIo } from './context.js';
import { toCniError } from './error-map.js';
import {
  CniCode,
  CniError,
  CNI_VERSION,
  compareVersions,
  formatError,
  formatResult,
  parseNetConf,
  readCniEnv,
  versionReply,
  type CniEnv,
} from './protocol.js';

export type { CniIo } from './context.js';

export interface CniOutput {
  stdout: string;
  exitCode: number;
}

function needIfname(env: CniEnv): void {
  if (env.ifname === '') throw new CniError(CniCode.InvalidEnvironment, `CNI_IFNAME is required for ${env.command}`);
}

export async function runTwillCni(io: CniIo): Promise<CniOutput> {
  let cniVersion = CNI_VERSION;
  let ctx: CniContext | undefined;
  try {
    const env = readCniEnv(io.env);
    if (env.command === 'VERSION') return { stdout: versionReply(io.stdin), exitCode: 0 };
    const conf = parseNetConf(io.stdin);
    cniVersion = conf.cniVersion;
    const cfg = readTwillCniConfig(conf, io.env, io.hostname);
    ctx = new CniContext(io, env, conf, cfg);
    switch (env.command) {
      case 'ADD': {
        needIfname(env);
        const { cniAdd } = await import('./add.js');
        return { stdout: formatResult(await cniAdd(ctx), cniVersion), exitCode: 0 };
      }
      case 'DEL': {
        needIfname(env);
        const { cniDel } = await import('./del.js');
        await cniDel(ctx);
        return { stdout: '', exitCode: 0 };
      }
      case 'CHECK': {
        needIfname(env);
        if (compareVersions(cniVersion, '0.4.0') < 0) {
          throw new CniError(CniCode.IncompatibleVersion, `CHECK needs CNI version 0.4.0 or later (configuration says ${cniVersion})`);
        }
        const { cniCheck } = await import('./check.js');
        await cniCheck(ctx);
        return { stdout: '', exitCode: 0 };
      }
      case 'GC': {
        const { cniGc } = await import('./gc.js');
        await cniGc(ctx);
        return { stdout: '', exitCode: 0 };
      }
      default: {
        const { cniStatus } = await import('./status.js');
        await cniStatus(ctx);
        return { stdout: '', exitCode: 0 };
      }
    }
  } catch (e) {
    const ce = toCniError(e);
    return { stdout: formatError(cniVersion, ce.cniCode, ce.message, ce.details), exitCode: 1 };
  } finally {
    await ctx?.close();
  }
}
