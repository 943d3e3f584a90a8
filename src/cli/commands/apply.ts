// apply / create / replace / delete. Every document is read and validated before anything is
// written; then everything is written in one datastore transaction (all or nothing).
//
//   apply   -f ...   create what is missing, update what changed (CAS on the stored revision)
//   create  -f ...   fails, writing nothing, if any object already exists
//   replace -f ...   fails, writing nothing, if any object is missing
//   delete  -f ... | delete KIND NAME... [-n NS]

import type { Command } from 'commander';
import { KINDS, resolveKind } from '../../api/kinds.js';
import { formatKey, keyOf } from '../../api/types.js';
import type { CliContext } from '../context.js';
import { CliUserError } from '../exit.js';
import { describeInput } from '../../api/validate.js';
import { resolvePods } from '../kube.js';
import { loadInput, loadKeys } from '../load.js';
import { InputProblemsError } from '../problems.js';
import { planAndWrite, type PlannedWrite, type WriteItem, type WriteMode } from '../plan.js';
import { DEFAULT_NAMESPACE, fileOptions, namespaceOption } from './common.js';

interface FileOpts {
  filename?: string[];
  recursive?: boolean;
  dryRun?: boolean;
}

const PAST: Record<WriteMode, string> = { apply: 'applied', create: 'created', replace: 'replaced', delete: 'deleted' };

function report(ctx: CliContext, mode: WriteMode, plan: readonly PlannedWrite[], dryRun: boolean): void {
  const tag = dryRun ? ' (dry run)' : '';
  for (const p of plan) ctx.io.stdout(`${formatKey(p.key)} ${p.outcome}${tag}\n`);
  const n = plan.filter((p) => p.outcome !== 'not found (skipped)').length;
  ctx.io.stdout(
    dryRun
      ? `Dry run: ${n} resource(s) would be ${PAST[mode]}; nothing was written\n`
      : `Successfully ${PAST[mode]} ${n} resource(s)\n`,
  );
}

function requireFiles(opts: FileOpts, verb: string): string[] {
  if (!opts.filename || opts.filename.length === 0) {
    throw new CliUserError('NoInput', `${verb} needs -f FILE, -f DIR or -f - (standard input)`, {
      hint: `e.g. twillctl ${verb} -f manifests/examples/`,
    });
  }
  return opts.filename;
}

function writeCommand(program: Command, ctx: CliContext, mode: Exclude<WriteMode, 'delete'>, description: string): void {
  const cmd = program.command(mode).description(description);
  fileOptions(cmd, mode);
  cmd.option('--dry-run', 'validate and show what would change, without writing');
  cmd.action(async (opts: FileOpts) => {
    const files = requireFiles(opts, mode);
    const hint = 'nothing was written; fix the input and run the command again';
    const input = await loadInput(ctx, files, opts.recursive === true, hint);
    if (mode === 'create' && input.pods.length > 0) {
      const problems = input.pods.map((p) => ({ source: p.source, object: describeInput(p.value), message: "updates the pod's existing WorkloadEndpoint: use apply or replace, not create" }));
      throw new InputProblemsError(problems, hint);
    }
    const ds = await ctx.openStore();
    // A Pod updates the endpoint(s) twill-cni wrote for it: read them now.
    const pods = await resolvePods(ds, input.pods);
    if (pods.problems.length > 0) throw new InputProblemsError(pods.problems, hint);
    const loaded = [...input.resources, ...pods.resources];
    const items: WriteItem[] = loaded.map((l) => ({ key: keyOf(l.resource), resource: l.resource, source: l.source }));
    const plan = await planAndWrite(ds, mode, items, { dryRun: opts.dryRun === true });
    report(ctx, mode, plan, opts.dryRun === true);
  });
}

export function register(program: Command, ctx: CliContext): void {
  writeCommand(program, ctx, 'apply', 'create resources, or update them when they exist (all or nothing)');
  writeCommand(program, ctx, 'create', 'create resources; fails, writing nothing, if any already exists');
  writeCommand(program, ctx, 'replace', 'replace existing resources; fails, writing nothing, if any is missing');

  const del = program
    .command('delete')
    .description('delete resources named in files (-f) or on the command line (KIND NAME...)')
    .argument('[kind]', 'resource kind, when deleting by name')
    .argument('[names...]', 'names of the resources to delete');
  fileOptions(del, 'delete');
  namespaceOption(del);
  del
    .option('--skip-not-exists', 'do not fail for resources that do not exist')
    .option('--dry-run', 'show what would be deleted, without deleting')
    .action(async (kindText: string | undefined, names: string[], opts: FileOpts & { namespace?: string; skipNotExists?: boolean }) => {
      let items: WriteItem[];
      if (opts.filename && opts.filename.length > 0) {
        if (kindText !== undefined) {
          throw new CliUserError('BadArgs', 'give either -f FILE or KIND NAME..., not both');
        }
        if (opts.namespace !== undefined) {
          throw new CliUserError('BadArgs', '-n/--namespace does not apply with -f: the namespace comes from each document');
        }
        items = (await loadKeys(ctx, opts.filename, opts.recursive === true)).map((l) => ({ key: l.key, source: l.source }));
      } else {
        if (kindText === undefined || names.length === 0) {
          throw new CliUserError('NoInput', 'delete needs -f FILE|DIR|- or KIND NAME...', {
            hint: 'e.g. twillctl delete networkpolicy dmz -n zones',
          });
        }
        const kind = resolveKind(kindText);
        const namespaced = KINDS[kind].namespaced;
        const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
        items = names.map((name) => ({ key: keyOf({ kind, metadata: namespaced ? { name, namespace } : { name } }) }));
      }
      const ds = await ctx.openStore();
      const plan = await planAndWrite(ds, 'delete', items, {
        dryRun: opts.dryRun === true,
        skipMissing: opts.skipNotExists === true,
      });
      report(ctx, 'delete', plan, opts.dryRun === true);
    });
}
