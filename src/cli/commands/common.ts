// Options shared by several commands, so they are spelled and explained the same everywhere.

import { InvalidArgumentError, Option, type Command } from 'commander';

export const DEFAULT_NAMESPACE = 'default';

export const OUTPUT_FORMATS = ['table', 'wide', 'yaml', 'json'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function namespaceOption(cmd: Command): Command {
  return cmd.option('-n, --namespace <namespace>', `namespace of namespaced resources (default "${DEFAULT_NAMESPACE}")`);
}

export function outputOption(cmd: Command): Command {
  return cmd.addOption(
    new Option('-o, --output <format>', 'output format').choices(OUTPUT_FORMATS).default('table'),
  );
}

function collect(value: string, previous: string[] | undefined): string[] {
  if (value === '') throw new InvalidArgumentError('an empty file name');
  return [...(previous ?? []), value];
}

/** -f FILE|DIR|- (repeatable) and -R. */
export function fileOptions(cmd: Command, verb: string): Command {
  return cmd
    .option('-f, --filename <path>', `file, directory or - (stdin) with the resources to ${verb}; repeatable`, collect)
    .option('-R, --recursive', 'with -f DIR: also read its subdirectories');
}
