// twillctl loads only the command group a command line needs (src/cli/program.ts): each group
// declares the commands it registers, a command loads its own group alone, and help or a typo
// still sees every command.
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMAND_GROUPS, groupsFor, type CliContext } from '../../../src/cli/program.js';
import { addEtcdTlsOptions } from '../../../src/lib/etcd-flags.js';
import { makeCli } from './harness.js';

const cli = makeCli();
afterAll(() => cli.cleanup());

function root(): Command {
  return addEtcdTlsOptions(new Command('twillctl').option('--datastore <url>', 'datastore'));
}

describe('command groups', () => {
  it('each group declares exactly the top-level commands it registers, and no two share one', async () => {
    const all: string[] = [];
    for (const g of COMMAND_GROUPS) {
      const program = new Command('twillctl');
      (await g.load()).register(program, {} as CliContext);
      expect(program.commands.map((c) => c.name())).toEqual(g.commands);
      all.push(...g.commands);
    }
    expect(new Set(all).size).toBe(all.length);
  });

  it('a command line loads only the group of its command, past the global options and their values', () => {
    const policy = COMMAND_GROUPS.find((g) => g.commands.includes('policy'));
    const get = COMMAND_GROUPS.find((g) => g.commands.includes('get'));
    expect(groupsFor(['policy', 'explain', '--from', 'a/b', '--to', 'c/d', '--port', '80'], root())).toEqual([policy]);
    expect(groupsFor(['--datastore', 'file:/tmp/x.json', 'policy', 'explain'], root())).toEqual([policy]);
    expect(groupsFor(['--etcd-ca', 'policy', 'get', 'ippools'], root())).toEqual([get]);
    expect(groupsFor(['--datastore=file:/tmp/x.json', 'get', 'policy'], root())).toEqual([get]);
    for (const argv of [[], ['--help'], ['help', 'get'], ['polcy', 'explain'], ['--', 'get']]) expect(groupsFor(argv, root())).toBe(COMMAND_GROUPS);
  });

  it('help lists every command; a misspelt command is still told the right one', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const name of COMMAND_GROUPS.flatMap((g) => g.commands)) expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    const typo = await cli(['polcy', 'explain']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/did you mean policy/i);
    const sub = await cli(['--datastore', cli.datastore, 'policy', 'explain', '--help']);
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--from <src>');
  });
});
