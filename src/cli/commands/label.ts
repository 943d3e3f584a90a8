// `twillctl label KIND NAME key=value... | key-... [-n NS] [--overwrite]`
//
// Changing the value of an existing label needs --overwrite (as with kubectl), so a typo cannot
// silently re-label an object. The write is a compare-and-swap on the revision just read.

import type { Command } from 'commander';
import { KINDS, resolveKind } from '../../api/kinds.js';
import { validateResource } from '../../api/validate.js';
import { formatKey, keyOf, type Resource } from '../../api/types.js';
import { ConflictError, NotFoundError } from '../../datastore/errors.js';
import type { CliContext } from '../context.js';
import { CliUserError } from '../exit.js';
import { InputProblemsError } from '../problems.js';
import { DEFAULT_NAMESPACE, namespaceOption } from './common.js';

type LabelChange = { op: 'set'; key: string; value: string; text: string } | { op: 'remove'; key: string; text: string };

const ATTEMPTS = 3;

export function parseLabelChange(text: string): LabelChange {
  const eq = text.indexOf('=');
  if (eq > 0) return { op: 'set', key: text.slice(0, eq), value: text.slice(eq + 1), text };
  if (eq < 0 && text.length > 1 && text.endsWith('-')) return { op: 'remove', key: text.slice(0, -1), text };
  throw new CliUserError('BadLabel', `"${text}" is neither key=value (set a label) nor key- (remove one)`, {
    hint: 'e.g. twillctl label ippool pool-a zone=dmz   or   twillctl label ippool pool-a zone-',
  });
}

export function register(program: Command, ctx: CliContext): void {
  const cmd = program
    .command('label')
    .description('add, change or remove labels of a resource')
    .argument('<kind>', 'resource kind')
    .argument('<name>', 'resource name')
    .argument('<changes...>', 'key=value to set a label, key- to remove one');
  namespaceOption(cmd);
  cmd
    .option('--overwrite', 'allow changing the value of a label that is already set')
    .action(async (kindText: string, name: string, changeTexts: string[], opts: { namespace?: string; overwrite?: boolean }) => {
      const kind = resolveKind(kindText);
      const changes = changeTexts.map(parseLabelChange);
      const seen = new Set<string>();
      for (const c of changes) {
        if (seen.has(c.key)) throw new CliUserError('BadLabel', `label ${c.key} is changed twice in one command`);
        seen.add(c.key);
      }
      const namespaced = KINDS[kind].namespaced;
      const key = keyOf({ kind, metadata: namespaced ? { name, namespace: opts.namespace ?? DEFAULT_NAMESPACE } : { name } });
      const what = formatKey(key);
      const ds = await ctx.openStore();

      for (let attempt = 1; ; attempt++) {
        const current = await ds.get(key);
        if (!current) throw new NotFoundError(key);
        const labels: Record<string, string> = { ...(current.metadata.labels ?? {}) };
        const messages: { text: string; done: boolean }[] = [];
        let changed = false;
        for (const c of changes) {
          const old = labels[c.key];
          if (c.op === 'remove') {
            if (old === undefined) throw new CliUserError('NoSuchLabel', `${what} has no label ${c.key}`);
            delete labels[c.key];
            changed = true;
            messages.push({ text: `removed label ${c.key} from ${what}`, done: true });
          } else if (old === c.value) {
            messages.push({ text: `${what} already has label ${c.key}=${c.value}`, done: false });
          } else if (old !== undefined && !opts.overwrite) {
            throw new CliUserError('LabelExists', `${what} already has label ${c.key}=${old}`, {
              hint: `add --overwrite to change it to ${c.key}=${c.value}`,
            });
          } else {
            labels[c.key] = c.value;
            changed = true;
            messages.push({ text: `set label ${c.key}=${c.value} on ${what}`, done: true });
          }
        }
        if (!changed) {
          for (const m of messages) ctx.io.stdout(`${m.text}\n`);
          return;
        }
        const { labels: _old, ...restMeta } = current.metadata;
        const next = { ...current, metadata: Object.keys(labels).length > 0 ? { ...restMeta, labels } : restMeta } as Resource;
        const checked = validateResource(next);
        if (!checked.ok) {
          const labelProblems = checked.problems.filter((p) => p.path.startsWith('metadata.labels'));
          throw new InputProblemsError(
            (labelProblems.length > 0 ? labelProblems : checked.problems).map((p) => ({ object: what, path: p.path, message: p.message })),
            'nothing was changed',
          );
        }
        try {
          await ds.update(next, current.metadata.resourceVersion !== undefined ? { revision: current.metadata.resourceVersion } : {});
        } catch (e) {
          if (e instanceof ConflictError && attempt < ATTEMPTS) continue; // someone else wrote it: read again
          throw e;
        }
        for (const m of messages) ctx.io.stdout(m.done ? `Successfully ${m.text}\n` : `${m.text}\n`);
        return;
      }
    });
}
