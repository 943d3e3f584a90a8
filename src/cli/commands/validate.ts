// `twillctl validate -f FILE|DIR|-`: parse and validate offline (no datastore), reporting every
// problem with its document, field path and reason. Exit 0 when all is valid, 1 otherwise.

import type { Command } from 'commander';
import { formatKey, keyOf } from '../../api/types.js';
import type { CliContext } from '../context.js';
import { CliUserError } from '../exit.js';
import { isPool, poolOverlapProblems } from '../checks.js';
import { loadResources } from '../load.js';
import { InputProblemsError } from '../problems.js';
import { fileOptions } from './common.js';

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('validate')
    .description('check resource files offline, without contacting the datastore');
  fileOptions(cmd, 'validate');
  cmd.option('-q, --quiet', 'print nothing when everything is valid');
  cmd.action(async (opts: { filename?: string[]; recursive?: boolean; quiet?: boolean }) => {
    if (!opts.filename || opts.filename.length === 0) {
      throw new CliUserError('NoInput', 'validate needs -f FILE, -f DIR or -f - (standard input)');
    }
    const hint = 'fix the problems and validate again';
    const loaded = await loadResources(ctx, opts.filename, opts.recursive === true, hint);
    // Pools in the input must not overlap each other (overlap with stored pools is checked by apply).
    const pools = loaded.flatMap((l) => (isPool(l.resource) ? [{ resource: l.resource, source: l.source }] : []));
    const overlaps = poolOverlapProblems([], pools);
    if (overlaps.length > 0) throw new InputProblemsError(overlaps, hint);
    if (opts.quiet) return;
    for (const l of loaded) ctx.io.stdout(`${l.source}: ${formatKey(keyOf(l.resource))} is valid\n`);
    ctx.io.stdout(`${loaded.length} resource(s) valid\n`);
  });
}
