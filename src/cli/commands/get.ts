// `twillctl get KIND [NAME...] [-n NS | -A] [-l SELECTOR] [-o table|wide|yaml|json]`

import type { Command } from 'commander';
import { toJson, toYaml } from '../../api/documents.js';
import { KINDS, resolveKind } from '../../api/kinds.js';
import { parseSelector } from '../../api/selector/index.js';
import { redactSecrets } from '../../api/secrets.js';
import { formatKey, keyOf, type PublicKind, type Resource, type ResourceKey } from '../../api/types.js';
import { NotFoundError } from '../../datastore/errors.js';
import { errorMessage } from '../../errors.js';
import type { CliContext } from '../context.js';
import { CliExit, CliUserError, EXIT_FAILED } from '../exit.js';
import { columnsFor } from '../output/columns.js';
import { renderTable } from '../../lib/table.js';
import { DEFAULT_NAMESPACE, namespaceOption, outputOption, type OutputFormat } from './common.js';

interface GetOptions {
  namespace?: string;
  allNamespaces?: boolean;
  output: OutputFormat;
  selector?: string;
  showSecrets?: boolean;
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('get')
    .description('show resources: all of a kind, or the ones named')
    .argument('<kind>', 'resource kind, e.g. ippool, networkpolicy (np), bgppeer, workloadendpoint (wep)')
    .argument('[names...]', 'names of the resources; all of the kind when absent')
    .option('-A, --all-namespaces', 'list namespaced resources in every namespace (adds a NAMESPACE column)')
    .option('-l, --selector <selector>', 'only resources whose labels match this selector, e.g. \'zone == "dmz"\'')
    .option('--show-secrets', 'print secrets (BGP passwords) as stored instead of <redacted>');
  namespaceOption(cmd);
  outputOption(cmd);
  cmd.action(async (kindText: string, names: string[], opts: GetOptions) => {
    const kind = resolveKind(kindText);
    const namespaced = KINDS[kind].namespaced;
    if (opts.allNamespaces && opts.namespace !== undefined) {
      throw new CliUserError('BadFlags', '-n/--namespace and -A/--all-namespaces cannot be used together');
    }
    if (opts.allNamespaces && names.length > 0) {
      throw new CliUserError('BadFlags', 'a resource cannot be fetched by name across all namespaces', {
        hint: 'drop -A and give the namespace with -n NAMESPACE',
      });
    }
    const selector = opts.selector !== undefined ? parseSelector(opts.selector) : undefined;
    const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
    const allNs = namespaced && opts.allNamespaces === true;
    const ds = await ctx.openStore();

    let items: Resource[];
    let missing: ResourceKey[] = [];
    if (names.length > 0) {
      const keys = names.map((name) => keyOf({ kind, metadata: namespaced ? { name, namespace } : { name } }));
      const got = await Promise.all(keys.map((k) => ds.get(k)));
      items = got.filter((r): r is Resource => r !== undefined);
      missing = keys.filter((_, i) => got[i] === undefined);
      if (missing.length === 1 && names.length === 1) throw new NotFoundError(missing[0]!);
    } else {
      const listed = await ds.list({ kind, ...(namespaced && !allNs ? { namespace } : {}) });
      items = listed.items;
      for (const c of listed.corrupt ?? []) {
        ctx.io.stderr(`warning: ${formatKey(c.key)} skipped: ${c.message} (delete or repair ${c.path})\n`);
      }
    }
    if (opts.showSecrets !== true) items = items.map(redactSecrets);
    if (selector) items = items.filter((r) => selector.evaluate(r.metadata.labels ?? {}, { global: !namespaced }));

    print(ctx, kind, items, opts.output, { namespaced, allNs, namespace, byName: names.length > 0, names: names.length });
    for (const k of missing) ctx.io.stderr(`error: ${errorMessage(new NotFoundError(k))}\n`);
    if (missing.length > 0) throw new CliExit(EXIT_FAILED);
  });
}

function print(
  ctx: CliContext,
  kind: PublicKind,
  items: Resource[],
  format: OutputFormat,
  o: { namespaced: boolean; allNs: boolean; namespace: string; byName: boolean; names: number },
): void {
  switch (format) {
    case 'yaml':
      if (items.length > 0) ctx.io.stdout(toYaml(items));
      return;
    case 'json':
      // One object when exactly one was asked for by name; otherwise a List (even of 0 or 1).
      ctx.io.stdout(toJson(items, { asList: !(o.byName && o.names === 1) }));
      return;
    case 'table':
    case 'wide': {
      if (items.length === 0) {
        if (!o.byName) {
          const where = o.namespaced ? (o.allNs ? ' in any namespace' : ` in namespace ${o.namespace}`) : '';
          ctx.io.stderr(`No ${kind} resources found${where}.\n`);
        }
        return;
      }
      const cols = columnsFor(kind, { wide: format === 'wide', allNamespaces: o.allNs, namespaced: o.namespaced });
      ctx.io.stdout(renderTable(cols.map((c) => c.header), items.map((r) => cols.map((c) => c.value(r)))));
      return;
    }
  }
}
