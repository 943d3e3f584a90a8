// The real adapters: iptables-restore / iptables-save / ipset, one process per call (exec.ts).
import { restoreCommand, saveCommand } from './detect.js';
import { IptablesUsageError, NetfilterCommandError } from './errors.js';
import { checkTable } from './tables.js';
import { run } from './exec.js';
import { parseIpsetNames, parseIpsetSave } from './ipset-parser.js';
import { ipsetRestoreError, iptablesRestoreError } from './restore-error.js';
import { parseSaveTable } from './save-parser.js';
import type {
  Family,
  IpsetInfo,
  Ipset,
  IpsetRestoreOptions,
  Iptables,
  IptablesBackend,
  NetnsTarget,
  RestoreOptions,
  SavedTable,
} from './types.js';

function targetOf(o: NetnsTarget): NetnsTarget {
  return o.netns !== undefined && o.netns !== '' ? { netns: o.netns } : {};
}

class RealIptables implements Iptables {
  private readonly target: NetnsTarget;
  private readonly restoreArgv: string[];
  private readonly saveCmd: string;

  constructor(
    readonly family: Family,
    readonly backend: IptablesBackend,
    target: NetnsTarget,
  ) {
    this.target = target;
    this.restoreArgv = [restoreCommand(family, backend), '--wait'];
    this.saveCmd = saveCommand(family, backend);
  }

  async restore(text: string, opts?: RestoreOptions): Promise<void> {
    const argv = opts?.noflush === false ? this.restoreArgv : [...this.restoreArgv, '--noflush'];
    const input = text.endsWith('\n') ? text : `${text}\n`;
    const r = await run(this.target, argv, input);
    if (r.exitCode !== 0) {
      throw iptablesRestoreError(input, r.stderr, {
        family: this.family,
        backend: this.backend,
        exitCode: r.exitCode,
        ...(this.target.netns !== undefined ? { netns: this.target.netns } : {}),
      });
    }
  }

  async saveRaw(table: string): Promise<string> {
    checkTable(table);
    const r = await run(this.target, [this.saveCmd, '-t', table]);
    if (r.exitCode !== 0) {
      throw new NetfilterCommandError(`${this.saveCmd} -t ${table}`, r.stderr, r.exitCode, this.target.netns);
    }
    return r.stdout;
  }

  async save(table: string): Promise<SavedTable> {
    return parseSaveTable(await this.saveRaw(table), table);
  }
}

class RealIpset implements Ipset {
  constructor(private readonly target: NetnsTarget) {}

  async restore(text: string, opts?: IpsetRestoreOptions): Promise<void> {
    const argv = opts?.exist ? ['ipset', 'restore', '-exist'] : ['ipset', 'restore'];
    const input = text.endsWith('\n') ? text : `${text}\n`;
    const r = await run(this.target, argv, input);
    if (r.exitCode !== 0) {
      throw ipsetRestoreError(input, r.stderr, {
        exitCode: r.exitCode,
        ...(this.target.netns !== undefined ? { netns: this.target.netns } : {}),
      });
    }
  }

  async list(prefix?: string): Promise<Map<string, IpsetInfo>> {
    const r = await run(this.target, ['ipset', 'save']);
    if (r.exitCode !== 0) throw new NetfilterCommandError('ipset save', r.stderr, r.exitCode, this.target.netns);
    return parseIpsetSave(r.stdout, prefix);
  }

  async listNames(prefix?: string): Promise<string[]> {
    const r = await run(this.target, ['ipset', 'list', '-n']);
    if (r.exitCode !== 0) throw new NetfilterCommandError('ipset list -n', r.stderr, r.exitCode, this.target.netns);
    return parseIpsetNames(r.stdout, prefix);
  }
}

/** iptables (family 4) or ip6tables (family 6) on the given backend, in the given namespace. */
export function iptables(o: { family: Family; backend: IptablesBackend } & NetnsTarget): Iptables {
  if (o.family !== 4 && o.family !== 6) throw new IptablesUsageError(`IP family ${String(o.family)} is not 4 or 6`);
  if (o.backend !== 'nft' && o.backend !== 'legacy') {
    throw new IptablesUsageError(`iptables backend ${JSON.stringify(o.backend)} is not nft or legacy`, 'use detectBackend()');
  }
  return new RealIptables(o.family, o.backend, targetOf(o));
}

/** ipset in the given namespace. */
export function ipset(o: NetnsTarget = {}): Ipset {
  return new RealIpset(targetOf(o));
}
