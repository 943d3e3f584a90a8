// Reading `-f FILE|DIR|-` arguments: files as given, directories as their *.yaml / *.yml /
// *.json files in name order (subdirectories only with -R), "-" as standard input.

import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CliIo } from './context.js';
import { CliUserError } from './exit.js';

export interface InputSource {
  /** How messages name it: the path as given (joined for directory entries), or "stdin". */
  readonly source: string;
  readonly data: string | Buffer;
}

const MANIFEST_EXT = /\.(ya?ml|json)$/i;

function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

async function listDir(dir: string, recursive: boolean): Promise<{ files: string[]; subdirs: number }> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  let subdirs = 0;
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      subdirs++;
      if (recursive) files.push(...(await listDir(p, true)).files);
    } else if (MANIFEST_EXT.test(e.name) && (e.isFile() || e.isSymbolicLink())) {
      files.push(p);
    }
  }
  return { files, subdirs };
}

async function readOne(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (e) {
    const code = errnoCode(e);
    if (code === 'ENOENT') throw new CliUserError('FileNotFound', `file ${path} not found`);
    if (code === 'EACCES') throw new CliUserError('FileUnreadable', `file ${path} cannot be read: permission denied`);
    throw new CliUserError('FileUnreadable', `file ${path} cannot be read: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** Expands and reads every -f argument, in order. Throws CliUserError for missing paths. */
export async function readSources(
  args: readonly string[],
  opts: { recursive: boolean },
  io: CliIo,
): Promise<InputSource[]> {
  if (args.length === 0) {
    throw new CliUserError('NoInput', 'no input given', { hint: 'pass -f FILE, -f DIR or -f - (standard input)' });
  }
  const out: InputSource[] = [];
  let stdinRead = false;
  for (const arg of args) {
    if (arg === '-') {
      if (stdinRead) throw new CliUserError('NoInput', '"-f -" given twice: standard input can be read only once');
      stdinRead = true;
      out.push({ source: 'stdin', data: await io.readStdin() });
      continue;
    }
    let st;
    try {
      st = await stat(arg);
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') throw new CliUserError('FileNotFound', `file or directory ${arg} not found`);
      throw new CliUserError('FileUnreadable', `${arg} cannot be read: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (st.isDirectory()) {
      const { files, subdirs } = await listDir(arg, opts.recursive);
      if (files.length === 0) {
        throw new CliUserError('NoInput', `directory ${arg} has no .yaml, .yml or .json files`, {
          hint: subdirs > 0 && !opts.recursive ? 'it has subdirectories: add -R to read them too' : 'point -f at a file or a directory of manifests',
        });
      }
      for (const f of files) out.push({ source: f, data: await readOne(f) });
    } else {
      out.push({ source: arg, data: await readOne(arg) });
    }
  }
  return out;
}
